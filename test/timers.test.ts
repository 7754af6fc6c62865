/**
 * Timers: what the library leaves on the event loop, how many deadline timers many calls
 * cost, that the OPEN -> HALF_OPEN timer never keeps a process alive, and destroy().
 * The same in a real `node` process, on the built package: test/timers-process.test.ts.
 *
 * Source of truth: /work/shared/CONTRACT.md ("States and transitions", "execute", "Time")
 * and docs/decisions.md ("Half-open", "Timeouts and signals" > Timers, "Lifetime").
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CircuitState,
  TimeoutError,
  createRegistry,
  type CircuitBreakerRegistry,
  type RegistryOptions,
} from '../src/index.js';
import {
  NAME,
  REQUEST_TIMEOUT,
  RESET_TIMEOUT,
  SMALL_DEFAULTS,
  T0,
  deferred,
  fakeTimeRegistry,
  track,
} from './helpers.js';

let reg: CircuitBreakerRegistry;

afterEach(() => {
  vi.restoreAllMocks(); // before useRealTimers, so a spy never reinstalls a fake function
  reg?.destroy();
  vi.useRealTimers();
});

// ---------------------------------------------------------------------------- helpers

/**
 * Never settles. Unlike helpers.ts's hang it names the signal parameter, so each call
 * gets an AbortSignal (it declares a parameter): the two are not interchangeable.
 */
const hang = (_signal: AbortSignal) => new Promise<never>(() => {});

/** Fails `n` times in a row by throwing synchronously (helpers.ts's failTimes rejects). */
async function failTimes(n: number, name = NAME): Promise<void> {
  for (let i = 0; i < n; i++) {
    await reg.execute(name, () => {
      throw new Error('down');
    });
  }
}

/** Spies on the global setTimeout (the fake one when fake timers are on), calling through. */
function spyOnSetTimeout() {
  return vi.spyOn(globalThis, 'setTimeout');
}

/** Fake timers from T0 and a registry with the small defaults, or with `options` laid over them. */
function useFakeTimeRegistry(options: RegistryOptions = {}) {
  reg = fakeTimeRegistry({ now: T0, registry: { defaults: SMALL_DEFAULTS, ...options } });
}

// ---------------------------------------------------------------------------- nothing left behind

describe('no timer is left once calls have settled and circuits are closed', () => {
  beforeEach(() => useFakeTimeRegistry());

  it('leaves zero timers after a mix of sync, async, slow and failing calls', async () => {
    const slow = deferred<string>();
    const calls = Promise.all([
      reg.execute(NAME, () => 'sync'),
      reg.execute(NAME, async () => 'async'),
      reg.execute(NAME, () => slow.promise),
      reg.execute(NAME, async () => {
        throw new Error('failed');
      }),
      reg.execute('other', (signal) => Promise.resolve(signal.aborted)),
    ]);
    await vi.advanceTimersByTimeAsync(300);
    slow.resolve('slow');
    const results = await calls;

    expect(results.map((r) => r.success)).toEqual([true, true, true, false, true]);
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('clears the deadline timer as soon as fn settles', async () => {
    const slow = deferred<string>();
    const call = reg.execute(NAME, () => slow.promise);
    await vi.advanceTimersByTimeAsync(0); // one loop turn: the deadline timer is armed
    expect(vi.getTimerCount()).toBe(1);

    await vi.advanceTimersByTimeAsync(200);
    slow.resolve('done');
    expect((await call).data).toBe('done');

    expect(vi.getTimerCount()).toBe(0); // without advancing the clock any further
  });

  it('calls started together cost one setTimeout between them, cleared with the last (fake timers arm at once)', async () => {
    // Under real timers such calls cost no timer at all: test/fake-timers.test.ts.
    const setTimeoutSpy = spyOnSetTimeout();
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => reg.execute(NAME, async (signal) => (signal.aborted ? -1 : i))),
    );
    expect(results.every((r) => r.success)).toBe(true);
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a timed-out call leaves no timer behind (circuit still closed)', async () => {
    const call = reg.execute(NAME, hang);
    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT);
    expect((await call).error).toBeInstanceOf(TimeoutError);
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
    expect(vi.getTimerCount()).toBe(0);
  });
});

// ---------------------------------------------------------------------------- one timer per executor

