/**
 * The Lua scripts of `executor-circuit-breaker/redis`. Each runs atomically in Redis and
 * reads Redis's own clock (TIME, or PX expiries), never a process's. Internal.
 */
import { createHash } from 'node:crypto';

/** A script and its SHA1, for EVALSHA (with EVAL when Redis does not know it yet). */
export interface Script {
  readonly lua: string;
  readonly sha: string;
}

function script(lua: string): Script {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/**
 * Records a state change and tells the fleet.
 *
 * KEYS: state key, sequence counter, failure set, probe lease.
 * ARGV: channel, executor name, 'OPEN' | 'CLOSED', until (ms since the epoch, '' when held
 * open by hand or closed), origin, expiry of the state key in ms (0: none).
 *
 * A new period starts: the fleet's failure count and the probe lease of the last half-open
 * period are dropped. Returns the record's sequence number.
 */
export const PUBLISH_STATE = script(`
local seq = redis.call('INCR', KEYS[2])
local untilMs = cjson.null
if ARGV[4] ~= '' then untilMs = tonumber(ARGV[4]) end
local record = cjson.encode({ name = ARGV[2], state = ARGV[3], ['until'] = untilMs, origin = ARGV[5], seq = seq })
if tonumber(ARGV[6]) > 0 then
  redis.call('SET', KEYS[1], record, 'PX', ARGV[6])
else
  redis.call('SET', KEYS[1], record)
end
redis.call('DEL', KEYS[3], KEYS[4])
redis.call('PUBLISH', ARGV[1], record)
return seq
`);

/**
 * Counts one failure fleet-wide.
 *
 * KEYS: failure set. ARGV: failureWindow ms, failureThreshold, a unique member.
 *
 * A failure at Redis time f counts while now - f < failureWindow. Returns 1 when the count
 * reaches the threshold (the set is then emptied, so one caller trips the circuit), else 0.
 */
export const COUNT_FAILURE = script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('PEXPIRE', KEYS[1], math.ceil(window))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`);

/**
 * Takes (or renews) the probe lease of a half-open circuit: one process at a time may probe.
 *
 * KEYS: probe lease, state key. ARGV: owner, lease ttl in ms.
 *
 * Returns { 1 } when the caller holds the lease (for ttl ms from now, Redis time),
 * { 0 } when another process holds it, { -1, record } when the fleet's last word on the
 * circuit is CLOSED (nothing to probe).
 */
export const ACQUIRE_PROBE = script(`
local state = redis.call('GET', KEYS[2])
if state then
  local ok, record = pcall(cjson.decode, state)
  if ok and type(record) == 'table' and record.state == 'CLOSED' then return { -1, state } end
end
local owner = redis.call('GET', KEYS[1])
if (not owner) or owner == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return { 1 }
end
return { 0 }
`);

/** Gives the probe lease back if the caller holds it. KEYS: probe lease. ARGV: owner. */
export const RELEASE_PROBE = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);
