/**
 * The direction of the server's layers (README, "Architecture"), checked by `npm run lint`:
 * transports → operations → delivery → engines, with auth, metrics and structures beside them.
 * A file may import its own layer and the layers below it, never one above; the memory and Redis
 * engines never import each other; node.ts (the wiring) is imported by index.ts only.
 */
const SERVER = "^packages/server/src/";

/** A rule that files under `from` never import files under any of `above`. */
function never(name, comment, from, above) {
  return {
    name,
    comment,
    severity: "error",
    from: { path: `${SERVER}(${from})/` },
    to: { path: `${SERVER}(${above.join("|")})(/|\\.ts$)` },
  };
}

module.exports = {
  forbidden: [
    never("engines-below-everything", "an engine knows no transport, operation, delivery, metrics or auth", "engines", [
      "transports",
      "operations",
      "delivery",
      "metrics",
      "auth",
      "node",
      "draining",
    ]),
    never(
      "delivery-below-operations",
      "delivery knows engines, not the operations or transports above it",
      "delivery",
      ["transports", "operations", "node", "draining"],
    ),
    never("operations-below-transports", "operations are shared by both transports and know neither", "operations", [
      "transports",
      "node",
      "draining",
    ]),
    never("metrics-below-transports", "metrics observe engines; transports report to them", "metrics", [
      "transports",
      "operations",
      "delivery",
      "node",
      "draining",
    ]),
    never("auth-below-transports", "tokens and rights know no transport", "auth", [
      "transports",
      "operations",
      "delivery",
      "engines",
      "metrics",
      "node",
      "draining",
    ]),
    never("structures-are-leaves", "small data structures import nothing of the server", "structures", [
      "transports",
      "operations",
      "delivery",
      "engines",
      "metrics",
      "auth",
      "node",
      "draining",
      "config",
    ]),
    never("http-not-socketio", "the two transports are siblings", "transports/http", ["transports/socketio"]),
    never("socketio-not-http", "the two transports are siblings", "transports/socketio", ["transports/http"]),
    never("memory-engine-not-redis", "the memory engine runs with no Redis code", "engines/memory", ["engines/redis"]),
    never("redis-engine-not-memory", "the Redis engine does not lean on the memory one", "engines/redis", [
      "engines/memory",
    ]),
    {
      name: "only-index-imports-node",
      comment: "node.ts wires the parts; nothing but the package's entry imports it",
      severity: "error",
      from: { path: SERVER, pathNot: `${SERVER}index\\.ts$` },
      to: { path: `${SERVER}node\\.ts$` },
    },
    {
      name: "no-circular",
      comment: "modules of the server do not import each other in a circle",
      severity: "error",
      from: { path: SERVER },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    // Sources import each other as ".js" (NodeNext): TypeScript's resolution finds the ".ts" files.
    tsConfig: { fileName: "tsconfig.base.json" },
  },
};
