/**
 * One executor's circuit at the edges of its bookkeeping: what `fn` is handed, refusals
 * answered from the fallback cache (by the circuit and by the bulkhead), configuration
 * changed while calls run, late aborts and signals, clocks that step, and the user's
 * code moving the circuit from inside an event or a signal.
 *
 * Source of truth: docs/decisions.md ("When to open", "Half-open", "Per-call timeout"),
 * docs/guide.md and /work/shared/POLICIES.md.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BulkheadRejectedError,
  CircuitOpenError,
  CircuitState,
  TimeoutError,
  createRegistry,
  type CircuitBreakerRegistry,
} from '../src/index.js';
import { NAME, T0, boom, deferred, fakeTimeRegistry, hang, tearDownFakeTimeRegistry, track } from './helpers.js';

let reg: CircuitBreakerRegistry;

beforeEach(() => {
  reg = fakeTimeRegistry({ now: T0 });
});

afterEach(() => {
  tearDownFakeTimeRegistry(reg, { restoreMocks: true });
});

/** Lets pending promise callbacks run, without moving the fake clock. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/** A registry on a clock the test sets by hand (timers stay faked and never advance). */
function manualClock(): { clock: { t: number; now(): number }; reg: CircuitBreakerRegistry } {
  const clock = {
    t: T0,
    now(): number {
      return this.t;
    },
  };
  return { clock, reg: createRegistry({ clock }) };
}

// ---------------------------------------------------------------------------------------

describe('what fn is handed', () => {
  it('a function that declares a parameter gets an AbortSignal, on its first call and on later ones', async () => {
    const fn = (signal: AbortSignal) => signal;
    const first = await reg.execute(NAME, fn);
    const second = await reg.execute(NAME, fn);
    expect(first.data).toBeInstanceOf(AbortSignal);
    expect(second.data).toBeInstanceOf(AbortSignal);
    // Each call has its own signal, so aborting one call never touches the next.
    expect(second.data).not.toBe(first.data);
  });
});

// ---------------------------------------------------------------------------------------

describe('rejections while OPEN', () => {
  it('share one CircuitOpenError per open period, even when nothing was ever cached', async () => {
    reg.configure(NAME, { failureThreshold: 1, resetTimeout: 5_000 });
    await reg.execute(NAME, boom);

    const first = await reg.execute(NAME, () => 'fresh');
    const second = await reg.execute(NAME, () => 'fresh');
    expect(first).toMatchObject({ success: false, rejected: true, fromCache: false, circuitState: CircuitState.OPEN });
    expect(first.error).toBeInstanceOf(CircuitOpenError);
    expect(second.error).toBe(first.error);
  });

  it('tripping the circuit to the time it already has starts no new period', async () => {
    reg.configure(NAME, { failureThreshold: 1, resetTimeout: 5_000 });
    await reg.execute(NAME, boom);
    const before = await reg.execute(NAME, () => 'fresh');

    reg.tripCircuit(NAME, new Date(T0 + 5_000));

    const after = await reg.execute(NAME, () => 'fresh');
    expect(after.error).toBe(before.error);
    expect(reg.getStats(NAME)).toMatchObject({ timesOpened: 1, nextAttemptTime: new Date(T0 + 5_000) });
    // Still probing on the original schedule.
    vi.advanceTimersByTime(5_000);
    expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);
  });
});

// ---------------------------------------------------------------------------------------

describe('the user moving the circuit from a listener', () => {
  it('a call that half-opens a circuit whose half-open listener closes it runs as a CLOSED call', async () => {
    reg.configure(NAME, { failureThreshold: 1, resetTimeout: 5_000 });
    await reg.execute(NAME, boom);
    reg.on('circuit:half-open', () => reg.closeCircuit(NAME));

    // The clock moves without the reopen timer firing: the call itself finds the period over.
    vi.setSystemTime(T0 + 5_000);
    const result = await reg.execute(NAME, () => 'fresh');

    expect(result).toMatchObject({ success: true, data: 'fresh', circuitState: CircuitState.CLOSED });
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
  });
});

// ---------------------------------------------------------------------------------------

