/**
 * The state machine: CLOSED -> OPEN -> HALF_OPEN -> CLOSED / OPEN, generations, and the
 * manual controls (openCircuit, closeCircuit, reset, resetAll).
 *
 * Source of truth: /work/shared/CONTRACT.md ("States and transitions") and
 * docs/decisions.md ("Counting failures", "Half-open", "Late results", "Manual control").
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CircuitOpenError,
  CircuitState,
  createRegistry,
  type CircuitBreakerEventName,
  type CircuitBreakerRegistry,
  type CircuitBreakerStats,
} from '../src/index.js';
import {
  FAILURE_THRESHOLD,
  NAME,
  REQUEST_TIMEOUT,
  RESET_TIMEOUT,
  T0,
  deferred,
  fakeTimeRegistry,
  tearDownFakeTimeRegistry,
  zeroStats,
} from './helpers.js';

// Small numbers so each transition is easy to follow (with FAILURE_THRESHOLD 3,
// RESET_TIMEOUT 5 s and REQUEST_TIMEOUT 1 s from helpers.ts).
const FAILURE_WINDOW = 10_000;
const SUCCESS_THRESHOLD = 2;

let reg: CircuitBreakerRegistry;

beforeEach(() => {
  reg = fakeTimeRegistry({
    now: T0,
    registry: {
      defaults: {
        failureThreshold: FAILURE_THRESHOLD,
        failureWindow: FAILURE_WINDOW,
        resetTimeout: RESET_TIMEOUT,
        successThreshold: SUCCESS_THRESHOLD,
        requestTimeout: REQUEST_TIMEOUT,
      },
    },
  });
});

afterEach(() => {
  tearDownFakeTimeRegistry(reg);
});

// ---------------------------------------------------------------------------- helpers

/** One call that fails synchronously. */
function fail(name = NAME) {
  return reg.execute(name, () => {
    throw new Error('service down');
  });
}

/** One call that succeeds synchronously with `data`. */
function succeed(name = NAME, data = 'ok') {
  return reg.execute(name, () => data);
}

async function failTimes(n: number, name = NAME): Promise<void> {
  for (let i = 0; i < n; i++) await fail(name);
}

/** A call whose outcome the test decides later; `fn` counts how often it ran. */
function slowCall(name = NAME) {
  const d = deferred<string>();
  const fn = vi.fn(() => d.promise);
  const result = reg.execute(name, fn);
  return { ...d, fn, result };
}

/** Opens the circuit through the failure window, at the current fake time. */
async function tripOpen(name = NAME): Promise<void> {
  await failTimes(FAILURE_THRESHOLD, name);
  expect(reg.getState(name)).toBe(CircuitState.OPEN);
}

/** Opens the circuit and lets resetTimeout pass, so it is HALF_OPEN. */
async function toHalfOpen(name = NAME): Promise<void> {
  await tripOpen(name);
  await vi.advanceTimersByTimeAsync(RESET_TIMEOUT);
  expect(reg.getState(name)).toBe(CircuitState.HALF_OPEN);
}

const STATE_EVENTS = ['circuit:opened', 'circuit:closed', 'circuit:half-open'] as const;

/** Records the state events of the registry, with the state their stats show. */
function recordStateEvents(): { event: CircuitBreakerEventName; name: string; stats: CircuitBreakerStats }[] {
  const seen: { event: CircuitBreakerEventName; name: string; stats: CircuitBreakerStats }[] = [];
  for (const event of STATE_EVENTS) {
    reg.on(event, (name, stats) => seen.push({ event, name, stats }));
  }
  return seen;
}

const now = () => Date.now();

// ---------------------------------------------------------------------------- CLOSED -> OPEN

