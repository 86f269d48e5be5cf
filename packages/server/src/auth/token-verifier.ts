/**
 * Checks JWTs with `jose` (PROTOCOL.md §7): HS256 with a shared secret, or RS256/ES256 with a public key
 * (its type picks the algorithm). A token must carry a valid signature and an `exp`. The same verifier
 * serves the Socket.IO handshake and HTTP.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { MailroomError } from "@mailroom/protocol";
import { jwtVerify } from "jose";
import { parseRightsClaim, type RightsClaim } from "./rights.js";

export interface Principal {
  /** The token's `sub`, shown as `meta.from` on broadcasts and as `user` in room members. */
  user: string | undefined;
  rights: RightsClaim;
  /** When the token expires, in ms since the epoch. */
  expiresAt: number;
}

export interface TokenVerifier {
  /** Resolves with who the token speaks for, or rejects with `UNAUTHORIZED`. */
  verify(token: unknown): Promise<Principal>;
}

export interface VerifierKeys {
  jwtSecret?: string | undefined;
  /** A PEM public key (RSA or EC). */
  jwtPublicKey?: string | undefined;
}

/** Returns undefined when no key is configured: auth is off. */
export function createTokenVerifier({ jwtSecret, jwtPublicKey }: VerifierKeys): TokenVerifier | undefined {
  if (jwtSecret === undefined && jwtPublicKey === undefined) return undefined;
  const [key, algorithms] = verificationKey(jwtSecret, jwtPublicKey);
  return {
    async verify(token) {
      if (typeof token !== "string" || token.length === 0) {
        throw new MailroomError("UNAUTHORIZED", "a token is required");
      }
      try {
        const { payload } = await jwtVerify(token, key, { algorithms, requiredClaims: ["exp"] });
        return {
          user: typeof payload.sub === "string" ? payload.sub : undefined,
          rights: parseRightsClaim(payload.mailroom),
          expiresAt: (payload.exp as number) * 1000,
        };
      } catch (error) {
        throw new MailroomError("UNAUTHORIZED", "the token is invalid or expired", { cause: error });
      }
    },
  };
}

function verificationKey(
  secret: string | undefined,
  publicKey: string | undefined,
): [Uint8Array | KeyObject, string[]] {
  if (publicKey !== undefined) {
    const key = createPublicKey(publicKey);
    if (key.asymmetricKeyType === "rsa") return [key, ["RS256"]];
    if (key.asymmetricKeyType === "ec") return [key, ["ES256"]];
    throw new Error(`the JWT public key must be RSA or EC, not ${key.asymmetricKeyType}`);
  }
  return [new TextEncoder().encode(secret), ["HS256"]];
}