describe('bulkhead refusals and the fallback cache', () => {
  it('a waiting call the circuit refuses when its turn comes is answered from the cache', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 1, failureThreshold: 1 });
    await reg.execute(NAME, () => 'cached');
    const used = vi.fn();
    reg.on('fallback:used', used);

    const running = deferred<string>();
    const first = reg.execute(NAME, () => running.promise);
    const fresh = vi.fn(() => 'fresh');
    const waiting = reg.execute(NAME, fresh);
    // The running call's failure opens the circuit and hands its slot to the waiting call.
    running.reject(new Error('down'));
    await first;

    expect(await waiting).toMatchObject({
      success: true,
      data: 'cached',
      fromCache: true,
      rejected: true,
      circuitState: CircuitState.OPEN,
    });
    expect(fresh).not.toHaveBeenCalled();
    expect(used).toHaveBeenCalledTimes(1);
  });

  it('a call refused by a full bulkhead with nothing cached gets the bulkhead error', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 0 });
    const running = deferred<string>();
    const first = reg.execute(NAME, () => running.promise);

    const refused = await reg.execute(NAME, () => 'fresh');
    expect(refused).toMatchObject({ success: false, rejected: true, fromCache: false });
    expect(refused.error).toBeInstanceOf(BulkheadRejectedError);

    running.resolve('done');
    await first;
  });

  it('fallback:used is emitted only when the cache has the refused call\'s entry', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 0 });
    await reg.execute(NAME, () => 'A', { cacheKey: 'a' });
    const used = vi.fn();
    reg.on('fallback:used', used);
    const running = deferred<string>();
    const first = reg.execute(NAME, () => running.promise);

    const miss = await reg.execute(NAME, () => 'fresh', { cacheKey: 'b' });
    expect(miss.error).toBeInstanceOf(BulkheadRejectedError);
    expect(used).not.toHaveBeenCalled();

    const hit = await reg.execute(NAME, () => 'fresh', { cacheKey: 'a' });
    expect(hit).toMatchObject({ success: true, data: 'A', fromCache: true });
    expect(used).toHaveBeenCalledTimes(1);

    running.resolve('done');
    await first;
  });

  it('a caller who gives up on a running call is charged the time it ran; one who gives up waiting, none', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 1 });
    const runningAbort = new AbortController();
    const waitingAbort = new AbortController();
    const running = track(reg.execute(NAME, () => hang(), { signal: runningAbort.signal }));
    const neverRun = vi.fn(() => 'fresh');
    const waiting = track(reg.execute(NAME, neverRun, { signal: waitingAbort.signal }));

    vi.advanceTimersByTime(300);
    // The waiting caller first, so that no slot frees for it.
    waitingAbort.abort(new Error('gave up waiting'));
    runningAbort.abort(new Error('gave up'));
    await flush();

    expect(running.result).toMatchObject({ success: false, executionTime: 300 });
    expect(waiting.result).toMatchObject({ success: false, executionTime: 0 });
    expect(neverRun).not.toHaveBeenCalled();
    expect(reg.getStats(NAME)).toMatchObject({ failedRequests: 2, avgResponseTime: 300 });
  });
});

// ---------------------------------------------------------------------------------------

describe('wrapClient writes and the fallback cache', () => {
  it('a method that is not cacheable takes no room from the cached reads', async () => {
    reg.configure(NAME, { fallbackMaxEntries: 1 });
    const client = {
      get: async (id: number) => `page ${id}`,
      update: async () => 'saved',
    };
    const wrapped = reg.wrapClient(NAME, client, { cacheable: (path) => path === 'get' });

    await wrapped.get(1);
    await wrapped.update();
    reg.openCircuit(NAME);

    await expect(wrapped.get(1)).resolves.toBe('page 1');
  });
});

// ---------------------------------------------------------------------------------------