describe('CLOSED -> OPEN through the sliding failure window', () => {
  it('stays CLOSED below failureThreshold and opens on the failure that reaches it', async () => {
    await failTimes(FAILURE_THRESHOLD - 1);
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);

    await fail();
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
    expect(reg.getStats(NAME)!.timesOpened).toBe(1);
  });

  it('opens when the threshold is reached with failures spread across the window', async () => {
    await fail(); // t0
    await vi.advanceTimersByTimeAsync(4_000);
    await fail(); // t0 + 4s
    await vi.advanceTimersByTimeAsync(5_999);
    await fail(); // t0 + 9.999s: the first failure is still inside the 10 s window
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
  });

  it('does not count a failure that is exactly failureWindow old (now - f < failureWindow)', async () => {
    await fail(); // t0
    await vi.advanceTimersByTimeAsync(5_000);
    await fail(); // t0 + 5s
    await vi.advanceTimersByTimeAsync(5_000);
    await fail(); // t0 + 10s: the t0 failure has just aged out
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);

    await fail(); // t0 + 10s: 5s, 10s, 10s are inside
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
  });

  it('lets failures older than failureWindow age out', async () => {
    await failTimes(FAILURE_THRESHOLD - 1);
    await vi.advanceTimersByTimeAsync(FAILURE_WINDOW + 1);
    await failTimes(FAILURE_THRESHOLD - 1);
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
    expect(reg.getStats(NAME)!.failedRequests).toBe(2 * (FAILURE_THRESHOLD - 1));

    await fail();
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
  });

  it('does not let successes in between erase failures still inside the window', async () => {
    await fail();
    await succeed();
    await succeed();
    await fail();
    await succeed();
    expect(reg.getStats(NAME)!.consecutiveFailures).toBe(0);
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);

    await fail();
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
  });

  it('behaves the same after 100k spread-out successes and failures (bounded window memory)', async () => {
    reg.configure(NAME, { failureThreshold: 5, failureWindow: 1_000 });
    // One failure every 250 ms: at any moment exactly 4 failures are inside the 1 s window
    // (the one 1000 ms old no longer counts), one short of the threshold.
    for (let i = 0; i < 50_000; i++) {
      await fail();
      await succeed();
      vi.advanceTimersByTime(250);
    }
    let stats = reg.getStats(NAME)!;
    expect(stats.state).toBe(CircuitState.CLOSED);
    expect(stats.timesOpened).toBe(0);
    expect(stats.failedRequests).toBe(50_000);
    expect(stats.successfulRequests).toBe(50_000);

    // Still exactly failureThreshold failures within the window open it, no fewer.
    vi.advanceTimersByTime(1_000);
    await failTimes(4);
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
    await fail();
    stats = reg.getStats(NAME)!;
    expect(stats.state).toBe(CircuitState.OPEN);
    expect(stats.timesOpened).toBe(1);
  });
});

// ---------------------------------------------------------------------------- OPEN -> HALF_OPEN

