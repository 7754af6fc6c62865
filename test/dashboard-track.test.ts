/**
 * What the dashboard remembers about one executor (src/dashboard/track.ts): the state strip
 * it starts with and the 15 minutes it keeps, the per-interval samples, the latency of the
 * last minute and the last error. Times are given by hand, or come from a registry on fake
 * timers when the figures must be those a real breaker produces.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitState, type CircuitBreakerRegistry, type CircuitBreakerStats } from '../src/index.js';
import { createDashboard, type Dashboard, type ExecutorSnapshot } from '../src/dashboard/index.js';
import { LATENCY_BOUNDS, quantile, Track } from '../src/dashboard/track.js';
import {
  FAILURE_THRESHOLD,
  NAME,
  RESET_TIMEOUT,
  SMALL_DEFAULTS,
  T0,
  boom,
  failTimes,
  fakeTimeRegistry,
  ok,
  tearDownFakeTimeRegistry,
  zeroStats,
} from './helpers.js';

const MINUTE = 60_000;
const STRIP = 15 * MINUTE;

const stats = (over: Partial<CircuitBreakerStats> = {}): CircuitBreakerStats => ({ ...zeroStats(NAME), ...over });

/** Latency of `durations`, all measured in the minute that starts at T0. */
function latencyOf(durations: number[]) {
  const track = new Track(stats(), T0);
  for (const ms of durations) track.success(ms);
  return track.latency(T0);
}

describe('the state strip a new dashboard starts with', () => {
  let reg: CircuitBreakerRegistry;
  let dashboard: Dashboard | null = null;

  beforeEach(() => {
    reg = fakeTimeRegistry({ now: T0, registry: { defaults: SMALL_DEFAULTS } });
  });

  afterEach(() => {
    dashboard?.close();
    dashboard = null;
    tearDownFakeTimeRegistry(reg);
  });

  const strip = (): ExecutorSnapshot['transitions'] => {
    dashboard = createDashboard({ breakers: reg });
    return dashboard.snapshot().executors.find((e) => e.name === NAME)!.transitions;
  };

  it('a circuit that never changed state is CLOSED all along, with no time', async () => {
    await reg.execute(NAME, ok());
    expect(strip()).toEqual([[null, CircuitState.CLOSED]]);
  });

  it('a circuit on its first opening was CLOSED before it', async () => {
    await failTimes(reg, NAME, FAILURE_THRESHOLD);
    expect(strip()).toEqual([
      [null, CircuitState.CLOSED],
      [T0, CircuitState.OPEN],
    ]);
  });

  it('a circuit that opened again after a failed probe starts at its last opening: what came before it is unknown', async () => {
    await failTimes(reg, NAME, FAILURE_THRESHOLD);
    await vi.advanceTimersByTimeAsync(RESET_TIMEOUT);
    expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);
    await reg.execute(NAME, boom);
    expect(reg.getStats(NAME)!.timesOpened).toBe(2);
    expect(strip()).toEqual([[T0 + RESET_TIMEOUT, CircuitState.OPEN]]);
  });

  it('a circuit that closed and opened again starts at its last opening', async () => {
    await failTimes(reg, NAME, FAILURE_THRESHOLD);
    reg.closeCircuit(NAME);
    await vi.advanceTimersByTimeAsync(1_000);
    await failTimes(reg, NAME, FAILURE_THRESHOLD);
    expect(strip()).toEqual([[T0 + 1_000, CircuitState.OPEN]]);
  });

  it('assumes a CLOSED start only for a circuit away from CLOSED on its first opening, whatever else the counters say', () => {
    // A source other than a registry may report such counters (the dashboard takes any getAllStats).
    const since = new Date(T0);
    const openClosedBefore = new Track(stats({ state: CircuitState.OPEN, timesOpened: 1, timesClosed: 1, lastStateChange: since }), T0);
    expect(openClosedBefore.transitions).toEqual([[T0, CircuitState.OPEN]]);
    const closedOpenedOnce = new Track(stats({ state: CircuitState.CLOSED, timesOpened: 1, lastStateChange: since }), T0);
    expect(closedOpenedOnce.transitions).toEqual([[T0, CircuitState.CLOSED]]);
  });

  it('says the strip spans 15 minutes', () => {
    dashboard = createDashboard({ breakers: reg });
    expect(dashboard.snapshot().spans.strip).toBe(STRIP);
  });
});

describe('the state strip keeps 15 minutes of changes', () => {
  it('keeps every change of the last 15 minutes, and the state the strip starts in', () => {
    const track = new Track(stats({ state: CircuitState.OPEN, timesOpened: 1, lastStateChange: new Date(T0) }), T0);
    track.transition(CircuitState.HALF_OPEN, T0 + 5 * MINUTE);
    track.transition(CircuitState.OPEN, T0 + 5 * MINUTE + 10);
    track.transition(CircuitState.HALF_OPEN, T0 + 14 * MINUTE);
    expect(track.transitions).toEqual([
      [null, CircuitState.CLOSED],
      [T0, CircuitState.OPEN],
      [T0 + 5 * MINUTE, CircuitState.HALF_OPEN],
      [T0 + 5 * MINUTE + 10, CircuitState.OPEN],
      [T0 + 14 * MINUTE, CircuitState.HALF_OPEN],
    ]);
  });

  it('a change exactly 15 minutes old is the state the strip starts in: the ones before it go', () => {
    const track = new Track(stats({ state: CircuitState.OPEN, timesOpened: 1, lastStateChange: new Date(T0) }), T0);
    track.transition(CircuitState.HALF_OPEN, T0 + 1_000);
    track.transition(CircuitState.CLOSED, T0 + 1_000 + STRIP);
    expect(track.transitions).toEqual([
      [T0 + 1_000, CircuitState.HALF_OPEN],
      [T0 + 1_000 + STRIP, CircuitState.CLOSED],
    ]);
  });
});

