/**
 * The outcome and opening policies, through the public API under fake timers: which
 * outcomes count (isFailure, isResultFailure), when the circuit opens (the count rule off,
 * the failure-rate and slow-call rules), how long it stays open (growing periods, jitter,
 * retryAfter), and the per-call timeout.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as circuitBreaker from '../src/index.js';
import {
  CircuitOpenError,
  CircuitState,
  ResultFailureError,
  TimeoutError,
  createRegistry,
  type CircuitBreakerConfig,
  type CircuitBreakerRegistry,
  type ExecutionResult,
} from '../src/index.js';
import { T0, deferred, fakeTimeRegistry, hang, tearDownFakeTimeRegistry, track } from './helpers.js';

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs?: number,
  ) {
    super(`HTTP ${status}`);
  }
}

const fail = (status: number) => () => Promise.reject(new HttpError(status));
const value = (v: unknown) => () => Promise.resolve(v);
const notFoundIgnored = (error: unknown) => !(error instanceof HttpError && error.status === 404);

let reg: CircuitBreakerRegistry;

beforeEach(() => {
  reg = fakeTimeRegistry({ now: T0 });
});

afterEach(() => {
  tearDownFakeTimeRegistry(reg, { restoreMocks: true });
});

function setup(config: Partial<CircuitBreakerConfig>, name = 'svc'): void {
  reg.configure(name, { requestTimeout: 1_000, resetTimeout: 5_000, ...config });
}

async function times(n: number, fn: () => unknown, name = 'svc'): Promise<ExecutionResult<unknown>[]> {
  const results: ExecutionResult<unknown>[] = [];
  for (let i = 0; i < n; i++) results.push(await reg.execute(name, fn));
  return results;
}

function totalsHold(name = 'svc'): void {
  const s = reg.getStats(name)!;
  expect(s.totalRequests).toBe(s.successfulRequests + s.failedRequests + s.rejectedRequests);
}

// ---------------------------------------------------------------------------
// 1. Which outcomes count
// ---------------------------------------------------------------------------

describe('isFailure', () => {
  it('an ignored error is a failed result for the caller but never moves the circuit', async () => {
    const isFailure = vi.fn(notFoundIgnored);
    setup({ failureThreshold: 2, isFailure });
    const failures: Error[] = [];
    reg.on('request:failure', (_n, e) => failures.push(e));
    const results = await times(10, fail(404));
    expect(results.every((r) => !r.success && r.error instanceof HttpError && !r.rejected)).toBe(true);
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    expect(isFailure).toHaveBeenCalledTimes(10);
    expect(isFailure.mock.calls[0]![0]).toBeInstanceOf(HttpError);
    expect(failures).toHaveLength(10);
    expect(reg.getStats('svc')).toMatchObject({
      failedRequests: 10,
      ignoredFailures: 10,
      consecutiveFailures: 0,
      lastFailureTime: null,
      timesOpened: 0,
    });
    totalsHold();
    // Counted failures still open it.
    await times(2, fail(503));
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    expect(reg.getStats('svc')!.ignoredFailures).toBe(10);
  });

  it('gets the original thrown value, not the wrapper of a non-Error', async () => {
    const isFailure = vi.fn((e: unknown) => e !== 'not found');
    setup({ failureThreshold: 1, isFailure });
    const result = await reg.execute('svc', () => Promise.reject('not found'));
    expect(isFailure).toHaveBeenCalledWith('not found');
    expect(result.success).toBe(false);
    expect(result.error!.cause).toBe('not found');
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
  });

  it('an ignored error is never cached: a rejected call gets the last success', async () => {
    setup({ failureThreshold: 1, isFailure: notFoundIgnored });
    await reg.execute('svc', value('page'));
    await reg.execute('svc', fail(404));
    await reg.execute('svc', fail(500));
    const rejected = await reg.execute('svc', value('never'));
    expect(rejected).toMatchObject({ success: true, fromCache: true, data: 'page' });
  });

  it('is not asked about the breaker’s own timeouts, which always count', async () => {
    const isFailure = vi.fn(() => false);
    setup({ failureThreshold: 1, isFailure });
    const call = track(reg.execute('svc', hang));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(call.result!.error).toBeInstanceOf(TimeoutError);
    expect(isFailure).not.toHaveBeenCalled();
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
  });

  it('a predicate that throws counts the error as a failure and breaks nothing', async () => {
    setup({
      failureThreshold: 2,
      isFailure: () => {
        throw new Error('bug in the predicate');
      },
    });
    const results = await times(2, fail(404));
    expect(results.map((r) => r.error!.message)).toEqual(['HTTP 404', 'HTTP 404']);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    expect(reg.getStats('svc')!.ignoredFailures).toBe(0);
  });

  it('in HALF_OPEN an ignored error completes its probe as a success', async () => {
    setup({ failureThreshold: 1, successThreshold: 2, isFailure: notFoundIgnored });
    await reg.execute('svc', fail(500));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);
    const first = await reg.execute('svc', fail(404));
    expect(first).toMatchObject({ success: false, rejected: false, circuitState: CircuitState.HALF_OPEN });
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);
    // Its slot was handed back: two more probes may run, and a second healthy answer closes.
    const gate = deferred();
    const probe = track(reg.execute('svc', () => gate.promise));
    const second = await reg.execute('svc', fail(404));
    expect(second.rejected).toBe(false);
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    gate.resolve('late');
    await vi.advanceTimersByTimeAsync(0);
    expect(probe.result!.success).toBe(true);
  });

  it('works from registry defaults, and undefined removes it', async () => {
    reg = createRegistry({ defaults: { failureThreshold: 1, isFailure: notFoundIgnored } });
    await reg.execute('a', fail(404));
    expect(reg.getState('a')).toBe(CircuitState.CLOSED);
    reg.configure('a', { isFailure: undefined });
    expect(reg.getConfig('a')!.isFailure).toBeUndefined();
    await reg.execute('a', fail(404));
    expect(reg.getState('a')).toBe(CircuitState.OPEN);
  });

  it('works on the module API', async () => {
    try {
      circuitBreaker.configure('module-404', { failureThreshold: 1, isFailure: notFoundIgnored });
      await circuitBreaker.execute('module-404', fail(404));
      expect(circuitBreaker.getStats('module-404')).toMatchObject({ state: CircuitState.CLOSED, ignoredFailures: 1 });
    } finally {
      circuitBreaker.destroy();
    }
  });
});

describe('isResultFailure', () => {
  const badStatus = (v: unknown) => (v as { status: number }).status >= 500;

  it('a bad value becomes a counted failure with a ResultFailureError carrying the value', async () => {
    const isFailure = vi.fn(() => true);
    setup({ failureThreshold: 2, isResultFailure: badStatus, isFailure });
    const response = { status: 503 };
    const result = await reg.execute('svc', value(response));
    expect(result.success).toBe(false);
    expect(result.error).toBeInstanceOf(ResultFailureError);
    expect(result.error).toMatchObject({ name: 'ResultFailureError', value: response });
    expect(isFailure).not.toHaveBeenCalled();
    await reg.execute('svc', value({ status: 500 }));
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    expect(reg.getStats('svc')).toMatchObject({ failedRequests: 2, successfulRequests: 0, consecutiveFailures: 2 });
  });

  it('a good value is a success; a bad value is never cached', async () => {
    setup({ failureThreshold: 1, isResultFailure: badStatus });
    const good = { status: 200 };
    expect(await reg.execute('svc', value(good))).toMatchObject({ success: true, data: good });
    await reg.execute('svc', () => ({ status: 502 })); // synchronous values are judged too
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    expect(await reg.execute('svc', value(null))).toMatchObject({ fromCache: true, data: good });
  });

  it('a predicate that throws leaves the value a success and the probe slot free', async () => {
    setup({ failureThreshold: 1, successThreshold: 1 });
    await reg.execute('svc', fail(500));
    await vi.advanceTimersByTimeAsync(5_000);
    const release = vi.fn();
    reg.setProbeGate('svc', { tryAcquire: () => true, release });
    reg.configure('svc', {
      isResultFailure: () => {
        throw new Error('bug');
      },
    });
    const probe = await reg.execute('svc', value('fine'));
    expect(probe).toMatchObject({ success: true, data: 'fine' });
    expect(release).toHaveBeenCalledTimes(1);
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
  });
});

// ---------------------------------------------------------------------------
// 2. When to open
// ---------------------------------------------------------------------------

describe('the count rule and the failure-rate rule', () => {
  it('failureThreshold: Infinity turns the count rule off', async () => {
    setup({ failureThreshold: Infinity });
    await times(500, fail(500));
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
  });

  it('a service failing 0.5% of its calls stays closed under a rate rule; one failing half of them opens', async () => {
    setup({ failureThreshold: Infinity, failureRateThreshold: 0.5, minimumRequests: 20 });
    for (let i = 0; i < 1_000; i++) {
      await reg.execute('svc', i % 200 === 0 ? fail(500) : value('ok'));
      vi.advanceTimersByTime(60); // 1,000 calls a minute
    }
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    // Then half of the calls fail: the rate climbs as the healthy minute slides out.
    let calls = 0;
    while (reg.getState('svc') === CircuitState.CLOSED && calls < 2_000) {
      await reg.execute('svc', calls++ % 2 === 0 ? fail(500) : value('ok'));
      vi.advanceTimersByTime(60);
    }
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    expect(calls).toBeGreaterThan(900);
    expect(calls).toBeLessThan(1_100);
  });

  it('below minimumRequests the rate rule does not judge, however bad the rate', async () => {
    setup({ failureThreshold: Infinity, failureRateThreshold: 0.5, minimumRequests: 10 });
    await times(9, fail(500));
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    await reg.execute('svc', fail(500));
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
  });

  it('reaching minimumRequests with a success opens when the rate is already over the threshold', async () => {
    setup({ failureThreshold: Infinity, failureRateThreshold: 0.5, minimumRequests: 4 });
    await times(3, fail(500));
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    const result = await reg.execute('svc', value('ok'));
    expect(result.success).toBe(true);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
  });

  it('both rules at once: whichever is reached first opens', async () => {
    // The count rule first: 3 failures among many successes.
    setup({ failureThreshold: 3, failureRateThreshold: 0.5, minimumRequests: 4 }, 'count');
    for (let i = 0; i < 30; i++) await reg.execute('count', i % 10 === 0 ? fail(500) : value('ok'));
    expect(reg.getState('count')).toBe(CircuitState.OPEN);
    expect(reg.getStats('count')!.failedRequests).toBe(3);
    // The rate rule first: 2 failures in 4 calls, under the count of 3.
    setup({ failureThreshold: 3, failureRateThreshold: 0.5, minimumRequests: 4 }, 'rate');
    for (const fn of [value('ok'), fail(500), value('ok'), fail(500)]) await reg.execute('rate', fn);
    expect(reg.getState('rate')).toBe(CircuitState.OPEN);
    expect(reg.getStats('rate')!.failedRequests).toBe(2);
  });

  it('calls older than failureWindow stop counting (the window moves in tenths of its span)', async () => {
    setup({ failureThreshold: Infinity, failureRateThreshold: 0.5, minimumRequests: 4, failureWindow: 10_000 });
    await times(3, fail(500));
    vi.advanceTimersByTime(10_000);
    await reg.execute('svc', fail(500));
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    await times(3, fail(500));
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
  });

  it('an ignored error counts as a healthy answer in the rate', async () => {
    setup({ failureThreshold: Infinity, failureRateThreshold: 0.5, minimumRequests: 4, isFailure: notFoundIgnored });
    for (const fn of [fail(404), fail(500), fail(404), fail(404), fail(500)]) await reg.execute('svc', fn);
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    await reg.execute('svc', fail(500));
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
  });

  it('closing forgets the rate window', async () => {
    setup({ failureThreshold: Infinity, failureRateThreshold: 0.5, minimumRequests: 4 });
    await times(3, fail(500));
    reg.closeCircuit('svc');
    await reg.execute('svc', fail(500));
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
  });
});

describe('the slow-call rule', () => {
  it('a call still running counts as slow the moment it passes slowCallDuration, and may open the circuit; it later succeeds', async () => {
    setup({ failureThreshold: Infinity, slowCallDuration: 300, slowCallRateThreshold: 0.5, minimumRequests: 2 });
    const opened: number[] = [];
    reg.on('circuit:opened', () => opened.push(Date.now() - T0));
    await reg.execute('svc', value('fast'));
    const slow = deferred();
    const call = track(reg.execute('svc', () => slow.promise));
    await vi.advanceTimersByTimeAsync(299);
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    await vi.advanceTimersByTimeAsync(1);
    expect(opened).toEqual([300]);
    expect(call.settled).toBe(false);
    expect((await reg.execute('svc', value('x'))).rejected).toBe(true);
    vi.advanceTimersByTime(100);
    slow.resolve('late but fine');
    await vi.advanceTimersByTimeAsync(0);
    expect(call.result).toMatchObject({ success: true, data: 'late but fine', circuitState: CircuitState.CLOSED, executionTime: 400 });
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    expect(reg.getStats('svc')).toMatchObject({ successfulRequests: 2, failedRequests: 0, timesOpened: 1 });
  });

  it('fast calls keep the slow rate down; below minimumRequests nothing is judged', async () => {
    setup({ failureThreshold: Infinity, slowCallDuration: 100, slowCallRateThreshold: 0.6, minimumRequests: 4 });
    const slow = [deferred(), deferred()];
    void reg.execute('svc', () => slow[0]!.promise);
    void reg.execute('svc', () => slow[1]!.promise);
    await vi.advanceTimersByTimeAsync(150);
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED); // 2 seen, all slow, but under 4
    await times(3, value('ok'));
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED); // 2 slow of 5
    slow[0]!.resolve('a');
    slow[1]!.resolve('b');
    await vi.advanceTimersByTimeAsync(0);
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED); // seen once each, not twice
  });

  it('a call that settles a ms before slowCallDuration is not slow; one still running at slowCallDuration is', async () => {
    setup({ failureThreshold: Infinity, slowCallDuration: 100, slowCallRateThreshold: 0.5, minimumRequests: 1 });
    const fast = deferred();
    const a = track(reg.execute('svc', () => fast.promise));
    await vi.advanceTimersByTimeAsync(99);
    fast.resolve('a');
    await vi.advanceTimersByTimeAsync(0);
    expect(a.settled).toBe(true);
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    void reg.execute('svc', hang);
    await vi.advanceTimersByTimeAsync(100);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
  });

  it('a timeout is a slow failure too, tallied once', async () => {
    setup({ failureThreshold: Infinity, failureRateThreshold: 1, slowCallDuration: 500, slowCallRateThreshold: 1, minimumRequests: 2 });
    await reg.execute('svc', value('ok'));
    void reg.execute('svc', hang);
    await vi.advanceTimersByTimeAsync(499);
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    await vi.advanceTimersByTimeAsync(501);
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED); // 1 slow of 2 seen; 1 failure of 2
  });

  it('uses the executor’s one deadline timer, not a timer per call', async () => {
    setup({ slowCallDuration: 200, requestTimeout: 10_000, minimumRequests: 1_000 });
    for (let i = 0; i < 100; i++) void reg.execute('svc', hang);
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(300);
    expect(vi.getTimerCount()).toBe(1);
  });

  it('probes in HALF_OPEN are judged by their outcome, not their speed', async () => {
    setup({ failureThreshold: 1, slowCallDuration: 100, slowCallRateThreshold: 0.5, minimumRequests: 1, successThreshold: 1 });
    await reg.execute('svc', fail(500));
    await vi.advanceTimersByTimeAsync(5_000);
    const probe = deferred();
    void reg.execute('svc', () => probe.promise);
    await vi.advanceTimersByTimeAsync(500);
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);
    probe.resolve('ok');
    await vi.advanceTimersByTimeAsync(0);
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
  });
});

describe('growing open periods', () => {
  async function reopenFromHalfOpen(): Promise<void> {
    await vi.advanceTimersByTimeAsync(reg.getStats('svc')!.nextAttemptTime!.getTime() - Date.now());
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);
    await reg.execute('svc', fail(500));
  }
  const period = (): number => reg.getStats('svc')!.nextAttemptTime!.getTime() - Date.now();

  it('each reopening from HALF_OPEN multiplies the period up to the cap; closing resets it', async () => {
    setup({ failureThreshold: 1, successThreshold: 1, resetTimeout: 1_000, resetTimeoutMultiplier: 2, maxResetTimeout: 5_000 });
    await reg.execute('svc', fail(500));
    const periods = [period()];
    for (let i = 0; i < 4; i++) {
      await reopenFromHalfOpen();
      periods.push(period());
    }
    expect(periods).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
    await vi.advanceTimersByTimeAsync(5_000);
    await reg.execute('svc', value('ok'));
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    await reg.execute('svc', fail(500));
    expect(period()).toBe(1_000);
  });

  it('the cap is never below resetTimeout', async () => {
    setup({ failureThreshold: 1, resetTimeout: 3_000, resetTimeoutMultiplier: 3, maxResetTimeout: 1_000 });
    await reg.execute('svc', fail(500));
    expect(period()).toBe(3_000);
    await reopenFromHalfOpen();
    expect(period()).toBe(3_000);
  });

  it('closing by hand and reset also start over', async () => {
    setup({ failureThreshold: 1, resetTimeout: 1_000, resetTimeoutMultiplier: 10 });
    await reg.execute('svc', fail(500));
    await reopenFromHalfOpen();
    expect(period()).toBe(10_000);
    reg.closeCircuit('svc');
    await reg.execute('svc', fail(500));
    expect(period()).toBe(1_000);
    await reopenFromHalfOpen();
    reg.reset('svc');
    await reg.execute('svc', fail(500));
    expect(period()).toBe(1_000);
  });

  it('jitter shortens each period by a random share up to resetTimeoutJitter', async () => {
    const random = vi.spyOn(Math, 'random');
    setup({ failureThreshold: 1, resetTimeout: 10_000, resetTimeoutJitter: 0.2 });
    random.mockReturnValue(0.5);
    await reg.execute('svc', fail(500));
    expect(period()).toBe(9_000);
    reg.closeCircuit('svc');
    random.mockReturnValue(0);
    await reg.execute('svc', fail(500));
    expect(period()).toBe(10_000);
    reg.closeCircuit('svc');
    random.mockReturnValue(0.999999);
    await reg.execute('svc', fail(500));
    expect(period()).toBe(8_001);
  });
});

describe('retryAfter', () => {
  const hinted = (error: unknown) => (error instanceof HttpError ? error.retryAfterMs : undefined);
  const tooMany = (ms: number) => () => Promise.reject(new HttpError(429, ms));

  it('a hint in ms opens at once until then, whatever the count; the stats and the rejection show it', async () => {
    setup({ failureThreshold: 5, retryAfter: hinted });
    await reg.execute('svc', tooMany(7_000));
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    expect(reg.getStats('svc')!.nextAttemptTime).toEqual(new Date(T0 + 7_000));
    const rejected = await reg.execute('svc', value('x'));
    expect(rejected.error).toBeInstanceOf(CircuitOpenError);
    expect((rejected.error as CircuitOpenError).nextAttemptTime).toEqual(new Date(T0 + 7_000));
    await vi.advanceTimersByTimeAsync(6_999);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    await vi.advanceTimersByTimeAsync(1);
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);
  });

  it('a hint as a Date', async () => {
    setup({ failureThreshold: 5, retryAfter: () => new Date(T0 + 12_345) });
    await reg.execute('svc', fail(503));
    expect(reg.getStats('svc')!.nextAttemptTime).toEqual(new Date(T0 + 12_345));
  });

  it('a hint beyond the cap is capped at max(maxResetTimeout, resetTimeout)', async () => {
    setup({ failureThreshold: 5, resetTimeout: 5_000, maxResetTimeout: 60_000, retryAfter: () => 3_600_000 });
    await reg.execute('svc', fail(429));
    expect(reg.getStats('svc')!.nextAttemptTime).toEqual(new Date(T0 + 60_000));
    reg.configure('other', { failureThreshold: 5, resetTimeout: 90_000, maxResetTimeout: 60_000, retryAfter: () => 3_600_000 });
    await reg.execute('other', fail(429));
    expect(reg.getStats('other')!.nextAttemptTime).toEqual(new Date(T0 + 90_000));
  });

  it('no usable answer (undefined, past, NaN, a string, a throw) asks for nothing: the count rule applies', async () => {
    const answers: unknown[] = [undefined, 0, -5, NaN, new Date(T0 - 1), new Date(NaN), '5000'];
    let i = 0;
    setup({
      failureThreshold: answers.length + 1,
      retryAfter: () => {
        if (i === answers.length) throw new Error('bug');
        return answers[i++] as number;
      },
    });
    await times(answers.length + 1, fail(503));
    expect(reg.getStats('svc')).toMatchObject({ state: CircuitState.OPEN, nextAttemptTime: new Date(T0 + 5_000) });
  });

  it('is asked only for counted failures: not for ignored errors, nor for timeouts; a bad result is asked with its ResultFailureError', async () => {
    const retryAfter = vi.fn((_error: unknown): number | undefined => undefined);
    setup({
      failureThreshold: 10,
      isFailure: notFoundIgnored,
      isResultFailure: (v) => (v as { status: number }).status === 429,
      retryAfter,
    });
    await reg.execute('svc', fail(404));
    const call = track(reg.execute('svc', hang));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(call.result!.error).toBeInstanceOf(TimeoutError);
    expect(retryAfter).not.toHaveBeenCalled();
    await reg.execute('svc', value({ status: 429 }));
    expect(retryAfter).toHaveBeenCalledTimes(1);
    expect(retryAfter.mock.calls[0]![0]).toBeInstanceOf(ResultFailureError);
  });

  it('a hint on a failed probe reopens until the hinted time', async () => {
    let hint: number | undefined;
    setup({ failureThreshold: 1, resetTimeout: 1_000, retryAfter: () => hint });
    await reg.execute('svc', fail(500));
    await vi.advanceTimersByTimeAsync(1_000);
    hint = 20_000;
    await reg.execute('svc', fail(503));
    expect(reg.getStats('svc')!.nextAttemptTime).toEqual(new Date(Date.now() + 20_000));
  });
});

describe('options.timeout', () => {
  it('replaces requestTimeout for one call, shorter or longer', async () => {
    setup({ requestTimeout: 1_000, failureThreshold: 10 });
    const short = track(reg.execute('svc', hang, { timeout: 100 }));
    const long = track(reg.execute('svc', hang, { timeout: 5_000 }));
    const usual = track(reg.execute('svc', hang));
    await vi.advanceTimersByTimeAsync(100);
    expect(short.result!.error).toMatchObject({ name: 'TimeoutError', timeout: 100 });
    expect(short.result!.executionTime).toBe(100);
    await vi.advanceTimersByTimeAsync(900);
    expect(usual.result!.error).toMatchObject({ name: 'TimeoutError', timeout: 1_000 });
    expect(long.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(long.result!.error).toMatchObject({ name: 'TimeoutError', timeout: 5_000 });
  });

  it('Infinity: this call never times out, and fn gets no signal it does not ask for', async () => {
    setup({ requestTimeout: 100 });
    const d = deferred();
    const call = track(reg.execute('svc', () => d.promise, { timeout: Infinity }));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(call.settled).toBe(false);
    d.resolve('done');
    await vi.advanceTimersByTimeAsync(0);
    expect(call.result).toMatchObject({ success: true, data: 'done' });
  });

  it('aborts fn’s signal with the TimeoutError at the call’s own deadline', async () => {
    let signal: AbortSignal | undefined;
    const call = track(
      reg.execute(
        'svc',
        (s) => {
          signal = s;
          return new Promise(() => {});
        },
        { timeout: 50 },
      ),
    );
    await vi.advanceTimersByTimeAsync(50);
    expect(signal!.aborted).toBe(true);
    expect(signal!.reason).toBe(call.result!.error);
  });
});

describe('predicates that move the circuit themselves', () => {
  it('a retryAfter that opens the circuit by hand: the call’s period is over, one opening only', async () => {
    const opened: number[] = [];
    reg.on('circuit:opened', () => opened.push(Date.now()));
    setup({
      failureThreshold: 1,
      retryAfter: () => {
        reg.openCircuit('svc');
        return 10_000;
      },
    });
    const result = await reg.execute('svc', fail(503));
    expect(result.success).toBe(false);
    expect(opened).toHaveLength(1);
    expect(reg.getStats('svc')).toMatchObject({ state: CircuitState.OPEN, nextAttemptTime: null, timesOpened: 1 });
  });

  it('an isFailure that closes a half-open circuit by hand: the probe’s answer reaches nothing', async () => {
    setup({ failureThreshold: 1, successThreshold: 2 });
    await reg.execute('svc', fail(500));
    await vi.advanceTimersByTimeAsync(5_000);
    reg.configure('svc', {
      isFailure: () => {
        reg.closeCircuit('svc');
        return false;
      },
    });
    await reg.execute('svc', fail(404));
    expect(reg.getStats('svc')).toMatchObject({ state: CircuitState.CLOSED, timesClosed: 1, ignoredFailures: 1 });
  });
});

describe('a slow call whose watch has not fired yet', () => {
  it('is tallied as slow when it completes (the loop was blocked past slowCallDuration)', async () => {
    setup({ failureThreshold: Infinity, slowCallDuration: 100, slowCallRateThreshold: 1, minimumRequests: 1 });
    const d = deferred();
    const pending = reg.execute('svc', () => d.promise);
    vi.setSystemTime(Date.now() + 150); // the clock moves, no timer runs
    d.resolve('late');
    const result = await pending;
    expect(result).toMatchObject({ success: true, executionTime: 150 });
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
  });
});
