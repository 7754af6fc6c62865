/**
 * The Lua scripts of `executor-circuit-breaker/redis`. Each runs atomically in Redis, reads
 * Redis's own clock (TIME, or PX expiries), never a process's, and touches only the keys of
 * one executor (one hash slot on a Redis Cluster). Processes hand the scripts durations and
 * get durations back. Internal.
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

/** How long a state key outlives the opening it records, in ms. */
export const STATE_MARGIN = 5_000;

// Shared by the scripts: Redis's time in ms; the record in a state key (nil when absent or
// unreadable) and its version; the ms left until its `until` (nil when it has none); and the
// writing of a new record, which starts a new period (no fleet failures, no lease) and
// tells the fleet.
const COMMON = `
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function current(key)
  local text = redis.call('GET', key)
  if not text then return nil, 0, nil end
  local ok, record = pcall(cjson.decode, text)
  if not ok or type(record) ~= 'table' then return nil, 0, text end
  return record, tonumber(record.version) or 0, text
end
local function left(record, at)
  if record == nil or type(record['until']) ~= 'number' then return false end
  return record['until'] - at
end
local function held(record)
  return record ~= nil and record.state == 'OPEN' and type(record['until']) ~= 'number'
end
local function put(stateKey, otherKeys, channel, record, openFor, at)
  local text = cjson.encode(record)
  if record.state == 'OPEN' and openFor ~= nil then
    redis.call('SET', stateKey, text, 'PX', math.max(1, math.ceil(openFor + ${STATE_MARGIN})))
  else
    redis.call('SET', stateKey, text)
  end
  redis.call('DEL', unpack(otherKeys))
  local message = cjson.decode(text)
  message.remaining = openFor or cjson.null
  redis.call('PUBLISH', channel, cjson.encode(message))
  return text
end
`;

/**
 * Records a state change and tells the fleet, unless a newer record stands in its way.
 *
 * KEYS: state key, failure set, probe lease.
 * ARGV: channel, executor name, 'OPEN' | 'CLOSED', open for (ms from now, Redis time; ''
 * when held open by hand or closed), origin, the version the writer last saw, '1' for a
 * change made by hand, '1' to write only where no record stands (restoring a lost one).
 *
 * A change made automatically is refused when the record in Redis is newer than the version
 * its writer saw (it was made without knowing of that record), or when the circuit is held
 * open by hand (only a change by hand releases a hold). A change made by hand always wins.
 * The new record's version is one above both the stored one and the writer's.
 *
 * Returns { 1, version } when written; { 0, record, ms left or false } when refused.
 */
export const WRITE_STATE = script(`${COMMON}
local record, version, text = current(KEYS[1])
local at = now()
local base = tonumber(ARGV[6])
if text and (ARGV[8] == '1' or (ARGV[7] ~= '1' and (version > base or held(record)))) then
  return { 0, text, left(record, at) }
end
local openFor = nil
local untilMs = cjson.null
if ARGV[4] ~= '' then
  openFor = tonumber(ARGV[4])
  untilMs = at + openFor
end
local next = math.max(version, base) + 1
put(KEYS[1], { KEYS[2], KEYS[3] }, ARGV[1], {
  name = ARGV[2], state = ARGV[3], ['until'] = untilMs, origin = ARGV[5], version = next, manual = ARGV[7] == '1'
}, openFor, at)
return { 1, next }
`);

/**
 * Counts one failure fleet-wide, and opens the fleet's circuit when the count reaches the
 * threshold (in the same script, so the opening goes out without another round trip).
 *
 * KEYS: failure set, state key, probe lease.
 * ARGV: failureWindow ms, failureThreshold, a unique member, resetTimeout ms, channel,
 * executor name, origin.
 *
 * A failure at Redis time f counts while now - f < failureWindow. Not counted while the
 * fleet's record is OPEN (a late result of a call made before the opening).
 * Returns { 0 } when counted below the threshold; { 1, record, ms left } when this failure
 * opened the fleet; { 2, record, ms left or false } when the fleet is OPEN already.
 */
export const COUNT_FAILURE = script(`${COMMON}
local record, version, text = current(KEYS[2])
local at = now()
if record ~= nil and record.state == 'OPEN' then
  local ms = left(record, at)
  if ms == false or ms > 0 then return { 2, text, ms } end
end
local window = tonumber(ARGV[1])
redis.call('ZADD', KEYS[1], at, ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', at - window)
redis.call('PEXPIRE', KEYS[1], math.ceil(window))
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then return { 0 } end
local openFor = tonumber(ARGV[4])
local written = put(KEYS[2], { KEYS[1], KEYS[3] }, ARGV[5], {
  name = ARGV[6], state = 'OPEN', ['until'] = at + openFor, origin = ARGV[7], version = version + 1, manual = false
}, openFor, at)
return { 1, written, openFor }
`);

/**
 * Takes (or renews) the probe lease of a half-open circuit: one process at a time may probe.
 *
 * KEYS: probe lease, state key. ARGV: owner, lease ttl in ms.
 *
 * Returns { 1 } when the caller holds the lease (for ttl ms from now, Redis time);
 * { 0, ms } when another process holds it for ms more (the earliest it can change, short of
 * being given back, which is announced); { -1, record } when the fleet's last word on the
 * circuit is CLOSED (nothing to probe).
 */
export const ACQUIRE_PROBE = script(`${COMMON}
local record, version, text = current(KEYS[2])
if record ~= nil and record.state == 'CLOSED' then return { -1, text } end
local owner = redis.call('GET', KEYS[1])
if (not owner) or owner == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return { 1 }
end
return { 0, redis.call('PTTL', KEYS[1]) }
`);

/**
 * Gives the probe lease back if the caller holds it, and announces that it is free so that
 * the processes waiting for it ask at once instead of when it would have expired.
 *
 * KEYS: probe lease. ARGV: owner, channel, executor name.
 * Returns 1 when it gave the lease back, 0 when the caller did not hold it.
 */
export const RELEASE_PROBE = script(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], cjson.encode({ name = ARGV[3], lease = 'free', origin = ARGV[1] }))
return 1
`);

/**
 * Reads a state key with the ms left until its `until` on Redis's clock.
 * KEYS: state key. Returns { record or false, ms left or false }.
 */
export const READ_STATE = script(`${COMMON}
local record, version, text = current(KEYS[1])
if not text then return { false, false } end
return { text, left(record, now()) }
`);

/** Every script, to load into each master ahead of need (SCRIPT LOAD). */
export const SCRIPTS: readonly Script[] = [WRITE_STATE, COUNT_FAILURE, ACQUIRE_PROBE, RELEASE_PROBE, READ_STATE];