describe('the running calls of an executor share one deadline timer', () => {
  beforeEach(() => useFakeTimeRegistry({ defaults: { failureThreshold: 20_000, requestTimeout: REQUEST_TIMEOUT } }));

  it('10,000 concurrent hanging calls cost at most two timers and all time out at requestTimeout', async () => {
    const setTimeoutSpy = spyOnSetTimeout();
    const calls = Array.from({ length: 10_000 }, () => track(reg.execute(NAME, hang)));
    expect(vi.getTimerCount()).toBeLessThanOrEqual(2);

    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT - 1);
    expect(vi.getTimerCount()).toBeLessThanOrEqual(2);
    expect(setTimeoutSpy.mock.calls.length).toBeLessThanOrEqual(2);
    expect(calls.filter((c) => c.settled)).toHaveLength(0);

    await vi.advanceTimersByTimeAsync(1);
    expect(calls.filter((c) => c.settled)).toHaveLength(10_000);
    const wrong = calls.filter(
      (c) =>
        c.result!.success ||
        !(c.result!.error instanceof TimeoutError) ||
        c.result!.executionTime !== REQUEST_TIMEOUT,
    );
    expect(wrong).toHaveLength(0);
    expect(setTimeoutSpy.mock.calls.length).toBeLessThanOrEqual(2);
    expect(vi.getTimerCount()).toBe(0);
    expect(reg.getStats(NAME)!.failedRequests).toBe(10_000);
  });

  it('calls started at different times each time out at their own deadline, still with one timer', async () => {
    const setTimeoutSpy = spyOnSetTimeout();
    const batches: ReturnType<typeof track>[][] = [];
    for (let b = 0; b < 3; b++) {
      batches.push(Array.from({ length: 1_000 }, () => track(reg.execute(NAME, hang))));
      expect(vi.getTimerCount()).toBeLessThanOrEqual(2);
      await vi.advanceTimersByTimeAsync(300); // batches start at t = 0, 300, 600
    }
    const settledPerBatch = () => batches.map((batch) => batch.filter((c) => c.settled).length);

    // now t = 900
    await vi.advanceTimersByTimeAsync(99);
    expect(settledPerBatch()).toEqual([0, 0, 0]);
    await vi.advanceTimersByTimeAsync(1); // t = 1000
    expect(settledPerBatch()).toEqual([1_000, 0, 0]);
    expect(vi.getTimerCount()).toBeLessThanOrEqual(2);
    await vi.advanceTimersByTimeAsync(299); // t = 1299
    expect(settledPerBatch()).toEqual([1_000, 0, 0]);
    await vi.advanceTimersByTimeAsync(1); // t = 1300
    expect(settledPerBatch()).toEqual([1_000, 1_000, 0]);
    await vi.advanceTimersByTimeAsync(300); // t = 1600
    expect(settledPerBatch()).toEqual([1_000, 1_000, 1_000]);

    for (const batch of batches) {
      expect(batch.every((c) => c.result!.executionTime === REQUEST_TIMEOUT)).toBe(true);
    }
    expect(setTimeoutSpy.mock.calls.length).toBeLessThanOrEqual(4); // one per deadline, not per call
    expect(vi.getTimerCount()).toBe(0);
  });

  it('when a mass timeout opens the circuit, only the reopen timer remains and it opens once', async () => {
    reg.configure(NAME, { failureThreshold: 5 });
    const calls = Array.from({ length: 2_000 }, () => track(reg.execute(NAME, hang)));
    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT);

    expect(calls.every((c) => c.settled)).toBe(true);
    const stats = reg.getStats(NAME)!;
    expect(stats.state).toBe(CircuitState.OPEN);
    expect(stats.timesOpened).toBe(1); // the later timeouts belong to the old generation
    expect(stats.failedRequests).toBe(2_000);
    expect(vi.getTimerCount()).toBe(1);
  });
});

// ---------------------------------------------------------------------------- unref

