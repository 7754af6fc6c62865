/**
 * The circuit's edge cases: calls that wait for a bulkhead slot and meet the circuit (and
 * its probe gate) when their turn comes, probe slots in HALF_OPEN, a registry clock that
 * disagrees with the timers, and what a call leaves behind on timers and signals.
 *
 * Source of truth: docs/decisions.md ("Bulkhead", "Timeouts and signals") and
 * /work/shared/POLICIES.md section 3.
 */
import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CircuitOpenError,
  CircuitState,
  TimeoutError,
  createRegistry,
  type CircuitBreakerConfig,
  type CircuitBreakerRegistry,
} from '../src/index.js';
import {
  boom,
  controlled,
  deferred,
  fakeTimeRegistry,
  hang,
  NAME,
  recordEvents,
  REQUEST_TIMEOUT,
  RESET_TIMEOUT,
  SMALL_DEFAULTS,
  T0,
  tearDownFakeTimeRegistry,
  track,
} from './helpers.js';

let reg: CircuitBreakerRegistry;

beforeEach(() => {
  reg = fakeTimeRegistry({ now: T0, registry: { defaults: SMALL_DEFAULTS } });
});

afterEach(() => {
  vi.unstubAllGlobals();
  tearDownFakeTimeRegistry(reg);
});

/**
 * HALF_OPEN, with a call made while CLOSED still holding a bulkhead slot, so that calls
 * made now wait in line and meet the circuit again when that call frees its slot.
 */
function halfOpenWithSlotsTaken(config: Partial<CircuitBreakerConfig>) {
  reg.configure(NAME, { maxConcurrent: 1, maxQueue: 1, requestTimeout: Infinity, cacheFallback: false, ...config });
  const earlier = deferred<string>();
  const earlierResult = track(reg.execute(NAME, () => earlier.promise));
  // Opens as if on its own, with probes allowed from now.
  reg.tripCircuit(NAME, new Date(reg.now()));
  expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);
  return { earlier, earlierResult };
}

