/**
 * Edges of the policies around a call: how a retry meets the caller's signal, the retry
 * budget when its window changes, the errors of the bulkhead and of a bad value.
 *
 * Source of truth: /work/shared/POLICIES.md sections 3 to 5, docs/decisions.md ("Retry",
 * "Bulkhead").
 */
import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BulkheadRejectedError,
  ResultFailureError,
  createRegistry,
  type CircuitBreakerRegistry,
  type ExecutionResult,
} from '../src/index.js';
import { boom, fakeTimeRegistry, hang, NAME, settle, SMALL_DEFAULTS, T0, tearDownFakeTimeRegistry, track } from './helpers.js';

let reg: CircuitBreakerRegistry;

beforeEach(() => {
  reg = fakeTimeRegistry({ now: T0, registry: { defaults: SMALL_DEFAULTS } });
});

afterEach(() => {
  tearDownFakeTimeRegistry(reg);
});

describe('retry and the caller\'s signal', () => {
  it('a caller who aborts from a request:retry listener gets the abort at once: no delay waited, no further try', async () => {
    const controller = new AbortController();
    const reason = new Error('user cancelled');
    reg.on('request:retry', () => controller.abort(reason));
    const fn = vi.fn(boom);
    const pending = track(reg.execute(NAME, fn, { signal: controller.signal, retry: { attempts: 3, jitter: false, minDelay: 1_000 } }));
    await vi.advanceTimersByTimeAsync(0);
    expect(pending.result).toMatchObject({ success: false, rejected: false, error: reason, attempts: 1 });
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(reg.getStats(NAME)).toMatchObject({ totalRequests: 1, failedRequests: 1, retries: 1 });
  });

  it('a caller who aborts a running try gets no retry announced or counted', async () => {
    const controller = new AbortController();
    const retries: unknown[] = [];
    reg.on('request:retry', (...args) => retries.push(args));
    const pending = track(reg.execute(NAME, hang, { signal: controller.signal, retry: { attempts: 3, jitter: false } }));
    await vi.advanceTimersByTimeAsync(10);
    const reason = new Error('stop');
    controller.abort(reason);
    await vi.advanceTimersByTimeAsync(0);
    // The try's own result, which timed the 10 ms the service had the request.
    expect(pending.result).toMatchObject({ success: false, error: reason, attempts: 1, executionTime: 10 });
    expect(retries).toEqual([]);
    expect(reg.getStats(NAME)!.retries).toBe(0);
  });

  // A long-lived signal (a server's shutdown signal, say) is shared by many calls: any
  // listener a call left on it would pile up, and Node warns past 10.
  it('leaves no listener on the caller\'s signal once a retried call has succeeded', async () => {
    const controller = new AbortController();
    let calls = 0;
    const flaky = () => (++calls === 1 ? Promise.reject(new Error('once')) : Promise.resolve('ok'));
    const result = await settle(reg.execute(NAME, flaky, { signal: controller.signal, retry: { attempts: 2, jitter: false } }));
    expect(result).toMatchObject({ success: true, data: 'ok', attempts: 2 });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('leaves no listener on the caller\'s signal once it aborted during a retry delay', async () => {
    const controller = new AbortController();
    const pending = track(reg.execute(NAME, boom, { signal: controller.signal, retry: { attempts: 3, jitter: false, minDelay: 1_000 } }));
    await vi.advanceTimersByTimeAsync(500);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort(new Error('stop'));
    await vi.advanceTimersByTimeAsync(0);
    expect(pending.result).toMatchObject({ success: false, attempts: 1 });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('the retry budget over time', () => {
  /** `n` calls to a dead service, one after the other, each with up to 2 tries; returns the tries made. */
  async function deadCalls(registry: CircuitBreakerRegistry, n: number): Promise<number> {
    const dead = vi.fn(boom);
    for (let i = 0; i < n; i++) await settle(registry.execute(NAME, dead, { retry: { attempts: 2, minDelay: 0 } }));
    return dead.mock.calls.length;
  }

  it('retries older than failureWindow no longer count, wherever in the window they were made', async () => {
    reg.configure(NAME, { failureThreshold: 1_000_000, retryBudget: 0, failureWindow: 10_000 });
    expect(await deadCalls(reg, 5)).toBe(8); // the 3 retries always allowed
    // Half a window more than a whole one: the new calls fall in another bucket than the old.
    await vi.advanceTimersByTimeAsync(15_000);
    expect(await deadCalls(reg, 5)).toBe(8);
  });

  // A clock near 0 is what fake timers installed with their defaults give (sinon's start at 0).
  it('a new failureWindow forgets the retries counted under the old one, on a clock that starts at 0', async () => {
    vi.setSystemTime(0);
    const own = createRegistry({ defaults: { ...SMALL_DEFAULTS, failureThreshold: 1_000_000, retryBudget: 0, failureWindow: 10_000 } });
    try {
      expect(await deadCalls(own, 5)).toBe(8);
      await vi.advanceTimersByTimeAsync(2_500);
      own.configure(NAME, { failureWindow: 20_000 });
      expect(await deadCalls(own, 5)).toBe(8);
    } finally {
      own.destroy();
    }
  });
});

describe('the bulkhead\'s refusal', () => {
  /** Fills the `slots` slots of NAME with calls that never settle. */
  function fill(slots: number): void {
    for (let i = 0; i < slots; i++) void reg.execute(NAME, hang, { timeout: Infinity });
  }

  async function refusal(): Promise<BulkheadRejectedError> {
    const result = await reg.execute(NAME, () => 'never run');
    expect(result).toMatchObject({ success: false, rejected: true });
    expect(result.error).toBeInstanceOf(BulkheadRejectedError);
    return result.error as BulkheadRejectedError;
  }

  it('says which executor is full and its limits', async () => {
    reg.configure(NAME, { maxConcurrent: 2, cacheFallback: false });
    fill(2);
    const error = await refusal();
    expect(error.message).toBe('Bulkhead of "svc" is full: 2 calls running and 0 waiting');
    expect(error).toMatchObject({ executorName: NAME, maxConcurrent: 2, maxQueue: 0 });
  });

  it('is one error shared by the refused calls, kept when a configure leaves the limits as they were', async () => {
    reg.configure(NAME, { maxConcurrent: 1, cacheFallback: false });
    fill(1);
    const first = await refusal();
    reg.configure(NAME, { failureThreshold: 10 });
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 0 });
    expect(await refusal()).toBe(first);
  });

  it.each([
    ['maxConcurrent', { maxConcurrent: 2 }, 'Bulkhead of "svc" is full: 2 calls running and 0 waiting'],
    ['maxQueue', { maxQueue: 1 }, 'Bulkhead of "svc" is full: 1 calls running and 1 waiting'],
  ])('reports the new %s after a configure that changes only it', async (_label, change, message) => {
    reg.configure(NAME, { maxConcurrent: 1, cacheFallback: false });
    fill(1);
    expect(await refusal()).toMatchObject({ maxConcurrent: 1, maxQueue: 0 });
    reg.configure(NAME, change);
    fill(1);
    const error = await refusal();
    expect(error).toMatchObject({ maxConcurrent: 1, maxQueue: 0, ...change });
    expect(error.message).toBe(message);
  });
});

describe('a value isResultFailure judges a failure', () => {
  it('fails the call with a ResultFailureError that says why and keeps the value', async () => {
    reg.configure(NAME, { isResultFailure: (value) => (value as { status: number }).status === 503 });
    const response = { status: 503 };
    const result: ExecutionResult<unknown> = await reg.execute(NAME, () => response);
    expect(result.success).toBe(false);
    expect(result.error).toBeInstanceOf(ResultFailureError);
    expect(result.error).toMatchObject({
      name: 'ResultFailureError',
      message: 'The call produced a value that isResultFailure judged a failure',
      value: response,
    });
  });
});
