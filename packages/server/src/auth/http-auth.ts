/**
 * Auth for HTTP: a preParsing hook that reads the right a route declares in `config.right` (routes that
 * declare none, such as /healthz, /readyz, /metrics and the docs, are open), checks the
 * `Authorization: Bearer` token and the right in the route's namespace (`{ns}`, `_` for `/`).
 * No or a bad token is 401 `UNAUTHORIZED`; a missing right 403 `FORBIDDEN`. It runs before the body is
 * read, so a request without the right learns nothing about its body and costs no parsing; the
 * refusal is thrown, so the API's error handler answers it and nothing after the hook runs.
 */
import { MailroomError } from "@mailroom/protocol";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { type Requirement, satisfies } from "./rights.js";
import type { TokenVerifier } from "./token-verifier.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The right this route needs once auth is on; absent: the route is open. */
    right?: Requirement;
  }
}

export function installHttpAuth(app: FastifyInstance, verifier: TokenVerifier): void {
  app.addHook("preParsing", async (request) => {
    const requirement = request.routeOptions.config?.right;
    if (requirement === undefined) return;
    const header = request.headers.authorization;
    const token = header?.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : undefined;
    let rights: Awaited<ReturnType<TokenVerifier["verify"]>>["rights"];
    try {
      rights = (await verifier.verify(token)).rights;
    } catch (error) {
      throw new MailroomError("UNAUTHORIZED", error instanceof MailroomError ? error.message : "unauthorized");
    }
    const namespace = namespaceOf(request);
    if (!satisfies(rights, namespace, requirement)) {
      throw new MailroomError("FORBIDDEN", `this token lacks the ${requirement} right in ${namespace}`);
    }
  });
}

function namespaceOf(request: FastifyRequest): string {
  const ns = (request.params as { ns?: string } | undefined)?.ns;
  return ns === undefined || ns === "_" ? "/" : `/${ns}`;
}
