-- A consistent snapshot of a queue's counts.
--!include queue-keys
--!include queue-lanes
-- Returns { ready, inflight, delayed, messages now held by the dead-letter queue, expired, discarded,
--   groups with messages, messages accepted and acks, running totals }
return {
  readyCount(),
  redis.call('ZCARD', inflightKey),
  redis.call('ZCARD', delayedKey),
  redis.call('HLEN', dlqMessagesKey),
  tonumber(redis.call('HGET', countersKey, 'expired') or '0'),
  tonumber(redis.call('HGET', countersKey, 'discarded') or '0'),
  lanes().groupCount(),
  tonumber(redis.call('HGET', countersKey, 'sent') or '0'),
  tonumber(redis.call('HGET', countersKey, 'acked') or '0')
}