describe('OPEN -> HALF_OPEN once resetTimeout has passed', () => {
  it('moves on its own timer, with nobody reading the state, exactly at resetTimeout', async () => {
    const events = recordStateEvents();
    await tripOpen();
    const openedAt = now();

    await vi.advanceTimersByTimeAsync(RESET_TIMEOUT - 1);
    expect(events.map((e) => e.event)).toEqual(['circuit:opened']);

    await vi.advanceTimersByTimeAsync(1);
    expect(events.map((e) => e.event)).toEqual(['circuit:opened', 'circuit:half-open']);
    const halfOpen = events[1]!;
    expect(halfOpen.name).toBe(NAME);
    expect(halfOpen.stats.state).toBe(CircuitState.HALF_OPEN);
    expect(halfOpen.stats.nextAttemptTime).toBeNull();
    expect(halfOpen.stats.lastStateChange!.getTime()).toBe(openedAt + RESET_TIMEOUT);
  });

  it('reports nextAttemptTime = opening time + resetTimeout while OPEN', async () => {
    await vi.advanceTimersByTimeAsync(1_234);
    await tripOpen();
    expect(reg.getStats(NAME)!.nextAttemptTime!.getTime()).toBe(T0 + 1_234 + RESET_TIMEOUT);
  });

  it('is checked lazily: a state read right after resetTimeout is HALF_OPEN before the timer has run', async () => {
    const events = recordStateEvents();
    await tripOpen();
    // Move the clock without running any timer (the reopen timer is still pending).
    vi.setSystemTime(now() + RESET_TIMEOUT);

    expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);
    expect(events.map((e) => e.event)).toEqual(['circuit:opened', 'circuit:half-open']);
  });

  it.each([
    ['isOpen', (r: CircuitBreakerRegistry) => r.isOpen(NAME), false],
    ['isHalfOpen', (r: CircuitBreakerRegistry) => r.isHalfOpen(NAME), true],
    ['getStats', (r: CircuitBreakerRegistry) => r.getStats(NAME)!.state, CircuitState.HALF_OPEN],
    ['getAllStats', (r: CircuitBreakerRegistry) => r.getAllStats().get(NAME)!.state, CircuitState.HALF_OPEN],
  ] as const)('is checked lazily by %s too', async (_query, read, expected) => {
    await tripOpen();
    vi.setSystemTime(now() + RESET_TIMEOUT);
    expect(read(reg)).toBe(expected);
  });

  it('is checked lazily by execute: the first call after resetTimeout runs as a probe', async () => {
    await tripOpen();
    vi.setSystemTime(now() + RESET_TIMEOUT);
    const fn = vi.fn(() => 'probe');

    const result = await reg.execute(NAME, fn);

    expect(fn).toHaveBeenCalledTimes(1);
    expect(result).toMatchObject({ success: true, rejected: false, circuitState: CircuitState.HALF_OPEN });
  });

  it('fires circuit:half-open exactly once when a lazy read comes first and the timer runs later', async () => {
    const halfOpen = vi.fn();
    reg.on('circuit:half-open', halfOpen);
    await tripOpen();

    vi.setSystemTime(now() + RESET_TIMEOUT);
    expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);
    await vi.advanceTimersByTimeAsync(RESET_TIMEOUT * 3);
    expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);

    expect(halfOpen).toHaveBeenCalledTimes(1);
  });

  it('fires circuit:half-open exactly once when the timer runs first and reads follow', async () => {
    const halfOpen = vi.fn();
    reg.on('circuit:half-open', halfOpen);
    await tripOpen();

    await vi.advanceTimersByTimeAsync(RESET_TIMEOUT);
    expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);
    expect(reg.isHalfOpen(NAME)).toBe(true);
    reg.getStats(NAME);

    expect(halfOpen).toHaveBeenCalledTimes(1);
  });

  it('rejects every call while OPEN without running fn', async () => {
    await tripOpen();
    await vi.advanceTimersByTimeAsync(RESET_TIMEOUT - 1);
    const fn = vi.fn(() => 'never');

    const result = await reg.execute(NAME, fn);

    expect(fn).not.toHaveBeenCalled();
    expect(result.rejected).toBe(true);
    expect(result.circuitState).toBe(CircuitState.OPEN);
  });
});

// ---------------------------------------------------------------------------- HALF_OPEN probes