describe('rate rules changed by configure', () => {
  it('turning every rate rule off and on again starts from an empty rate window', async () => {
    reg.configure(NAME, { failureThreshold: Infinity, failureRateThreshold: 0.5, minimumRequests: 2 });
    reg.configure(NAME, { failureRateThreshold: undefined });
    await reg.execute(NAME, boom);
    await reg.execute(NAME, boom);

    reg.configure(NAME, { failureRateThreshold: 0.5 });
    await reg.execute(NAME, () => 'ok');

    // Only the success counts in the new window: below minimumRequests, nothing to judge.
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
    await reg.execute(NAME, boom);
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
  });

  it('a call still running when the slow-call rule is turned off times out as usual', async () => {
    reg.configure(NAME, { slowCallDuration: 500, minimumRequests: 1, requestTimeout: 2_000 });
    const result = track(reg.execute(NAME, hang));
    reg.configure(NAME, { slowCallDuration: Infinity });

    await vi.advanceTimersByTimeAsync(2_000);

    expect(result.settled).toBe(true);
    expect(result.result?.error).toBeInstanceOf(TimeoutError);
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
  });

  it('a call that fails after the slow-call rule was turned off leaves no timer behind', async () => {
    reg.configure(NAME, { slowCallDuration: 500, requestTimeout: Infinity, failureThreshold: 10 });
    const running = deferred<string>();
    const result = reg.execute(NAME, () => running.promise);
    reg.configure(NAME, { slowCallDuration: Infinity });

    running.reject(new Error('down'));
    expect(await result).toMatchObject({ success: false });
    expect(vi.getTimerCount()).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------

describe('slow calls', () => {
  it('a call of a period that ended (by reset) becoming slow later opens nothing', async () => {
    reg.configure(NAME, { slowCallDuration: 500, minimumRequests: 1, requestTimeout: Infinity });
    const running = deferred<string>();
    const result = reg.execute(NAME, () => running.promise);
    reg.reset(NAME);

    vi.advanceTimersByTime(500);

    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
    expect(reg.getStats(NAME)!.timesOpened).toBe(0);
    running.resolve('late');
    await result;
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
  });

  it('a call that completes exactly at slowCallDuration counts as slow', async () => {
    const own = manualClock();
    try {
      own.reg.configure(NAME, { slowCallDuration: 500, minimumRequests: 1, requestTimeout: Infinity });
      const running = deferred<string>();
      const result = own.reg.execute(NAME, () => running.promise);

      // Completing at that very instant, before any timer had its turn.
      own.clock.t = T0 + 500;
      running.resolve('ok');
      expect(await result).toMatchObject({ success: true, data: 'ok' });

      expect(own.reg.getState(NAME)).toBe(CircuitState.OPEN);
    } finally {
      own.reg.destroy();
    }
  });
});

// ---------------------------------------------------------------------------------------

describe('a clock that steps back', () => {
  it('a call that ends before it started by the clock took no time, not a negative one', async () => {
    const own = manualClock();
    try {
      const running = deferred<string>();
      const result = own.reg.execute(NAME, () => running.promise);

      own.clock.t = T0 - 100;
      running.resolve('ok');

      expect(await result).toMatchObject({ success: true, executionTime: 0 });
      expect(own.reg.getStats(NAME)!.avgResponseTime).toBe(0);
    } finally {
      own.reg.destroy();
    }
  });
});

// ---------------------------------------------------------------------------------------

describe("the caller's signal", () => {
  it('a call that timed out stays timed out when aborting its signal aborts the caller too', async () => {
    reg.configure(NAME, { requestTimeout: 1_000 });
    const caller = new AbortController();
    // fn ties the caller's work to its own: when the call is cancelled, so is the caller.
    const fn = (signal: AbortSignal) => {
      signal.addEventListener('abort', () => caller.abort(new Error('cancelled with it')));
      return hang();
    };
    const result = track(reg.execute(NAME, fn, { signal: caller.signal }));

    await vi.advanceTimersByTimeAsync(1_000);

    expect(caller.signal.aborted).toBe(true);
    expect(result.result?.error).toBeInstanceOf(TimeoutError);
    expect(reg.getStats(NAME)).toMatchObject({ failedRequests: 1, consecutiveFailures: 1 });
  });

  it('a signal look-alike that cannot remove a listener is refused up front, before fn runs', async () => {
    // Without removeEventListener the breaker could never let go of the caller's signal.
    const signal = { aborted: false, addEventListener: () => {} };
    const fn = vi.fn(() => Promise.resolve('ok'));
    let outcome: unknown = 'pending';
    reg.execute(NAME, fn, { signal: signal as unknown as AbortSignal }).then(
      (result) => (outcome = result),
      (error: unknown) => (outcome = error),
    );
    await flush();

    expect(outcome).toBeInstanceOf(TypeError);
    expect((outcome as TypeError).message).toBe('execute: options.signal must be an AbortSignal, got [object Object]');
    expect(fn).not.toHaveBeenCalled();
    expect(reg.getStats(NAME)).toBeNull();
  });

  it('an abort that arrives after the result changes nothing, even from a signal that keeps its listeners', async () => {
    // An AbortSignal look-alike whose removeEventListener does not remove: the late abort
    // still reaches the breaker's listener.
    const listeners: Array<() => void> = [];
    const signal = {
      aborted: false,
      reason: undefined as unknown,
      addEventListener: (_type: string, listener: () => void) => void listeners.push(listener),
      removeEventListener: () => {},
    };
    const failures = vi.fn();
    reg.on('request:failure', failures);

    const result = await reg.execute(NAME, () => Promise.resolve('ok'), {
      signal: signal as unknown as AbortSignal,
      timeout: Infinity,
    });
    signal.aborted = true;
    signal.reason = new Error('too late');
    for (const listener of listeners) listener();

    expect(result).toMatchObject({ success: true, data: 'ok' });
    expect(failures).not.toHaveBeenCalled();
    expect(reg.getStats(NAME)).toMatchObject({ successfulRequests: 1, failedRequests: 0 });
  });
});

// ---------------------------------------------------------------------------------------

describe('retryAfter', () => {
  it('is not asked about the failure of a call from a period that already ended', async () => {
    const retryAfter = vi.fn(() => undefined);
    reg.configure(NAME, { retryAfter, requestTimeout: Infinity });
    const running = deferred<string>();
    const result = reg.execute(NAME, () => running.promise);
    reg.reset(NAME);

    running.reject(new Error('late'));
    await result;
    expect(retryAfter).not.toHaveBeenCalled();

    // A failure of the current period is asked about.
    await reg.execute(NAME, boom);
    expect(retryAfter).toHaveBeenCalledTimes(1);
  });
});
