/**
 * Retry that respects the circuit (the `retry` option and configuration key), its budget,
 * and the fallback function (the `fallback` option and configuration key).
 *
 * Source of truth: /work/shared/POLICIES.md sections 4 and 5, docs/decisions.md ("Retry",
 * "Fallback").
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CircuitOpenError,
  CircuitState,
  TimeoutError,
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

/** A fn that fails `failures` times, then succeeds with 'ok'; counts its calls. */
function failingThenOk(failures: number) {
  return vi.fn(() => {
    const n = fnCalls.count++;
    return n < failures ? Promise.reject(new Error(`fail ${n + 1}`)) : Promise.resolve('ok');
  });
}
const fnCalls = { count: 0 };
beforeEach(() => {
  fnCalls.count = 0;
});

describe('retry', () => {
  it('retries failures with growing delays until a try succeeds; each try is a call through the breaker', async () => {
    const fn = failingThenOk(2);
    const retries: unknown[][] = [];
    reg.on('request:retry', (...args) => retries.push(args));
    const pending = track(reg.execute(NAME, fn, { retry: { attempts: 3, jitter: false, minDelay: 100, factor: 2 } }));
    await vi.advanceTimersByTimeAsync(0);
    expect(fn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(99);
    expect(fn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fn).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(200);
    expect(fn).toHaveBeenCalledTimes(3);
    expect(pending.result).toMatchObject({ success: true, data: 'ok', attempts: 3, fromFallback: false });
    expect(retries).toEqual([
      [NAME, 2, expect.objectContaining({ message: 'fail 1' }), 100],
      [NAME, 3, expect.objectContaining({ message: 'fail 2' }), 200],
    ]);
    expect(reg.getStats(NAME)).toMatchObject({ totalRequests: 3, failedRequests: 2, successfulRequests: 1, retries: 2 });
  });

  it('without retry, attempts is 1 and statistics show no retry', async () => {
    expect(await reg.execute(NAME, boom)).toMatchObject({ attempts: 1 });
    expect(reg.getStats(NAME)!.retries).toBe(0);
  });

  it('stops at the first rejection: the circuit opened, no attempt is burnt on it', async () => {
    reg.configure(NAME, { failureThreshold: 2, cacheFallback: false });
    const fn = vi.fn(boom);
    const result = await settle(reg.execute(NAME, fn, { retry: { attempts: 5, jitter: false } }));
    expect(fn).toHaveBeenCalledTimes(2);
    expect(result).toMatchObject({ success: false, rejected: true, attempts: 3, circuitState: CircuitState.OPEN });
    expect(result.error).toBeInstanceOf(CircuitOpenError);
    expect(reg.getStats(NAME)).toMatchObject({ failedRequests: 2, rejectedRequests: 1, retries: 2 });
  });

  it('a rejection on the first try is the result at once', async () => {
    reg.openCircuit(NAME);
    const fn = vi.fn(() => 'x');
    const result = await reg.execute(NAME, fn, { retry: 4 });
    expect(result).toMatchObject({ rejected: true, attempts: 1 });
    expect(fn).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a rejection answered from the cache ends the retries with the cached data', async () => {
    reg.configure(NAME, { failureThreshold: 1 });
    await reg.execute(NAME, () => 'cached');
    const result = await settle(reg.execute(NAME, boom, { retry: { attempts: 3, jitter: false } }));
    expect(result).toMatchObject({ success: true, data: 'cached', fromCache: true, rejected: true, attempts: 2 });
  });

  it('timeouts are retried', async () => {
    const fn = vi.fn(hang);
    const result = await settle(reg.execute(NAME, fn, { retry: { attempts: 2, jitter: false } }));
    expect(fn).toHaveBeenCalledTimes(2);
    expect(result.error).toBeInstanceOf(TimeoutError);
    expect(result.attempts).toBe(2);
  });

  it('the caller aborting mid-delay ends the retries at once, and no timer is left', async () => {
    const fn = vi.fn(boom);
    const controller = new AbortController();
    const pending = track(reg.execute(NAME, fn, { signal: controller.signal, retry: { attempts: 5, jitter: false, minDelay: 1_000 } }));
    await vi.advanceTimersByTimeAsync(500);
    expect(fn).toHaveBeenCalledTimes(1);
    const reason = new Error('user cancelled');
    controller.abort(reason);
    await vi.advanceTimersByTimeAsync(0);
    expect(pending.result).toMatchObject({ success: false, error: reason, rejected: false, attempts: 1 });
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('the caller aborting a running try ends the retries with the abort', async () => {
    const fn = vi.fn(hang);
    const controller = new AbortController();
    const pending = track(reg.execute(NAME, fn, { signal: controller.signal, retry: 3 }));
    await vi.advanceTimersByTimeAsync(10);
    controller.abort(new Error('stop'));
    await vi.advanceTimersByTimeAsync(0);
    expect(pending.result).toMatchObject({ success: false, attempts: 1 });
    expect(pending.result!.error!.message).toBe('stop');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('retryIf decides which failures are retried; one that throws means no retry', async () => {
    const notFound = Object.assign(new Error('not found'), { status: 404 });
    const fn = vi.fn(() => Promise.reject(notFound));
    const retryIf = vi.fn((error: unknown) => (error as { status?: number }).status !== 404);
    expect(await settle(reg.execute(NAME, fn, { retry: { attempts: 3, retryIf } }))).toMatchObject({ attempts: 1, error: notFound });
    expect(retryIf).toHaveBeenCalledWith(notFound);
    const throwing = () => {
      throw new Error('bug in retryIf');
    };
    expect(await settle(reg.execute(NAME, fn, { retry: { attempts: 3, retryIf: throwing } }))).toMatchObject({ attempts: 1, error: notFound });
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('full jitter draws each delay from [0, ceiling), capped by maxDelay', async () => {
    const delays: number[] = [];
    reg.on('request:retry', (_name, _attempt, _error, delay) => delays.push(delay));
    reg.configure(NAME, { failureThreshold: 100, retryBudget: Infinity });
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.999);
    await settle(reg.execute(NAME, boom, { retry: { attempts: 6, minDelay: 100, maxDelay: 500, factor: 3 } }));
    random.mockRestore();
    expect(delays).toEqual([99, 299, 499, 499, 499]);
  });

  it('the executor\'s retry applies to every call; a call\'s own retry (or false) replaces it', async () => {
    reg.configure(NAME, { retry: { attempts: 3, jitter: false }, failureThreshold: 100 });
    expect(reg.getConfig(NAME)!.retry).toEqual({ attempts: 3, minDelay: 100, maxDelay: 10_000, factor: 2, jitter: false });
    const fn = vi.fn(boom);
    expect((await settle(reg.execute(NAME, fn))).attempts).toBe(3);
    expect((await settle(reg.execute(NAME, fn, { retry: false }))).attempts).toBe(1);
    expect((await settle(reg.execute(NAME, fn, { retry: 2 }))).attempts).toBe(2);
    expect(fn).toHaveBeenCalledTimes(6);
  });

  it('a registry\'s defaults may set retry and fallback for all its executors; retry: 1 is no retry', async () => {
    const own = createRegistry({ defaults: { ...SMALL_DEFAULTS, retry: { attempts: 2, minDelay: 0 }, fallback: () => 'spare' } });
    try {
      const fn = vi.fn(boom);
      expect(await settle(own.execute('a', fn))).toMatchObject({ success: true, data: 'spare', attempts: 2 });
      expect(await settle(own.execute('b', fn))).toMatchObject({ attempts: 2 });
      expect(fn).toHaveBeenCalledTimes(4);
      own.configure('a', { retry: 1 });
      expect(own.getConfig('a')!.retry).toBe(false);
      expect(await settle(own.execute('a', fn))).toMatchObject({ attempts: 1 });
    } finally {
      own.destroy();
    }
  });

  it.each([
    [0, RangeError, /retry must be a number of attempts from 1/],
    [2.5, RangeError, /retry must be a number of attempts from 1/],
    ['3', TypeError, /retry must be a number of attempts, an object/],
    [{ attempts: 0 }, RangeError, /retry.attempts must be an integer/],
    [{ attempts: 3, minDelay: -1 }, RangeError, /retry.minDelay must be/],
    [{ attempts: 3, minDelay: 500, maxDelay: 100 }, RangeError, /retry.maxDelay must be at least minDelay/],
    [{ attempts: 3, factor: 0.5 }, RangeError, /retry.factor must be/],
    [{ attempts: 3, jitter: 'yes' }, TypeError, /retry.jitter must be a boolean/],
    [{ attempts: 3, retryIf: true }, TypeError, /retry.retryIf must be a function/],
    [{ attempts: 3, tries: 2 }, TypeError, /unknown key "tries"/],
  ])('a bad retry %o is refused by configure and by execute, changing nothing', async (retry, kind, message) => {
    const before = reg.getConfig(NAME);
    expect(() => reg.configure(NAME, { retry } as never)).toThrow(kind);
    expect(() => reg.configure(NAME, { retry } as never)).toThrow(message);
    expect(reg.getConfig(NAME)).toEqual(before);
    const fn = vi.fn(() => 'x');
    await expect(reg.execute(NAME, fn, { retry } as never)).rejects.toThrow(message);
    expect(fn).not.toHaveBeenCalled();
  });
});

describe('the retry budget', () => {
  /** 100 calls, one after the other, to a dead service, each with up to 3 tries; the circuit held closed. */
  async function storm(retryBudget?: number): Promise<number> {
    reg.configure(NAME, { failureThreshold: 1_000_000, ...(retryBudget === undefined ? {} : { retryBudget }) });
    const dead = vi.fn(boom);
    for (let i = 0; i < 100; i++) await settle(reg.execute(NAME, dead, { retry: { attempts: 3, minDelay: 0 } }));
    return dead.mock.calls.length;
  }

  it('refuses a retry storm: 100 calls with 3 tries each reach a dead service 120 times, not 300', async () => {
    // Retries stay below max(3, 0.2 x first tries) over the window: 100 first tries + 20 retries.
    expect(await storm()).toBe(120);
    expect(reg.getStats(NAME)!.retries).toBe(20);
  });

  it('without a budget (retryBudget: Infinity) the same storm reaches the service 300 times', async () => {
    expect(await storm(Infinity)).toBe(300);
  });

  it('always allows 3 retries, even with retryBudget 0', async () => {
    expect(await storm(0)).toBe(103);
  });

  it('forgets tries older than failureWindow', async () => {
    reg.configure(NAME, { failureThreshold: 1_000_000, retryBudget: 0, failureWindow: 10_000 });
    const dead = vi.fn(boom);
    for (let i = 0; i < 5; i++) await settle(reg.execute(NAME, dead, { retry: { attempts: 2, minDelay: 0 } }));
    expect(dead).toHaveBeenCalledTimes(8); // 5 first tries and the 3 retries always allowed
    await vi.advanceTimersByTimeAsync(10_000);
    for (let i = 0; i < 5; i++) await settle(reg.execute(NAME, dead, { retry: { attempts: 2, minDelay: 0 } }));
    expect(dead).toHaveBeenCalledTimes(16);
  });

  it('a retry refused by the budget leaves the last failure as the result', async () => {
    reg.configure(NAME, { failureThreshold: 1_000_000, retryBudget: 0 });
    for (let i = 0; i < 3; i++) await settle(reg.execute(NAME, boom, { retry: 2 }));
    const result = await settle(reg.execute(NAME, boom, { retry: 2 }));
    expect(result).toMatchObject({ success: false, rejected: false, attempts: 1 });
    expect(result.error!.message).toBe('boom');
  });

  it('with the circuit doing its job, a dead service sees failureThreshold tries, then none', async () => {
    reg.configure(NAME, { failureThreshold: 5, cacheFallback: false });
    const dead = vi.fn(boom);
    const results: ExecutionResult<unknown>[] = [];
    for (let i = 0; i < 100; i++) results.push(await settle(reg.execute(NAME, dead, { retry: { attempts: 3, minDelay: 0 } })));
    expect(dead).toHaveBeenCalledTimes(5);
    expect(results.filter((r) => r.rejected)).toHaveLength(98);
  });

  it('retryBudget must be a number of at least 0', () => {
    expect(() => reg.configure(NAME, { retryBudget: -0.1 })).toThrow(/retryBudget must be a number of at least 0.*got -0.1/);
    expect(() => reg.configure(NAME, { retryBudget: NaN })).toThrow(RangeError);
    expect(() => reg.configure(NAME, { retryBudget: '1' as never })).toThrow(TypeError);
  });
});

describe('fallback', () => {
  it('answers a failure: success, fromFallback, the original error handed to it; the failure still counts', async () => {
    const error = new Error('down');
    const fallback = vi.fn(() => ({ pages: [] }));
    const result = await reg.execute(NAME, () => Promise.reject(error), { fallback });
    expect(result).toEqual({
      success: true,
      data: { pages: [] },
      error: undefined,
      fromCache: false,
      fromFallback: true,
      rejected: false,
      circuitState: CircuitState.CLOSED,
      executionTime: 0,
      attempts: 1,
    });
    expect(fallback).toHaveBeenCalledWith(error, NAME);
    expect(reg.getStats(NAME)).toMatchObject({ failedRequests: 1, successfulRequests: 0, consecutiveFailures: 1 });
  });

  it('answers a timeout', async () => {
    const pending = track(reg.execute(NAME, hang, { fallback: (e) => `fallback after ${e.name}` }));
    await vi.advanceTimersByTimeAsync(SMALL_DEFAULTS.requestTimeout!);
    expect(pending.result).toMatchObject({ success: true, data: 'fallback after TimeoutError', fromFallback: true });
  });

  it('answers a rejection the cache could not answer; the cache answers first when it can', async () => {
    reg.configure(NAME, { fallback: () => 'from fallback' });
    reg.openCircuit(NAME);
    expect(await reg.execute(NAME, () => 'x')).toMatchObject({ success: true, data: 'from fallback', rejected: true, fromCache: false, fromFallback: true });
    reg.closeCircuit(NAME);
    await reg.execute(NAME, () => 'cached');
    reg.openCircuit(NAME);
    expect(await reg.execute(NAME, () => 'x')).toMatchObject({ data: 'cached', fromCache: true, fromFallback: false });
  });

  it('may return a promise', async () => {
    const result = await reg.execute(NAME, boom, { fallback: async () => 'later' });
    expect(result).toMatchObject({ success: true, data: 'later', fromFallback: true });
  });

  it('a fallback that throws, or rejects, leaves the original failure as the result', async () => {
    for (const fallback of [
      () => {
        throw new Error('fallback broke');
      },
      () => Promise.reject(new Error('fallback broke')),
    ]) {
      const result = await reg.execute(NAME, boom, { fallback });
      expect(result).toMatchObject({ success: false, fromFallback: false });
      expect(result.error!.message).toBe('boom');
    }
  });

  it('is not asked after the caller aborted', async () => {
    const fallback = vi.fn(() => 'x');
    const controller = new AbortController();
    const pending = reg.execute(NAME, hang, { signal: controller.signal, fallback });
    controller.abort(new Error('gone'));
    expect(await pending).toMatchObject({ success: false });
    expect(fallback).not.toHaveBeenCalled();
  });

  it('the executor\'s fallback applies to every call; a call\'s own replaces it', async () => {
    reg.configure(NAME, { fallback: () => 'executor' });
    expect((await reg.execute(NAME, boom)).data).toBe('executor');
    expect((await reg.execute(NAME, boom, { fallback: () => 'call' })).data).toBe('call');
    expect(() => reg.configure(NAME, { fallback: 'x' as never })).toThrow(/fallback must be a function, got "x"/);
    await expect(reg.execute(NAME, boom, { fallback: 1 as never })).rejects.toThrow(/options.fallback must be a function, got 1/);
  });

  it('answers after the last retry, with attempts kept', async () => {
    const result = await settle(reg.execute(NAME, boom, { retry: { attempts: 2, jitter: false }, fallback: () => 'spare' }));
    expect(result).toMatchObject({ success: true, data: 'spare', fromFallback: true, attempts: 2 });
  });
});
