/**
 * The ranges and defaults of the queue commands (docs/protocol.md §3 and §5), as plain numbers. They live
 * apart from the schemas (queues.ts), which are built with TypeBox when loaded: the SDK checks its own
 * arguments against these numbers and ships to browsers without the schema library.
 */

export const QUEUE_LIMITS = {
  maxDelayMs: 604_800_000,
  minTtlMs: 1000,
  maxTtlMs: 1_209_600_000,
  minMaxAttempts: 1,
  maxMaxAttempts: 1000,
  minPrefetch: 1,
  maxPrefetch: 1000,
  minVisibilityMs: 1000,
  maxVisibilityMs: 43_200_000,
  maxBatch: 1000,
  maxHeaders: 64,
  maxHeaderBytes: 8192,
  maxReceiptChars: 512,
  minPriority: 0,
  maxPriority: 9,
} as const;

export const QUEUE_DEFAULTS = {
  prefetch: 10,
  visibilityMs: 30_000,
  maxAttempts: 5,
  dedupWindowMs: 300_000,
} as const;