describe('HALF_OPEN admits at most successThreshold probes at once', () => {
  it('runs successThreshold probes concurrently and rejects further calls exactly as OPEN', async () => {
    reg.configure(NAME, { cacheFallback: false });
    await toHalfOpen();
    const rejectedEvents = vi.fn();
    reg.on('request:rejected', rejectedEvents);

    const probes = Array.from({ length: SUCCESS_THRESHOLD }, () => slowCall());
    for (const probe of probes) expect(probe.fn).toHaveBeenCalledTimes(1);

    const extra = vi.fn(() => 'never');
    const result = await reg.execute(NAME, extra);

    expect(extra).not.toHaveBeenCalled();
    expect(result).toEqual({
      success: false,
      data: undefined,
      error: expect.any(CircuitOpenError),
      fromCache: false,
      rejected: true,
      circuitState: CircuitState.HALF_OPEN,
      executionTime: 0,
      fromFallback: false,
      attempts: 1,
    });
    const error = result.error as CircuitOpenError;
    expect(error.name).toBe('CircuitOpenError');
    expect(error.executorName).toBe(NAME);
    expect(error.nextAttemptTime).toBeNull();
    expect(rejectedEvents).toHaveBeenCalledTimes(1);
    expect(rejectedEvents.mock.calls[0]![0]).toBe(NAME);
    expect(reg.getStats(NAME)!.rejectedRequests).toBe(1);
    expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);
  });

  it('answers a call beyond the probe limit from the fallback cache, as OPEN would', async () => {
    await succeed(NAME, 'cached value');
    await toHalfOpen();
    const probes = Array.from({ length: SUCCESS_THRESHOLD }, () => slowCall());

    const fallbackUsed = vi.fn();
    reg.on('fallback:used', fallbackUsed);
    const extra = vi.fn(() => 'fresh');
    const result = await reg.execute(NAME, extra);

    expect(extra).not.toHaveBeenCalled();
    expect(result).toMatchObject({
      success: true,
      data: 'cached value',
      fromCache: true,
      rejected: true,
      circuitState: CircuitState.HALF_OPEN,
    });
    expect(fallbackUsed).toHaveBeenCalledTimes(1);
    expect(probes).toHaveLength(SUCCESS_THRESHOLD);
  });

  it('frees a slot when a probe settles, so a later call can probe', async () => {
    reg.configure(NAME, { successThreshold: 3 });
    await toHalfOpen();
    const [first, second, third] = [slowCall(), slowCall(), slowCall()];
    const blocked = vi.fn(() => 'blocked');
    expect((await reg.execute(NAME, blocked)).rejected).toBe(true);
    expect(blocked).not.toHaveBeenCalled();

    first.resolve('ok');
    expect((await first.result).success).toBe(true);
    expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN); // 1 of 3 successes

    const next = slowCall();
    expect(next.fn).toHaveBeenCalledTimes(1);
    const stillBlocked = vi.fn(() => 'blocked');
    expect((await reg.execute(NAME, stillBlocked)).rejected).toBe(true);
    expect(stillBlocked).not.toHaveBeenCalled();

    for (const probe of [second, third, next]) probe.resolve('ok');
    await Promise.all([second.result, third.result, next.result]);
  });
});

// ---------------------------------------------------------------------------- HALF_OPEN -> CLOSED

describe('HALF_OPEN -> CLOSED after successThreshold probe successes', () => {
  it('closes on the successThreshold-th probe success, firing circuit:closed once', async () => {
    const events = recordStateEvents();
    await toHalfOpen();

    for (let i = 0; i < SUCCESS_THRESHOLD - 1; i++) {
      await succeed();
      expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);
    }
    await succeed();

    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
    expect(events.map((e) => e.event)).toEqual(['circuit:opened', 'circuit:half-open', 'circuit:closed']);
    expect(events[2]!.stats.state).toBe(CircuitState.CLOSED);
    const stats = reg.getStats(NAME)!;
    expect(stats.timesClosed).toBe(1);
    expect(stats.nextAttemptTime).toBeNull();
  });

  it('empties the failure window: afterwards it takes failureThreshold fresh failures to open again', async () => {
    // The failures that opened the circuit are still inside the 10 s window when it closes.
    await toHalfOpen();
    for (let i = 0; i < SUCCESS_THRESHOLD; i++) await succeed();
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
    expect(now() - T0).toBeLessThan(FAILURE_WINDOW);

    await failTimes(FAILURE_THRESHOLD - 1);
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);

    await fail();
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
  });

  it('closes with concurrent probes once enough of them have succeeded', async () => {
    await toHalfOpen();
    const probes = Array.from({ length: SUCCESS_THRESHOLD }, () => slowCall());
    probes[0]!.resolve('a');
    await probes[0]!.result;
    expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);

    probes[1]!.resolve('b');
    const last = await probes[1]!.result;
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
    expect(last.circuitState).toBe(CircuitState.HALF_OPEN); // the state it was admitted in
  });
});

