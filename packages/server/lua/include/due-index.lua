-- The due index's first level follows its second: a namespace's score is the earliest due time of its
-- queues, and a namespace with no queue left leaves the first level.
local function resetNamespaceDue(namespacesKey, queuesKey, namespace)
  local first = redis.call('ZRANGE', queuesKey, 0, 0, 'WITHSCORES')
  if first[2] then
    redis.call('ZADD', namespacesKey, first[2], namespace)
  else
    redis.call('ZREM', namespacesKey, namespace)
  end
end