describe('calls that wait for a slot', () => {
  it("a waiting call's result is its fn's own outcome, a value or a rejection", async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 2, requestTimeout: Infinity });
    const { calls, make, started } = controlled();
    void reg.execute(NAME, make('a'));
    const b = track(reg.execute(NAME, make('b')));
    const c = track(reg.execute(NAME, make('c')));
    calls[0]!.d.resolve('a done');
    await vi.advanceTimersByTimeAsync(0);
    calls[1]!.d.resolve('b done');
    await vi.advanceTimersByTimeAsync(0);
    expect(started()).toEqual(['a', 'b', 'c']);
    calls[2]!.d.reject(new Error('c failed'));
    await vi.advanceTimersByTimeAsync(0);
    expect(b.result).toMatchObject({ success: true, data: 'b done', rejected: false });
    expect(c.result).toMatchObject({ success: false, rejected: false });
    expect(c.result!.error!.message).toBe('c failed');
    expect(reg.getStats(NAME)).toMatchObject({ successfulRequests: 2, failedRequests: 1, consecutiveFailures: 1 });
  });

  it('a waiting fn that declares no parameter is called with no argument', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 1 });
    const first = deferred();
    void reg.execute(NAME, () => first.promise);
    const argCounts: number[] = [];
    // A rest parameter is not declared: fn.length is 0.
    const queued = reg.execute(NAME, (...args: unknown[]) => {
      argCounts.push(args.length);
      return 'ran';
    });
    first.resolve('done');
    expect(await queued).toMatchObject({ success: true, data: 'ran' });
    expect(argCounts).toEqual([0]);
  });

  it('a waiting call whose deadline comes with its slot reports no execution time', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 1 });
    const first = track(reg.execute(NAME, hang));
    const queued = track(reg.execute(NAME, () => 'never'));
    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT);
    expect(first.result).toMatchObject({ success: false, executionTime: REQUEST_TIMEOUT });
    expect(queued.result).toMatchObject({ success: false, rejected: false, executionTime: 0 });
    expect(queued.result!.error).toBeInstanceOf(TimeoutError);
    // Only the call that ran counts in the mean response time.
    expect(reg.getStats(NAME)).toMatchObject({ failedRequests: 2, avgResponseTime: REQUEST_TIMEOUT });
  });

  it('waiting calls that finish at once are answered in the order they waited', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 3, requestTimeout: Infinity });
    const first = deferred();
    const answered: unknown[] = [];
    void reg.execute(NAME, () => first.promise);
    for (const label of ['b', 'c', 'd']) {
      void reg.execute(NAME, () => label).then((result) => answered.push(result.data));
    }
    first.resolve('a');
    await vi.advanceTimersByTimeAsync(0);
    expect(answered).toEqual(['b', 'c', 'd']);
  });

  it('a waiting call refused at its turn is over: its deadline later counts nothing and leaves no timer', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 1, failureThreshold: 1, cacheFallback: false });
    const events = recordEvents(reg);
    const { calls, make } = controlled();
    const running = track(reg.execute(NAME, make('a')));
    const waiting = vi.fn(() => 'never');
    const queued = track(reg.execute(NAME, waiting));
    calls[0]!.d.reject(new Error('down'));
    await vi.advanceTimersByTimeAsync(0);
    expect(running.result).toMatchObject({ success: false });
    expect(queued.result).toMatchObject({ success: false, rejected: true, circuitState: CircuitState.OPEN });
    expect(queued.result!.error).toBeInstanceOf(CircuitOpenError);
    // Left: the timer that half-opens the circuit, and nothing for the refused call.
    expect(vi.getTimerCount()).toBe(1);

    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT);
    expect(waiting).not.toHaveBeenCalled();
    expect(events).toEqual(['request:failure', 'circuit:opened', 'request:rejected']);
    expect(reg.getStats(NAME)).toMatchObject({ failedRequests: 1, rejectedRequests: 1, totalRequests: 2 });
  });

  it('with no timeout, a waiting call refused at its turn is rejected, and the call that freed the slot gets its own result', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 1, failureThreshold: 1, requestTimeout: Infinity, cacheFallback: false });
    const { calls, make } = controlled();
    const running = reg.execute(NAME, make('a'));
    const waiting = vi.fn(() => 'never');
    const queued = reg.execute(NAME, waiting);
    calls[0]!.d.reject(new Error('down'));
    const result = await running;
    expect(result).toMatchObject({ success: false, rejected: false });
    expect(result.error!.message).toBe('down');
    const refused = await queued;
    expect(refused).toMatchObject({ success: false, rejected: true, circuitState: CircuitState.OPEN });
    expect(refused.error).toBeInstanceOf(CircuitOpenError);
    expect(waiting).not.toHaveBeenCalled();
  });

  it('a waiting call arms no timer when neither a timeout nor a slow-call rule applies to it', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 1, requestTimeout: Infinity });
    const { calls, make, started } = controlled();
    void reg.execute(NAME, make('a'));
    const queued = track(reg.execute(NAME, make('b')));
    calls[0]!.d.resolve('a done');
    await vi.advanceTimersByTimeAsync(0);
    expect(started()).toEqual(['a', 'b']);
    expect(vi.getTimerCount()).toBe(0);
    calls[1]!.d.resolve('b done');
    await vi.advanceTimersByTimeAsync(0);
    expect(queued.result).toMatchObject({ success: true, data: 'b done' });
  });
});

