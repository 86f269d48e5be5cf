/**
 * Unguessable hex tokens (receipts, consumer ids) from a pool of random bytes filled a few kilobytes at a
 * time: `randomBytes` per token is a system call each, and showed in the steady-rate profile (2.5% of
 * the consumer's node). The bytes are the same CSPRNG's; each is handed out once.
 */
import { randomFillSync } from "node:crypto";

const POOL_BYTES = 4096;

const pool = Buffer.alloc(POOL_BYTES);
let used = POOL_BYTES;

/** `bytes` random bytes (at most POOL_BYTES), as 2 × bytes hex digits. */
export function randomHex(bytes: number): string {
  if (used + bytes > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const hex = pool.toString("hex", used, used + bytes);
  used += bytes;
  return hex;
}