describe('samples: the counters\' differences over each interval', () => {
  it('an interval without calls after earlier traffic counts nothing', () => {
    const track = new Track(stats(), T0);
    const busy = stats({ totalRequests: 10, successfulRequests: 7, failedRequests: 1, rejectedRequests: 2 });
    track.baseline(busy);
    track.sample(busy, T0 + 1_000, 1_000);
    expect(track.samples).toEqual([[T0 + 1_000, 1_000, 0, 0, 0, 0, 0]]);
  });

  it('counts the rejections of the interval only, and never more fallback answers than those rejections', () => {
    const track = new Track(stats(), T0);
    track.baseline(stats({ totalRequests: 5, failedRequests: 3, rejectedRequests: 2 }));
    for (let i = 0; i < 3; i++) track.fallback();
    track.sample(stats({ totalRequests: 7, failedRequests: 3, rejectedRequests: 4 }), T0 + 1_000, 1_000);
    expect(track.samples).toEqual([[T0 + 1_000, 1_000, 2, 0, 0, 2, 2]]);
  });
});

describe('latency of the last minute', () => {
  it('a call lasting exactly a bucket\'s bound counts in the bucket it closes', () => {
    // Twenty calls in one bucket: the 95th percentile is 95% of the way through it.
    expect(latencyOf(Array(20).fill(5)).p95).toBeCloseTo(2 + 3 * 0.95);
    expect(latencyOf(Array(20).fill(1)).p95).toBeCloseTo(0.95);
  });

  it('interpolates the 95th percentile within its bucket, after the calls of the faster ones', () => {
    const l = latencyOf([...Array(10).fill(1), ...Array(10).fill(10)]);
    expect(l).toEqual({ count: 20, mean: 5.5, p95: expect.closeTo(5 + 5 * (19 - 10) / 10) });
  });

  it('measures calls of half a minute and more in their own bucket', () => {
    const l = latencyOf([...Array(19).fill(31_000), 59_999]);
    expect(l.p95).toBeCloseTo(30_000 + 30_000 * 0.95);
  });

  it('the 95th percentile is never above the slowest call of the minute, whichever came last', () => {
    expect(latencyOf([9, 3])).toEqual({ count: 2, mean: 6, p95: 9 });
  });

  it('the 95th percentile is never above the slowest call of the minute, whichever interval had it', () => {
    for (const [first, second] of [
      [9, 3],
      [3, 9],
    ] as const) {
      const track = new Track(stats(), T0);
      track.success(first);
      track.sample(stats(), T0 + 10_000, 10_000);
      track.success(second);
      expect(track.latency(T0 + 10_000)).toEqual({ count: 2, mean: 6, p95: 9 });
    }
  });

  it('measures the calls made after a minute, and forgets the older ones', () => {
    const track = new Track(stats(), T0);
    track.success(5);
    track.sample(stats(), T0 + 70_000, 70_000);
    track.success(7);
    expect(track.latency(T0 + 70_000)).toEqual({ count: 1, mean: 7, p95: 7 });
  });

  it('forgets a call a minute later even when no interval closed since (nobody watching)', () => {
    const track = new Track(stats(), T0);
    track.success(5);
    expect(track.latency(T0 + 59_999).count).toBe(1);
    expect(track.latency(T0 + MINUTE)).toEqual({ count: 0, mean: null, p95: null });

    track.sample(stats(), T0 + 10_000, 10_000);
    track.success(8);
    expect(track.latency(T0 + 10_000)).toEqual({ count: 2, mean: 6.5, p95: 8 });
    expect(track.latency(T0 + 69_999)).toEqual({ count: 1, mean: 8, p95: 8 });
    expect(track.latency(T0 + 70_000)).toEqual({ count: 0, mean: null, p95: null });
  });
});

describe('quantile of a latency histogram', () => {
  const histogram = (bucket: number, count: number): number[] => {
    const counts = new Array<number>(LATENCY_BOUNDS.length + 1).fill(0);
    counts[bucket] = count;
    return counts;
  };

  it('the 0 quantile is the lower bound of the lowest bucket that has calls', () => {
    expect(quantile(histogram(2, 1), 1, 0)).toBe(LATENCY_BOUNDS[1]);
  });

  it('a rank beyond every count is the histogram\'s top bound', () => {
    expect(quantile(histogram(0, 1), 10, 0.95)).toBe(LATENCY_BOUNDS.at(-1));
  });
});

describe('the last error', () => {
  it('keeps a text of exactly 200 characters whole, and cuts a longer one to 200 with an ellipsis', () => {
    const track = new Track(stats(), T0);
    const exact = new Error('x'.repeat(200 - 'Error: '.length));
    track.failure(exact, T0);
    expect(track.lastError).toEqual({ time: T0, text: `Error: ${exact.message}` });

    track.failure(new Error(`${exact.message}y`), T0 + 1);
    expect(track.lastError).toEqual({ time: T0 + 1, text: `Error: ${exact.message.slice(0, -1)}…` });
  });
});