describe('calls that wait for a slot in HALF_OPEN', () => {
  it('waiting calls hold no probe slot: more calls may wait than successThreshold lets run', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 2, successThreshold: 2, requestTimeout: Infinity, cacheFallback: false });
    reg.tripCircuit(NAME, new Date(reg.now()));
    const { calls, make, started } = controlled();
    const results = ['p1', 'p2', 'p3'].map((label) => track(reg.execute(NAME, make(label))));
    await vi.advanceTimersByTimeAsync(0);
    expect(started()).toEqual(['p1']);
    expect(results.map((r) => r.settled)).toEqual([false, false, false]);

    calls[0]!.d.resolve('1');
    await vi.advanceTimersByTimeAsync(0);
    calls[1]!.d.resolve('2');
    await vi.advanceTimersByTimeAsync(0);
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
    calls[2]!.d.resolve('3');
    await vi.advanceTimersByTimeAsync(0);
    expect(started()).toEqual(['p1', 'p2', 'p3']);
    expect(results.map((r) => r.result?.data)).toEqual(['1', '2', '3']);
    expect(results.map((r) => r.result?.circuitState)).toEqual([CircuitState.HALF_OPEN, CircuitState.HALF_OPEN, CircuitState.CLOSED]);
  });

  it('a waiting call admitted at its turn takes a probe slot: a further call is refused while it runs', async () => {
    const { earlier } = halfOpenWithSlotsTaken({ successThreshold: 1 });
    const { calls, make, started } = controlled();
    const probe = track(reg.execute(NAME, make('probe')));
    earlier.resolve('earlier done');
    await vi.advanceTimersByTimeAsync(0);
    expect(started()).toEqual(['probe']);

    const extra = vi.fn(() => 'never');
    const refused = track(reg.execute(NAME, extra));
    await vi.advanceTimersByTimeAsync(0);
    expect(refused.result).toMatchObject({ success: false, rejected: true, circuitState: CircuitState.HALF_OPEN });
    expect(refused.result!.error).toBeInstanceOf(CircuitOpenError);
    expect(extra).not.toHaveBeenCalled();

    calls[0]!.d.resolve('fine');
    await vi.advanceTimersByTimeAsync(0);
    expect(probe.result).toMatchObject({ success: true, data: 'fine', circuitState: CircuitState.HALF_OPEN });
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
  });

  it('a waiting call is refused at its turn when the probes running fill a successThreshold lowered meanwhile', async () => {
    const { earlier } = halfOpenWithSlotsTaken({ maxConcurrent: 2, successThreshold: 2 });
    const { calls, make, started } = controlled();
    const probe = track(reg.execute(NAME, make('probe')));
    const waiting = vi.fn(make('waiting'));
    const queued = track(reg.execute(NAME, waiting));
    expect(started()).toEqual(['probe']);
    reg.configure(NAME, { successThreshold: 1 });

    earlier.resolve('earlier done');
    await vi.advanceTimersByTimeAsync(0);
    expect(waiting).not.toHaveBeenCalled();
    expect(queued.result).toMatchObject({ success: false, rejected: true, circuitState: CircuitState.HALF_OPEN });
    expect(queued.result!.error).toBeInstanceOf(CircuitOpenError);

    calls[0]!.d.resolve('fine');
    await vi.advanceTimersByTimeAsync(0);
    expect(probe.result).toMatchObject({ success: true });
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
  });

  it("the probe gate is asked again at a waiting call's turn, and every grant is handed back", async () => {
    const { earlier } = halfOpenWithSlotsTaken({ successThreshold: 1 });
    const gate = { tryAcquire: vi.fn(() => true), release: vi.fn() };
    reg.setProbeGate(NAME, gate);
    const { calls, make, started } = controlled();
    const probe = track(reg.execute(NAME, make('probe')));
    // Asked once on the way in; the grant goes back while the call waits.
    expect(gate.tryAcquire).toHaveBeenCalledTimes(1);
    expect(gate.release).toHaveBeenCalledTimes(1);

    earlier.resolve('earlier done');
    await vi.advanceTimersByTimeAsync(0);
    expect(started()).toEqual(['probe']);
    expect(gate.tryAcquire).toHaveBeenCalledTimes(2);
    expect(gate.release).toHaveBeenCalledTimes(1);

    calls[0]!.d.resolve('fine');
    await vi.advanceTimersByTimeAsync(0);
    expect(probe.result).toMatchObject({ success: true, data: 'fine', circuitState: CircuitState.HALF_OPEN });
    expect(gate.release).toHaveBeenCalledTimes(2);
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
  });

  it('a waiting call the probe gate refuses at its turn is rejected without running', async () => {
    const { earlier } = halfOpenWithSlotsTaken({ successThreshold: 1 });
    const gate = { tryAcquire: vi.fn(() => true), release: vi.fn() };
    reg.setProbeGate(NAME, gate);
    const waiting = vi.fn(() => 'never');
    const queued = track(reg.execute(NAME, waiting));
    gate.tryAcquire.mockReturnValue(false);

    earlier.resolve('earlier done');
    await vi.advanceTimersByTimeAsync(0);
    expect(gate.tryAcquire).toHaveBeenCalledTimes(2);
    expect(waiting).not.toHaveBeenCalled();
    expect(queued.result).toMatchObject({ success: false, rejected: true, circuitState: CircuitState.HALF_OPEN });
    expect(queued.result!.error).toBeInstanceOf(CircuitOpenError);
    // Only the grant of the way in was ever given, and it went back.
    expect(gate.release).toHaveBeenCalledTimes(1);
    expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);
  });

  it('a probe that waited for a slot leaves no slow-call timer behind once it settles', async () => {
    const { earlier } = halfOpenWithSlotsTaken({ successThreshold: 1, slowCallDuration: 2_000 });
    const { calls, make } = controlled();
    const probe = track(reg.execute(NAME, make('probe')));
    earlier.resolve('earlier done');
    await vi.advanceTimersByTimeAsync(0);
    calls[0]!.d.resolve('fine');
    await vi.advanceTimersByTimeAsync(0);
    expect(probe.result).toMatchObject({ success: true, circuitState: CircuitState.HALF_OPEN });
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('probe slots in HALF_OPEN', () => {
  it('a call made before the circuit opened and aborted during HALF_OPEN frees no probe slot', async () => {
    reg.configure(NAME, { successThreshold: 1, requestTimeout: Infinity, cacheFallback: false });
    const controller = new AbortController();
    const earlier = track(reg.execute(NAME, hang, { signal: controller.signal }));
    reg.tripCircuit(NAME, new Date(reg.now()));
    const probe = deferred();
    const probeResult = track(reg.execute(NAME, () => probe.promise));
    controller.abort(new Error('gave up'));
    await vi.advanceTimersByTimeAsync(0);
    expect(earlier.result).toMatchObject({ success: false, rejected: false });

    const extra = vi.fn(() => 'never');
    const refused = await reg.execute(NAME, extra);
    expect(refused).toMatchObject({ success: false, rejected: true, circuitState: CircuitState.HALF_OPEN });
    expect(refused.error).toBeInstanceOf(CircuitOpenError);
    expect(extra).not.toHaveBeenCalled();
    probe.resolve('fine');
    await vi.advanceTimersByTimeAsync(0);
    expect(probeResult.result).toMatchObject({ success: true });
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
  });

  it('a success never reopens a circuit held open, even one a probe gate held open while admitting the call', async () => {
    reg.configure(NAME, { failureThreshold: Infinity, failureRateThreshold: 0.5, minimumRequests: 2, cacheFallback: false });
    await reg.execute(NAME, boom);
    await reg.execute(NAME, boom);
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
    await vi.advanceTimersByTimeAsync(RESET_TIMEOUT);
    expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);
    reg.setProbeGate(NAME, {
      tryAcquire: () => {
        reg.openCircuit(NAME);
        return true;
      },
      release: () => {},
    });
    await reg.execute(NAME, () => 'fine');
    // Still held by hand: no timer, no further opening.
    expect(reg.getStats(NAME)).toMatchObject({ state: CircuitState.OPEN, nextAttemptTime: null, timesOpened: 2 });
  });
});

describe('a probe gate that moves the circuit while it is asked', () => {
  async function halfOpen(): Promise<void> {
    reg.configure(NAME, { failureThreshold: 1, resetTimeout: RESET_TIMEOUT, cacheFallback: false });
    await reg.execute(NAME, boom);
    await vi.advanceTimersByTimeAsync(RESET_TIMEOUT);
    expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);
  }

  it('a circuit the gate holds open refuses the call, and the grant is handed back', async () => {
    await halfOpen();
    const gate = {
      tryAcquire: vi.fn(() => {
        reg.openCircuit(NAME);
        return true;
      }),
      release: vi.fn(),
    };
    reg.setProbeGate(NAME, gate);
    const fn = vi.fn(boom);
    const result = await reg.execute(NAME, fn);

    expect(fn).not.toHaveBeenCalled();
    expect(result).toMatchObject({ success: false, rejected: true, circuitState: CircuitState.OPEN });
    expect(result.error).toBeInstanceOf(CircuitOpenError);
    expect(gate.release).toHaveBeenCalledTimes(1);
    // Held by hand: no timer brings it back, whatever the refused call would have done.
    await vi.advanceTimersByTimeAsync(RESET_TIMEOUT * 3);
    expect(reg.getStats(NAME)).toMatchObject({ state: CircuitState.OPEN, nextAttemptTime: null });
  });

  it('a circuit the gate closes runs the call as a closed one, and the grant is handed back', async () => {
    await halfOpen();
    const gate = {
      tryAcquire: vi.fn(() => {
        reg.closeCircuit(NAME);
        return true;
      }),
      release: vi.fn(() => {
        throw new Error('gate is gone');
      }),
    };
    reg.setProbeGate(NAME, gate);
    const result = await reg.execute(NAME, () => 'fine');

    expect(result).toMatchObject({ success: true, data: 'fine', circuitState: CircuitState.CLOSED });
    // Asked once: a CLOSED circuit admits without its gate.
    expect(gate.tryAcquire).toHaveBeenCalledTimes(1);
    expect(gate.release).toHaveBeenCalledTimes(1);
  });
});

