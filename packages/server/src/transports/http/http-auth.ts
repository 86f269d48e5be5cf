/**
 * Auth for HTTP: a preParsing hook that reads the right a route declares in `config.right` (routes that
 * declare none, such as /healthz, /readyz, /metrics and the docs, are open), checks the
 * `Authorization: Bearer` token and the right in the route's namespace (`{ns}`, `_` for `/`).
 * No or a bad token is 401 `UNAUTHORIZED`; a missing right 403 `FORBIDDEN`. It runs before the body is
 * read, so a request without the right learns nothing about its body and costs no parsing; the
 * refusal is thrown, so the API's error handler answers it and nothing after the hook runs.
 * An accepted request carries its token's principal as `request.principal` (who, and until when: a
 * long-poll checks the expiry again as it waits).
 */
import { MailroomError } from "@mailroom/protocol";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { describeRequirement, type Requirement, satisfies } from "../../auth/rights.js";
import type { Principal, TokenVerifier } from "../../auth/token-verifier.js";
import { namespaceInPath } from "./route-params.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The right this route needs once auth is on; absent: the route is open. */
    right?: Requirement;
    /** The namespace whose rights count, for a route that names none (`*`: the whole cluster). @default "/" */
    rightsNamespace?: string;
  }
  interface FastifyRequest {
    /** Who the request's token speaks for; absent with auth off and on open routes. */
    principal?: Principal | undefined;
  }
}

/** `Bearer`, in any case, then the token. */
const BEARER = /^bearer +(.*)$/is;

export function installHttpAuth(app: FastifyInstance, verifier: TokenVerifier): void {
  app.decorateRequest("principal", undefined);
  app.addHook("preParsing", async (request) => {
    const requirement = request.routeOptions.config?.right;
    if (requirement === undefined) return;
    const token = bearerToken(request.headers.authorization);
    let principal: Principal;
    try {
      principal = await verifier.verify(token);
    } catch (error) {
      throw new MailroomError("UNAUTHORIZED", error instanceof MailroomError ? error.message : "unauthorized");
    }
    const namespace = namespaceOfRequest(request);
    if (!satisfies(principal.rights, namespace, requirement)) {
      const needed = describeRequirement(requirement);
      throw new MailroomError("FORBIDDEN", `this token lacks the ${needed} right in ${namespace}`);
    }
    request.principal = principal;
  });
}

/** The namespace the route's path names (its `rightsNamespace`, else `/`, for routes with none). */
function namespaceOfRequest(request: FastifyRequest): string {
  const ns = (request.params as { ns?: string } | undefined)?.ns;
  if (ns !== undefined) return namespaceInPath(ns);
  return request.routeOptions.config?.rightsNamespace ?? "/";
}

/** The token of an `Authorization: Bearer <token>` header; the scheme's name in any case (RFC 9110 §11.1). */
function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : BEARER.exec(header);
  return match ? match[1]?.trim() : undefined;
}