// ---------------------------------------------------------------------------- HALF_OPEN -> OPEN

describe('HALF_OPEN -> OPEN on any probe failure, with a fresh resetTimeout', () => {
  it('reopens at once when a probe fails, nextAttemptTime = failure time + resetTimeout', async () => {
    const events = recordStateEvents();
    await toHalfOpen();
    await vi.advanceTimersByTimeAsync(700);
    const failedAt = now();

    await fail();

    const stats = reg.getStats(NAME)!;
    expect(stats.state).toBe(CircuitState.OPEN);
    expect(stats.timesOpened).toBe(2);
    expect(stats.nextAttemptTime!.getTime()).toBe(failedAt + RESET_TIMEOUT);
    expect(events.map((e) => e.event)).toEqual(['circuit:opened', 'circuit:half-open', 'circuit:opened']);
    expect(events[2]!.stats.nextAttemptTime!.getTime()).toBe(failedAt + RESET_TIMEOUT);

    // It half-opens again resetTimeout after the failure, not earlier.
    await vi.advanceTimersByTimeAsync(RESET_TIMEOUT - 1);
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
    await vi.advanceTimersByTimeAsync(1);
    expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);
  });

  it('reopens on a failure even after some probes have succeeded', async () => {
    reg.configure(NAME, { successThreshold: 3 });
    await toHalfOpen();
    await succeed();
    await succeed();
    expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);

    await fail();
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
  });

  it('counts a probe that times out as a failure and reopens the circuit', async () => {
    await toHalfOpen();
    const probe = slowCall();

    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT - 1);
    expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);
    await vi.advanceTimersByTimeAsync(1);
    const timedOutAt = now();

    const result = await probe.result;
    expect(result.success).toBe(false);
    expect(result.error!.name).toBe('TimeoutError');
    const stats = reg.getStats(NAME)!;
    expect(stats.state).toBe(CircuitState.OPEN);
    expect(stats.nextAttemptTime!.getTime()).toBe(timedOutAt + RESET_TIMEOUT);
  });

  it('a new half-open period starts with a clean slate of probes', async () => {
    await toHalfOpen();
    await succeed(); // 1 of 2 successes
    await fail(); // reopens
    await vi.advanceTimersByTimeAsync(RESET_TIMEOUT);
    expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);

    await succeed(); // 1 of 2 in the new period, not 2 of 2
    expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);
    await succeed();
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
  });
});

// ---------------------------------------------------------------------------- generations