describe("a registry clock that disagrees with the timers", () => {
  let clockNow = T0;
  let own: CircuitBreakerRegistry;

  beforeEach(() => {
    clockNow = T0;
    own = createRegistry({ clock: { now: () => clockNow }, defaults: { ...SMALL_DEFAULTS, failureThreshold: 1 } });
  });

  afterEach(() => {
    own.destroy();
  });

  it('an aborted call reports no negative execution time when the clock stepped back', async () => {
    const controller = new AbortController();
    const call = own.execute(NAME, hang, { signal: controller.signal });
    clockNow -= 1_000;
    controller.abort(new Error('gave up'));
    const result = await call;
    expect(result).toMatchObject({ success: false, executionTime: 0 });
    expect(own.getStats(NAME)).toMatchObject({ failedRequests: 1, avgResponseTime: 0 });
  });

  it("the reopen timer half-opens the circuit even when it fires a hair before the registry's clock reaches the time", async () => {
    const events: string[] = [];
    own.on('circuit:half-open', (name, stats) => events.push(`${name} ${stats.state} ${stats.lastStateChange?.getTime()}`));
    await own.execute(NAME, boom);
    expect(own.getStats(NAME)!.nextAttemptTime).toEqual(new Date(T0 + RESET_TIMEOUT));
    clockNow = T0 + RESET_TIMEOUT - 1;
    await vi.advanceTimersByTimeAsync(RESET_TIMEOUT);
    expect(events).toEqual([`${NAME} ${CircuitState.HALF_OPEN} ${T0 + RESET_TIMEOUT}`]);
    expect(own.getState(NAME)).toBe(CircuitState.HALF_OPEN);
  });
});