describe('the OPEN -> HALF_OPEN timer never keeps the process alive', () => {
  it('is unref\'d (fake timers: the handle reports hasRef() === false)', async () => {
    useFakeTimeRegistry();
    const setTimeoutSpy = spyOnSetTimeout();
    await failTimes(3);
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);

    const index = setTimeoutSpy.mock.calls.findIndex(([, delay]) => delay === RESET_TIMEOUT);
    expect(index).toBeGreaterThanOrEqual(0);
    const handle = setTimeoutSpy.mock.results[index]!.value as { hasRef(): boolean };
    expect(handle.hasRef()).toBe(false);

    // ... and it still does its job.
    await vi.advanceTimersByTimeAsync(RESET_TIMEOUT);
    expect(reg.isHalfOpen(NAME)).toBe(true);
  });

  it("is unref'd (real timers: Node's Timeout handle)", async () => {
    reg = createRegistry({ defaults: { failureThreshold: 1, resetTimeout: 60_000 } });
    const setTimeoutSpy = spyOnSetTimeout();
    await failTimes(1);
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);

    const index = setTimeoutSpy.mock.calls.findIndex(([, delay]) => delay === 60_000);
    expect(index).toBeGreaterThanOrEqual(0);
    const handle = setTimeoutSpy.mock.results[index]!.value as NodeJS.Timeout;
    expect(handle.hasRef()).toBe(false);
    // afterEach destroys the registry, which clears it.
  });

  it('while calls run, the deadline timer does keep the process alive (it is ref\'d)', async () => {
    useFakeTimeRegistry();
    const setTimeoutSpy = spyOnSetTimeout();
    const call = reg.execute(NAME, hang);
    await vi.advanceTimersByTimeAsync(0);

    const index = setTimeoutSpy.mock.calls.findIndex(([, delay]) => delay === REQUEST_TIMEOUT);
    expect(index).toBeGreaterThanOrEqual(0);
    expect((setTimeoutSpy.mock.results[index]!.value as { hasRef(): boolean }).hasRef()).toBe(true);
    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT);
    await call;
  });
});

// ---------------------------------------------------------------------------- destroy

describe('destroy()', () => {
  beforeEach(() => useFakeTimeRegistry());

  it('leaves zero timers: reopen timer, deadline timers and a pending arming turn all go', async () => {
    reg.configure('broken', { failureThreshold: 1 });
    await failTimes(1, 'broken'); // OPEN: a reopen timer
    reg.execute(NAME, hang); // running: a deadline timer once armed
    await vi.advanceTimersByTimeAsync(0);
    reg.execute('third', hang); // running: its arming turn is still pending
    expect(vi.getTimerCount()).toBeGreaterThanOrEqual(3);

    reg.destroy();

    expect(vi.getTimerCount()).toBe(0);
  });

  it('calls still running resolve with their own outcome', async () => {
    const willSucceed = deferred<string>();
    const willFail = deferred<string>();
    const boom = new Error('own failure');
    const ok = track(reg.execute(NAME, () => willSucceed.promise));
    const ko = track(reg.execute(NAME, () => willFail.promise));
    await vi.advanceTimersByTimeAsync(100); // their deadline timer is armed

    reg.destroy();
    willSucceed.resolve('own value');
    willFail.reject(boom);
    await vi.advanceTimersByTimeAsync(0);

    expect(ok.settled).toBe(true);
    expect(ok.result).toMatchObject({ success: true, data: 'own value', rejected: false });
    expect(ko.settled).toBe(true);
    expect(ko.result).toMatchObject({ success: false, rejected: false });
    expect(ko.result!.error).toBe(boom);
  });

  it('calls still running no longer time out, count or emit', async () => {
    const events = vi.fn();
    reg.on('request:failure', events);
    reg.on('request:success', events);
    const slow = deferred<string>();
    const stuck = track(reg.execute(NAME, () => slow.promise));
    await vi.advanceTimersByTimeAsync(0);

    reg.destroy();
    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT * 5);

    expect(stuck.settled).toBe(false);
    expect(events).not.toHaveBeenCalled();
    expect(reg.getExecutors()).toEqual([]);
  });

  it('leaves the registry usable, starting afresh', async () => {
    reg.configure(NAME, { failureThreshold: 1 });
    await failTimes(1);
    reg.destroy();

    expect(reg.getState(NAME)).toBeNull();
    const result = await reg.execute(NAME, async () => 'again');
    expect(result).toMatchObject({ success: true, data: 'again', circuitState: CircuitState.CLOSED });
    await failTimes(1);
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED); // the old configuration is gone (threshold 3)
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