describe('a call only moves the state machine (generation) it started in', () => {
  beforeEach(() => {
    // Long enough that the slow calls below never time out.
    reg.configure(NAME, { requestTimeout: 60_000 });
  });

  it('a slow call started while CLOSED that fails while OPEN does not reopen or extend the open period', async () => {
    const slow = slowCall();
    await tripOpen();
    const before = reg.getStats(NAME)!;

    await vi.advanceTimersByTimeAsync(1_000);
    slow.reject(new Error('late failure'));
    const result = await slow.result;

    expect(result).toMatchObject({ success: false, rejected: false, circuitState: CircuitState.CLOSED });
    const after = reg.getStats(NAME)!;
    expect(after.state).toBe(CircuitState.OPEN);
    expect(after.timesOpened).toBe(1);
    expect(after.nextAttemptTime).toEqual(before.nextAttemptTime);
    expect(after.failedRequests).toBe(FAILURE_THRESHOLD + 1); // still counted in the statistics
  });

  it('a slow call started while CLOSED that fails while HALF_OPEN is not a probe failure', async () => {
    const slow = slowCall();
    await toHalfOpen();

    slow.reject(new Error('late failure'));
    await slow.result;

    const stats = reg.getStats(NAME)!;
    expect(stats.state).toBe(CircuitState.HALF_OPEN);
    expect(stats.timesOpened).toBe(1);
    expect(stats.failedRequests).toBe(FAILURE_THRESHOLD + 1);
  });

  it('a slow call started while CLOSED that succeeds while HALF_OPEN is not a probe success and frees no slot', async () => {
    reg.configure(NAME, { successThreshold: 1 });
    const slow = slowCall();
    await toHalfOpen();
    const probe = slowCall(); // takes the only probe slot

    slow.resolve('late success');
    expect((await slow.result).success).toBe(true);

    expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN); // one success would have closed it
    expect(reg.getStats(NAME)!.successfulRequests).toBe(1);
    const blocked = vi.fn(() => 'x');
    expect((await reg.execute(NAME, blocked)).rejected).toBe(true); // the slot is still the probe's
    expect(blocked).not.toHaveBeenCalled();

    probe.resolve('probe ok');
    await probe.result;
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
  });

  it('a failure of a call from a previous CLOSED period does not count in the new failure window', async () => {
    const slow = slowCall();
    await tripOpen();
    reg.closeCircuit(NAME);

    await failTimes(FAILURE_THRESHOLD - 1);
    slow.reject(new Error('late failure'));
    await slow.result;
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);

    await fail();
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
  });

  it('a call started before reset() does not move the state after it, but is counted in the statistics', async () => {
    reg.configure(NAME, { failureThreshold: 1 });
    const willFail = slowCall();
    const willSucceed = slowCall();
    reg.reset(NAME);

    willFail.reject(new Error('late failure'));
    willSucceed.resolve('late success');
    await Promise.all([willFail.result, willSucceed.result]);

    const stats = reg.getStats(NAME)!;
    expect(stats.state).toBe(CircuitState.CLOSED); // one failure would open it (threshold 1)
    expect(stats.timesOpened).toBe(0);
    expect(stats.failedRequests).toBe(1);
    expect(stats.successfulRequests).toBe(1);
    expect(stats.totalRequests).toBe(2);
    expect(stats.consecutiveFailures).toBe(0);
    expect(stats.consecutiveSuccesses).toBe(0);

    await fail(); // a failure of the new period still opens it
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
  });
});

// ---------------------------------------------------------------------------- openCircuit

