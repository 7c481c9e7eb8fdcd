package group

import "github.com/redis/go-redis/v9"

// Outcomes of one delivery, as commitScript records them.
const (
	outcomeOK   = "ok"   // the handler succeeded
	outcomeFail = "fail" // the handler returned an error
	outcomeSkip = "skip" // the camera was already done in this cycle
)

// commitScript records the outcome of one delivered job and acknowledges
// it, atomically: the camera's done mark, the cycle's counters and the XACK
// happen together or not at all, so a job is either pending (and will be
// delivered again) or done and counted once.
//
// KEYS[1] stream, KEYS[2] done set of the cycle, KEYS[3] cycle hash,
// KEYS[4] completion signal list of the cycle.
// ARGV[1] group, ARGV[2] entry ID, ARGV[3] camera, ARGV[4] consumer,
// ARGV[5] outcome, ARGV[6] "1" when the job was reclaimed, ARGV[7]
// retention in ms, ARGV[8] error text, ARGV[9] MaxErrors.
//
// It returns {first, acked}: first is 1 when this delivery is the
// camera's first successful processing in the cycle; acked is 1 when this
// delivery's XACK removed the job from the pending list (0 when another
// delivery of the same entry was acknowledged before).
var commitScript = redis.NewScript(`
local first = 0
local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if ARGV[5] == 'ok' then
	first = redis.call('SADD', KEYS[2], ARGV[3])
	redis.call('PEXPIRE', KEYS[2], ARGV[7])
	if first == 1 then
		redis.call('HINCRBY', KEYS[3], 'processed:' .. ARGV[4], 1)
	else
		redis.call('HINCRBY', KEYS[3], 'duplicates', 1)
	end
elseif ARGV[5] == 'skip' then
	redis.call('HINCRBY', KEYS[3], 'duplicates', 1)
elseif acked == 1 then
	local failed = redis.call('HINCRBY', KEYS[3], 'failed', 1)
	if failed <= tonumber(ARGV[9]) then
		redis.call('HSET', KEYS[3], 'error:' .. ARGV[3], ARGV[8])
	end
end
if acked == 1 then
	if ARGV[6] == '1' then
		redis.call('HINCRBY', KEYS[3], 'reclaimed', 1)
	end
	local n = redis.call('HINCRBY', KEYS[3], 'acked', 1)
	local jobs = tonumber(redis.call('HGET', KEYS[3], 'jobs') or '-1')
	if jobs ~= nil and n >= jobs and jobs >= 0 then
		redis.call('RPUSH', KEYS[4], '1')
		redis.call('PEXPIRE', KEYS[4], ARGV[7])
	end
end
redis.call('PEXPIRE', KEYS[3], ARGV[7])
return {first, acked}`)

// forgetScript removes this replica's consumer from the group when it
// holds no pending job (removing one that does would drop its jobs).
// KEYS[1] stream; ARGV[1] group, ARGV[2] consumer.
var forgetScript = redis.NewScript(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #p == 0 then
	return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
end
return -1`)
