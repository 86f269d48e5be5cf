/**
 * Checks JWTs with `jose` (docs/protocol.md §7): HS256 with a shared secret, or RS256/ES256 with a public key
 * (its type picks the algorithm). A token must carry a valid signature and an `exp`. The same verifier
 * serves the Socket.IO handshake and HTTP.
 *
 * A public key the node cannot verify with is refused when the verifier is made, as a `ConfigError` for
 * `jwtPublicKey` (docs/protocol.md §15), rather than leaving a node that refuses every token: text that is not
 * a PEM key, a key of another type (Ed25519, DSA, RSA-PSS), an RSA key under 2048 bits or an EC key off
 * P-256 (jose refuses both for RS256 and ES256). A private key or a certificate is accepted: its public
 * half is what verifies.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { MailroomError } from "@mailroom/protocol";
import { jwtVerify } from "jose";
import { ConfigError } from "../config.js";
import { parseRightsClaim, type RightsClaim } from "./rights.js";

/** The smallest RSA key RS256 takes (RFC 7518 §3.3; jose refuses smaller ones). */
const MIN_RSA_MODULUS_BITS = 2048;
/** The only curve of ES256 (RFC 7518 §3.4), as Node names it. */
const ES256_CURVE = "prime256v1";

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
    const key = parsePublicKey(publicKey);
    return [key, [algorithmOf(key)]];
  }
  return [new TextEncoder().encode(secret), ["HS256"]];
}

function parsePublicKey(pem: string): KeyObject {
  try {
    return createPublicKey(pem);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError("jwtPublicKey", `must be a PEM public key (RSA or EC P-256), could not read it (${reason})`);
  }
}

function algorithmOf(key: KeyObject): "RS256" | "ES256" {
  const { asymmetricKeyType: type, asymmetricKeyDetails: details } = key;
  if (type === "rsa") {
    const bits = details?.modulusLength ?? 0;
    if (bits >= MIN_RSA_MODULUS_BITS) return "RS256";
    throw new ConfigError("jwtPublicKey", `must be an RSA key of at least ${MIN_RSA_MODULUS_BITS} bits, got ${bits}`);
  }
  if (type === "ec") {
    if (details?.namedCurve === ES256_CURVE) return "ES256";
    throw new ConfigError("jwtPublicKey", `must be an EC key on P-256 for ES256, got one on ${details?.namedCurve}`);
  }
  throw new ConfigError("jwtPublicKey", `must be an RSA (RS256) or EC P-256 (ES256) public key, got a ${type} key`);
}