describe('timers and signals a call leaves behind', () => {
  it('opens and half-opens on a runtime whose timer handles are objects without unref()', async () => {
    const setFake = globalThis.setTimeout;
    const clearFake = globalThis.clearTimeout;
    vi.stubGlobal('setTimeout', (fn: () => void, ms?: number) => ({ handle: setFake(fn, ms) }));
    vi.stubGlobal('clearTimeout', (timer: { handle: ReturnType<typeof setTimeout> } | undefined) => clearFake(timer?.handle));
    reg.configure(NAME, { failureThreshold: 1 });
    const events = recordEvents(reg);
    const failed = await reg.execute(NAME, boom);
    expect(failed.error!.message).toBe('boom');
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
    await vi.advanceTimersByTimeAsync(RESET_TIMEOUT);
    expect(events).toEqual(['request:failure', 'circuit:opened', 'circuit:half-open']);
  });

  it("a caller's signal that aborted a call keeps no listener of the breaker", async () => {
    const controller = new AbortController();
    const call = reg.execute(NAME, hang, { signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort(new Error('gave up'));
    expect((await call).error!.message).toBe('gave up');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it("a caller's signal that aborted a waiting call keeps no listener of the breaker", async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 1 });
    void reg.execute(NAME, hang);
    const controller = new AbortController();
    const waiting = reg.execute(NAME, () => 'never', { signal: controller.signal });
    controller.abort(new Error('gave up'));
    expect((await waiting).error!.message).toBe('gave up');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
