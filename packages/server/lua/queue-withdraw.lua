-- Withdraws a node's standing credit on a queue (its consumers with that visibility went away, or it
-- drains): later sends leave their messages ready instead of pushing them to the node.
--!include queue-keys
-- ARGV[2] the standing field ("<node id>/<visibility ms>")
-- Returns 1 when it stood, else 0.
return redis.call('HDEL', standingKey, ARGV[2])
