// The Lua scripts that make each write one atomic step in Redis: the value, its
// set membership and the change notification together, or nothing. Redis runs
// a script without interleaving any other client's command.
#pragma once

namespace tokend::redis_store::scripts {

// KEYS: value key, set key. ARGV: value, channel, message.
inline constexpr const char* kPut = R"(
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], KEYS[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
)";

// KEYS: value key, set key. ARGV: channel, message. Returns how many were deleted.
inline constexpr const char* kDel = R"(
local deleted = redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], KEYS[1])
if deleted > 0 then redis.call('PUBLISH', ARGV[1], ARGV[2]) end
return deleted
)";

// KEYS: value key, set key. ARGV: channel, message. Returns the value, or nil.
inline constexpr const char* kTake = R"(
local value = redis.call('GET', KEYS[1])
if not value then return false end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return value
)";

// KEYS: lease key, fence counter, maintenance mark. ARGV: owner, ttl in ms, mark
// value ('' to leave the mark alone). Returns the fencing token, or nil when the
// lease is held. The counter never goes below Redis's clock in microseconds, so
// fences keep growing even after a Redis without persistence lost the counter.
inline constexpr const char* kLockAcquire = R"(
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local now = redis.call('TIME')
local floor = tonumber(now[1]) * 1000000 + tonumber(now[2])
local fence = redis.call('INCR', KEYS[2])
if fence < floor then
  fence = floor
  redis.call('SET', KEYS[2], string.format('%d', fence))
end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. string.format('%d', fence), 'PX', ARGV[2])
if ARGV[3] ~= '' then redis.call('SET', KEYS[3], ARGV[3]) end
return fence
)";

// KEYS: lease key. ARGV: "{owner} {fence}". Deletes the lease only if it is that holder's.
inline constexpr const char* kLockRelease = R"(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)";

// KEYS: lease key, value key, set key. ARGV: "{owner} {fence}", value, channel,
// message. Writes only while that holder's lease is live; nil otherwise.
inline constexpr const char* kPutFenced = R"(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], KEYS[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
)";

// KEYS: lease key, value key, set key. ARGV: "{owner} {fence}" ('' for no
// lease check), expected value, value, channel, message. Compare-and-put: nil
// when the lease is not that holder's, 0 when the key is absent, the stored
// value when it differs from the expected one (nothing written in those cases),
// 1 when written (with its membership and notification, as kPut).
inline constexpr const char* kPutIfEqual = R"(
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
local current = redis.call('GET', KEYS[2])
if not current then return 0 end
if current ~= ARGV[2] then return current end
redis.call('SET', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], KEYS[2])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
)";

}  // namespace tokend::redis_store::scripts