describe('openCircuit forces OPEN and holds it', () => {
  it('opens a CLOSED circuit with nextAttemptTime null and never half-opens on its own', async () => {
    const events = recordStateEvents();
    reg.openCircuit(NAME);

    let stats = reg.getStats(NAME)!;
    expect(stats.state).toBe(CircuitState.OPEN);
    expect(stats.nextAttemptTime).toBeNull();
    expect(stats.timesOpened).toBe(1);
    expect(events.map((e) => e.event)).toEqual(['circuit:opened']);
    expect(vi.getTimerCount()).toBe(0);

    await vi.advanceTimersByTimeAsync(5 * 60 * 60 * 1000); // five hours
    stats = reg.getStats(NAME)!;
    expect(stats.state).toBe(CircuitState.OPEN);
    expect(stats.nextAttemptTime).toBeNull();
    expect(events.map((e) => e.event)).toEqual(['circuit:opened']);
  });

  it('rejects calls with a CircuitOpenError whose nextAttemptTime is null', async () => {
    reg.configure(NAME, { cacheFallback: false });
    reg.openCircuit(NAME);
    await vi.advanceTimersByTimeAsync(60 * 60 * 1000);
    const fn = vi.fn(() => 'x');

    const result = await reg.execute(NAME, fn);

    expect(fn).not.toHaveBeenCalled();
    expect(result.rejected).toBe(true);
    expect(result.error).toBeInstanceOf(CircuitOpenError);
    expect((result.error as CircuitOpenError).nextAttemptTime).toBeNull();
    expect((result.error as CircuitOpenError).executorName).toBe(NAME);
  });

  it('creates the breaker for a name that has none', () => {
    expect(reg.getState('fresh')).toBeNull();
    reg.openCircuit('fresh');
    expect(reg.getState('fresh')).toBe(CircuitState.OPEN);
    expect(reg.getExecutors()).toContain('fresh');
  });

  it('fires circuit:opened only when the state changes (a second openCircuit is silent)', () => {
    const opened = vi.fn();
    reg.on('circuit:opened', opened);
    reg.openCircuit(NAME);
    reg.openCircuit(NAME);
    expect(opened).toHaveBeenCalledTimes(1);
    expect(reg.getStats(NAME)!.timesOpened).toBe(1);
  });

  it('on a circuit OPEN on its timer: no event, no second opening, and the timer stops', async () => {
    await tripOpen();
    const opened = vi.fn();
    const halfOpen = vi.fn();
    reg.on('circuit:opened', opened);
    reg.on('circuit:half-open', halfOpen);

    reg.openCircuit(NAME);
    expect(opened).not.toHaveBeenCalled();
    const stats = reg.getStats(NAME)!;
    expect(stats.timesOpened).toBe(1);
    expect(stats.nextAttemptTime).toBeNull();

    await vi.advanceTimersByTimeAsync(RESET_TIMEOUT * 10);
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
    expect(halfOpen).not.toHaveBeenCalled();
  });

  it('on a HALF_OPEN circuit: opens it (one event) and holds it', async () => {
    await toHalfOpen();
    const opened = vi.fn();
    reg.on('circuit:opened', opened);

    reg.openCircuit(NAME);
    expect(opened).toHaveBeenCalledTimes(1);
    expect(reg.getStats(NAME)!.timesOpened).toBe(2);
    await vi.advanceTimersByTimeAsync(RESET_TIMEOUT * 10);
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
  });

  it.each([
    ['closeCircuit', (r: CircuitBreakerRegistry) => r.closeCircuit(NAME)],
    ['reset', (r: CircuitBreakerRegistry) => r.reset(NAME)],
    ['resetAll', (r: CircuitBreakerRegistry) => r.resetAll()],
  ] as const)('holds until %s', async (_how, release) => {
    reg.openCircuit(NAME);
    await vi.advanceTimersByTimeAsync(3 * 60 * 60 * 1000);
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);

    release(reg);

    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
    const fn = vi.fn(() => 'runs');
    expect(await reg.execute(NAME, fn)).toMatchObject({ success: true, data: 'runs', rejected: false });
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

// ---------------------------------------------------------------------------- closeCircuit

describe('closeCircuit forces CLOSED and empties the failure window', () => {
  it('closes an OPEN circuit, firing circuit:closed once; a second closeCircuit is silent', async () => {
    await tripOpen();
    const closed = vi.fn();
    reg.on('circuit:closed', closed);

    reg.closeCircuit(NAME);
    reg.closeCircuit(NAME);

    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
    expect(closed).toHaveBeenCalledTimes(1);
    expect(closed.mock.calls[0]![1].state).toBe(CircuitState.CLOSED);
    const stats = reg.getStats(NAME)!;
    expect(stats.timesClosed).toBe(1);
    expect(stats.nextAttemptTime).toBeNull();
  });

  it('stops the OPEN circuit from half-opening later', async () => {
    await tripOpen();
    const halfOpen = vi.fn();
    reg.on('circuit:half-open', halfOpen);
    reg.closeCircuit(NAME);
    await vi.advanceTimersByTimeAsync(RESET_TIMEOUT * 2);
    expect(halfOpen).not.toHaveBeenCalled();
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('on a CLOSED circuit: no event, no transition, but the failure window is emptied', async () => {
    await failTimes(FAILURE_THRESHOLD - 1);
    const closed = vi.fn();
    reg.on('circuit:closed', closed);

    reg.closeCircuit(NAME);
    expect(closed).not.toHaveBeenCalled();
    expect(reg.getStats(NAME)!.timesClosed).toBe(0);

    await failTimes(FAILURE_THRESHOLD - 1); // would reach the threshold without the emptying
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
    await fail();
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
  });

  it('after closing an OPEN circuit it takes failureThreshold fresh failures to open again', async () => {
    await tripOpen();
    reg.closeCircuit(NAME);

    await failTimes(FAILURE_THRESHOLD - 1);
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
    await fail();
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
  });

  it('closes a HALF_OPEN circuit', async () => {
    await toHalfOpen();
    const closed = vi.fn();
    reg.on('circuit:closed', closed);
    reg.closeCircuit(NAME);
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
    expect(closed).toHaveBeenCalledTimes(1);
  });
});

// ---------------------------------------------------------------------------- reset / resetAll

describe('reset returns a breaker to its initial state', () => {
  const CUSTOM = { failureThreshold: 2, resetTimeout: 7_000, cacheFallback: true } as const;

  /** The statistics of a breaker that has never been used. */
  function pristine(name: string): CircuitBreakerStats {
    const other = createRegistry();
    other.configure(name, {});
    const stats = other.getStats(name)!;
    other.destroy();
    return stats;
  }

  it('goes back to CLOSED with every counter zero and every date null', async () => {
    reg.configure(NAME, CUSTOM);
    await succeed(NAME, 'cached');
    await vi.advanceTimersByTimeAsync(50);
    await failTimes(2);
    await reg.execute(NAME, () => 'rejected'); // rejected while OPEN
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);

    reg.reset(NAME);

    expect(reg.getStats(NAME)).toEqual(pristine(NAME));
    expect(reg.getStats(NAME)).toEqual(zeroStats(NAME));
    expect(vi.getTimerCount()).toBe(0); // the reopen timer is gone
  });

  it('empties the fallback cache', async () => {
    reg.configure(NAME, CUSTOM);
    await succeed(NAME, 'cached');
    reg.reset(NAME);

    reg.openCircuit(NAME);
    const result = await reg.execute(NAME, () => 'x');
    expect(result).toMatchObject({ success: false, fromCache: false, rejected: true });
    expect(result.error).toBeInstanceOf(CircuitOpenError);
  });

  it('keeps the configuration', async () => {
    reg.configure(NAME, CUSTOM);
    await failTimes(2);
    reg.reset(NAME);

    await failTimes(CUSTOM.failureThreshold); // 2, not the registry's 3
    const stats = reg.getStats(NAME)!;
    expect(stats.state).toBe(CircuitState.OPEN);
    expect(stats.nextAttemptTime!.getTime()).toBe(now() + CUSTOM.resetTimeout);
  });

  it('does not half-open later: the old open period is gone', async () => {
    await tripOpen();
    const halfOpen = vi.fn();
    reg.on('circuit:half-open', halfOpen);
    reg.reset(NAME);
    await vi.advanceTimersByTimeAsync(RESET_TIMEOUT * 2);
    expect(halfOpen).not.toHaveBeenCalled();
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
  });

  it('forgets the failures in the window', async () => {
    await failTimes(FAILURE_THRESHOLD - 1);
    reg.reset(NAME);
    await failTimes(FAILURE_THRESHOLD - 1);
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
  });

  it('of a name with no breaker does nothing', () => {
    reg.reset('nobody');
    expect(reg.getExecutors()).not.toContain('nobody');
    expect(reg.getState('nobody')).toBeNull();
  });

  it('resetAll resets every breaker and keeps each configuration', async () => {
    reg.configure('a', { failureThreshold: 1 });
    reg.configure('b', { failureThreshold: 2 });
    await failTimes(1, 'a');
    await failTimes(2, 'b');
    await succeed('c');
    expect(reg.getState('a')).toBe(CircuitState.OPEN);
    expect(reg.getState('b')).toBe(CircuitState.OPEN);

    reg.resetAll();

    for (const name of ['a', 'b', 'c']) {
      expect(reg.getStats(name)).toEqual(pristine(name));
    }
    await failTimes(1, 'a');
    expect(reg.getState('a')).toBe(CircuitState.OPEN);
    await failTimes(1, 'b');
    expect(reg.getState('b')).toBe(CircuitState.CLOSED);
    await failTimes(1, 'b');
    expect(reg.getState('b')).toBe(CircuitState.OPEN);
  });
});
