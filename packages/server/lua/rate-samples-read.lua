-- Reads the dashboard's rate samples and the newest sample's totals at once (engines/rate-samples.ts).
-- KEYS[1] samples, KEYS[2] totals: as in rate-sample-append.lua
-- Returns { the samples, oldest first (strings, as rate-sample-append.lua writes them), then the totals
--   as a flat list of '<namespace> <queue>', '<sent> <acked>' }
return { redis.call('LRANGE', KEYS[1], 0, -1), redis.call('HGETALL', KEYS[2]) }
