/**
 * What the dashboard remembers about one executor (src/dashboard/track.ts): the state strip
 * it starts with and the 15 minutes it keeps, the per-interval samples, the latency of the
 * last minute and the last error. Times are given by hand, or come from a registry on fake
 * timers when the figures must be those a real breaker produces.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitState, type CircuitBreakerRegistry, type CircuitBreakerStats } from '../src/index.js';
import { createDashboard, type Dashboard, type ExecutorSnapshot } from '../src/dashboard/index.js';
import { Track } from '../src/dashboard/track.js';
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
