# The Mailroom node image: `mailroom serve`, listening on 0.0.0.0:3000 as an unprivileged user.
# Stage 1 builds the TypeScript with the dev dependencies; stage 2 holds only the production
# dependencies, the compiled dist/ folders, the Lua scripts and the SDK's browser build.
# docker-compose.yml builds it as `node`.
# Settings are the environment twins of `mailroom serve`'s flags (docs/deployment.md).

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first, so the dependency layer is rebuilt only when they change.
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/server/package.json packages/server/
COPY packages/client/package.json packages/client/
COPY packages/cli/package.json packages/cli/
# --ignore-scripts: the root `prepare` would build before the sources are here; the build runs below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY packages packages
# The node's packages only: the bench (packages/bench) is left out of the context and the image.
RUN npm run build:node

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/server/package.json packages/server/
COPY packages/client/package.json packages/client/
COPY packages/cli/package.json packages/cli/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/packages/protocol/dist packages/protocol/dist
COPY --from=build /app/packages/server/dist packages/server/dist
COPY --from=build /app/packages/server/lua packages/server/lua
COPY --from=build /app/packages/client/dist packages/client/dist
# The SDK's browser build, which the node serves at /mailroom-client.js.
COPY --from=build /app/packages/client/browser packages/client/browser
COPY --from=build /app/packages/cli/dist packages/cli/dist
COPY packages/cli/bin packages/cli/bin
COPY scripts/mint-token.mjs scripts/

# The files stay root's and read-only to the process; `node` (uid 1000) comes with the base image.
USER node
ENV HOST=0.0.0.0 \
    PORT=3000
EXPOSE 3000
# Ready means Redis answers and this node's heartbeat and subscription work (PROTOCOL.md §9); no curl
# in the image, so Node's own fetch asks.
HEALTHCHECK --interval=5s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains the node (stops taking connections, returns unacked messages) and exits within 10 s.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "packages/cli/bin/mailroom.js"]
CMD ["serve"]
