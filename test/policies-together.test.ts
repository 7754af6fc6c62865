/**
 * The outcome and opening rules together with the composition (bulkhead, retry, fallback):
 * where one policy's decision is another's input.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitState, TimeoutError, type CircuitBreakerRegistry } from '../src/index.js';
import { NAME, SMALL_DEFAULTS, T0, deferred, fakeTimeRegistry, tearDownFakeTimeRegistry, track } from './helpers.js';

let reg: CircuitBreakerRegistry;

beforeEach(() => {
  reg = fakeTimeRegistry({ now: T0, registry: { defaults: SMALL_DEFAULTS } });
});

afterEach(() => {
  tearDownFakeTimeRegistry(reg);
});

class NotFound extends Error {
  readonly status = 404;
}

/** Runs `promise` to the end, moving fake time from timer to timer. */
async function settle<T>(promise: Promise<T>): Promise<T> {
  const t = track(promise as Promise<never>);
  for (let i = 0; i < 100 && !t.settled; i++) await vi.advanceTimersToNextTimerAsync();
  if (!t.settled) throw new Error('the call never settled');
  return promise;
}

describe('retry with isFailure', () => {
  it('does not retry an error isFailure waves through (the request was at fault), by default', async () => {
    reg.configure(NAME, { isFailure: (error) => !(error instanceof NotFound) });
    const fn = vi.fn(() => Promise.reject(new NotFound('no such page')));
    const result = await settle(reg.execute(NAME, fn, { retry: 3 }));
    expect(fn).toHaveBeenCalledTimes(1);
    expect(result).toMatchObject({ success: false, attempts: 1 });
    expect(result.error).toBeInstanceOf(NotFound);
    expect(reg.getStats(NAME)).toMatchObject({ ignoredFailures: 1, retries: 0 });
  });

  it('retries a counted failure under the same isFailure', async () => {
    reg.configure(NAME, { isFailure: (error) => !(error instanceof NotFound) });
    const fn = vi.fn().mockRejectedValueOnce(new Error('HTTP 503')).mockResolvedValueOnce('page');
    const result = await settle(reg.execute(NAME, fn, { retry: 3 }));
    expect(fn).toHaveBeenCalledTimes(2);
    expect(result).toMatchObject({ success: true, data: 'page', attempts: 2 });
  });

  it('an explicit retryIf decides, even for an ignored error', async () => {
    reg.configure(NAME, { isFailure: () => false });
    const fn = vi.fn().mockRejectedValueOnce(new NotFound('not yet')).mockResolvedValueOnce('page');
    const result = await settle(reg.execute(NAME, fn, { retry: { attempts: 2, retryIf: (e) => e instanceof NotFound } }));
    expect(result).toMatchObject({ success: true, data: 'page', attempts: 2 });
  });
});

describe('the per-call timeout with retry', () => {
  it('each try gets the call\'s own timeout, not requestTimeout', async () => {
    const starts: number[] = [];
    const fn = vi.fn(() => {
      starts.push(Date.now());
      return new Promise<never>(() => {});
    });
    const result = await settle(reg.execute(NAME, fn, { timeout: 50, retry: { attempts: 2, minDelay: 10, jitter: false } }));
    expect(fn).toHaveBeenCalledTimes(2);
    expect(result.error).toBeInstanceOf(TimeoutError);
    expect((result.error as TimeoutError).timeout).toBe(50);
    // First try: 50 ms, then the 10 ms delay; the second try starts 60 ms after the first.
    expect(starts[1]! - starts[0]!).toBe(60);
  });
});

/** One slot, one place in line, and a slow-call rule that opens when half of 2 calls are slow. */
const ONE_SLOT_SLOW_CALLS = {
  maxConcurrent: 1,
  maxQueue: 1,
  failureThreshold: Infinity,
  slowCallDuration: 100,
  slowCallRateThreshold: 0.5,
  minimumRequests: 2,
  requestTimeout: 10_000,
};

describe('bulkhead with the outcome rules', () => {
  it('an ignored failure hands its slot back and starts the waiting call', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 1, isFailure: () => false });
    const first = deferred();
    const a = track(reg.execute(NAME, () => first.promise));
    const second = vi.fn(async () => 'b');
    const b = track(reg.execute(NAME, second));
    await vi.advanceTimersByTimeAsync(0);
    expect(second).not.toHaveBeenCalled();
    first.reject(new NotFound('gone'));
    await vi.advanceTimersByTimeAsync(0);
    expect(a.result).toMatchObject({ success: false });
    expect(second).toHaveBeenCalledTimes(1);
    expect(b.result).toMatchObject({ success: true, data: 'b' });
    expect(reg.getStats(NAME)).toMatchObject({ ignoredFailures: 1, failedRequests: 1, successfulRequests: 1 });
  });

  it('a bad value (isResultFailure) hands its slot back too', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 1, isResultFailure: (v) => v === 'bad' });
    const first = deferred();
    const a = track(reg.execute(NAME, () => first.promise));
    const b = track(reg.execute(NAME, async () => 'good'));
    first.resolve('bad');
    await vi.advanceTimersByTimeAsync(0);
    expect(a.result).toMatchObject({ success: false });
    expect(b.result).toMatchObject({ success: true, data: 'good' });
  });

  it('a call that waited for a slot is slow only by its own running time', async () => {
    reg.configure(NAME, ONE_SLOT_SLOW_CALLS);
    const first = deferred();
    const a = track(reg.execute(NAME, () => first.promise));
    const second = deferred();
    const b = track(reg.execute(NAME, () => second.promise));
    // The first runs 90 ms (not slow); the second waited 90 ms, then runs 90 ms: 180 ms since
    // it was made, but not slow, so the circuit stays closed.
    await vi.advanceTimersByTimeAsync(90);
    first.resolve('a');
    await vi.advanceTimersByTimeAsync(90);
    second.resolve('b');
    await vi.advanceTimersByTimeAsync(0);
    expect([a.result?.success, b.result?.success]).toEqual([true, true]);
    expect(b.result!.executionTime).toBe(180);
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
  });

  it('a call that waited for a slot and then runs past slowCallDuration is slow, while still running', async () => {
    reg.configure(NAME, ONE_SLOT_SLOW_CALLS);
    const first = deferred();
    track(reg.execute(NAME, () => first.promise));
    const second = deferred();
    const b = track(reg.execute(NAME, () => second.promise));
    await vi.advanceTimersByTimeAsync(90);
    first.resolve('a');
    // The second starts now; 100 ms later it is slow: 1 of 2 seen, the circuit opens.
    await vi.advanceTimersByTimeAsync(99);
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
    await vi.advanceTimersByTimeAsync(1);
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
    second.resolve('b');
    await vi.advanceTimersByTimeAsync(0);
    expect(b.result).toMatchObject({ success: true, data: 'b' });
  });
});
