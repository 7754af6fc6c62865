/**
 * execute(executorName, fn, options?): result shapes, what counts as a failure, the signal
 * handed to fn, the caller's own signal, and the fallback cache.
 *
 * Source of truth: /work/shared/CONTRACT.md ("execute") and docs/decisions.md ("Counting
 * failures", "Timeouts and signals", "Rejections and the fallback cache").
 */
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitOpenError, CircuitState, TimeoutError, type CircuitBreakerRegistry, type ExecutionResult } from '../src/index.js';
import {
  NAME,
  REQUEST_TIMEOUT,
  RESET_TIMEOUT,
  SMALL_DEFAULTS,
  T0,
  deferred,
  fakeTimeRegistry,
  hang,
  recordEvents,
  tearDownFakeTimeRegistry,
  track,
} from './helpers.js';

// Captured before any test fakes the timers: one real turn of the event loop.
const realSetImmediate = globalThis.setImmediate;
const nextRealTurn = () => new Promise<void>((resolve) => realSetImmediate(() => resolve()));

let reg: CircuitBreakerRegistry;

beforeEach(() => {
  reg = fakeTimeRegistry({ now: T0, registry: { defaults: SMALL_DEFAULTS } });
});

afterEach(() => {
  tearDownFakeTimeRegistry(reg);
});

// ---------------------------------------------------------------------------- helpers

/**
 * Starts `n` calls at once that each fail by throwing synchronously, and resolves with
 * their results (helpers.ts's failTimes runs rejecting calls one after the other).
 */
function failTimes(n: number, name = NAME) {
  const all = [];
  for (let i = 0; i < n; i++) {
    all.push(
      reg.execute(name, () => {
        throw new Error('down');
      }),
    );
  }
  return Promise.all(all);
}

// ---------------------------------------------------------------------------- result shapes

describe('result shapes', () => {
  it('success: { success: true, data, fromCache: false, rejected: false, circuitState, executionTime }', async () => {
    const result = await reg.execute(NAME, async () => ({ id: 42 }));
    expect(result).toEqual({
      success: true,
      data: { id: 42 },
      error: undefined,
      fromCache: false,
      rejected: false,
      circuitState: CircuitState.CLOSED,
      executionTime: 0,
      fromFallback: false,
      attempts: 1,
    });
  });

  it('failure: { success: false, error, fromCache: false, rejected: false, ... } with fn\'s own error', async () => {
    const boom = new Error('boom');
    const result = await reg.execute(NAME, async () => {
      throw boom;
    });
    expect(result).toEqual({
      success: false,
      data: undefined,
      error: boom,
      fromCache: false,
      rejected: false,
      circuitState: CircuitState.CLOSED,
      executionTime: 0,
      fromFallback: false,
      attempts: 1,
    });
    expect(result.error).toBe(boom);
  });

  it('timeout: a failure whose error is a TimeoutError (name, executorName, timeout), executionTime = the timeout', async () => {
    const pending = reg.execute(NAME, hang);
    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT);
    const result = await pending;

    expect(result).toEqual({
      success: false,
      data: undefined,
      error: expect.any(TimeoutError),
      fromCache: false,
      rejected: false,
      circuitState: CircuitState.CLOSED,
      executionTime: REQUEST_TIMEOUT,
      fromFallback: false,
      attempts: 1,
    });
    const error = result.error as TimeoutError;
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('TimeoutError');
    expect(error.executorName).toBe(NAME);
    expect(error.timeout).toBe(REQUEST_TIMEOUT);
  });

  it('does not time out one ms early', async () => {
    const pending = track(reg.execute(NAME, hang));
    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT - 1);
    expect(pending.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(pending.settled).toBe(true);
  });

  it('rejection (OPEN, no cache): { success: false, error: CircuitOpenError, fromCache: false, rejected: true, executionTime: 0 }', async () => {
    await failTimes(3);
    await vi.advanceTimersByTimeAsync(100);
    const fn = vi.fn(() => 'never');
    const result = await reg.execute(NAME, fn);

    expect(fn).not.toHaveBeenCalled();
    expect(result).toEqual({
      success: false,
      data: undefined,
      error: expect.any(CircuitOpenError),
      fromCache: false,
      rejected: true,
      circuitState: CircuitState.OPEN,
      executionTime: 0,
      fromFallback: false,
      attempts: 1,
    });
    const error = result.error as CircuitOpenError;
    expect(error.name).toBe('CircuitOpenError');
    expect(error.executorName).toBe(NAME);
    expect(error.nextAttemptTime).toEqual(new Date(T0 + RESET_TIMEOUT));
  });

  it('executionTime is the time fn ran, in ms of (fake) time', async () => {
    const pending = reg.execute(
      NAME,
      () => new Promise<string>((resolve) => setTimeout(() => resolve('late'), 250)),
    );
    await vi.advanceTimersByTimeAsync(250);
    const result = await pending;
    expect(result).toMatchObject({ success: true, data: 'late', executionTime: 250 });

    const failing = reg.execute(
      NAME,
      () => new Promise<string>((_, reject) => setTimeout(() => reject(new Error('x')), 400)),
    );
    await vi.advanceTimersByTimeAsync(400);
    expect(await failing).toMatchObject({ success: false, executionTime: 400 });
  });

  it('circuitState is the state the call was admitted in, not the state after it', async () => {
    // A CLOSED call whose failure opens the circuit still reports CLOSED.
    const results = await failTimes(3);
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
    expect(results[2]!.circuitState).toBe(CircuitState.CLOSED);

    // A HALF_OPEN probe whose success closes the circuit still reports HALF_OPEN.
    await vi.advanceTimersByTimeAsync(RESET_TIMEOUT);
    await reg.execute(NAME, () => 'probe 1');
    const closing = await reg.execute(NAME, () => 'probe 2');
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
    expect(closing.circuitState).toBe(CircuitState.HALF_OPEN);
  });
});

// ---------------------------------------------------------------------------- error messages

describe('the messages of the errors the breaker makes', () => {
  it('a call refused while OPEN: the message names the executor and when probes start', async () => {
    await failTimes(3);
    const result = await reg.execute(NAME, () => 'never');
    expect(result.error).toBeInstanceOf(CircuitOpenError);
    expect(result.error!.message).toBe('Circuit for "svc" is open until 2030-01-01T00:00:05.000Z');
  });

  it('a call refused while held open by openCircuit: the message says it stays open until closed', async () => {
    reg.openCircuit(NAME);
    const result = await reg.execute(NAME, () => 'never');
    expect(result.error).toBeInstanceOf(CircuitOpenError);
    expect(result.error!.message).toBe('Circuit for "svc" is held open until it is closed');
  });

  it('a call refused while HALF_OPEN with every probe slot taken: the message says so', async () => {
    await failTimes(3);
    await vi.advanceTimersByTimeAsync(RESET_TIMEOUT);
    expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);
    // successThreshold (2 by default) probes at a time.
    void reg.execute(NAME, hang);
    void reg.execute(NAME, hang);
    const result = await reg.execute(NAME, () => 'never');
    expect(result).toMatchObject({ rejected: true, circuitState: CircuitState.HALF_OPEN });
    expect(result.error).toBeInstanceOf(CircuitOpenError);
    expect(result.error!.message).toBe('Circuit for "svc" is half-open and every probe slot is taken');
  });

  it('a call that timed out: the message names the executor and the limit', async () => {
    const pending = reg.execute(NAME, hang);
    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT);
    const result = await pending;
    expect(result.error).toBeInstanceOf(TimeoutError);
    expect(result.error!.message).toBe('Call to "svc" timed out after 1000 ms');
  });

  it('CircuitOpenError made with an executor name and a time says "open until" that time', () => {
    const error = new CircuitOpenError('billing', new Date(T0 + 30_000));
    expect(error.message).toBe('Circuit for "billing" is open until 2030-01-01T00:00:30.000Z');
    expect(new CircuitOpenError('billing', null).message).toBe('Circuit for "billing" is held open until it is closed');
  });
});

// ---------------------------------------------------------------------------- what fn may do

describe('what fn may throw or return', () => {
  it('a Promise subclass whose then throws: a failed result with that error, never a throw', async () => {
    const broken = new Error('then broke');
    class OddPromise<T> extends Promise<T> {
      override then(): never {
        throw broken;
      }
    }
    let outcome: Promise<ExecutionResult<unknown>> | undefined;
    expect(() => {
      outcome = reg.execute('svc', () => new OddPromise((resolve) => resolve(1)));
    }).not.toThrow();
    const result = await outcome!;
    expect(result).toMatchObject({ success: false, error: broken });
    expect(reg.getStats('svc')).toMatchObject({ failedRequests: 1 });
  });

  it('a well-behaved Promise subclass is awaited like any promise', async () => {
    class TaggedPromise<T> extends Promise<T> {}
    const result = await reg.execute('svc', () => new TaggedPromise((resolve) => resolve('tagged')));
    expect(result).toMatchObject({ success: true, data: 'tagged' });
  });

  it('a synchronous throw is a failure with that error', async () => {
    const boom = new TypeError('sync boom');
    const result = await reg.execute(NAME, () => {
      throw boom;
    });
    expect(result).toMatchObject({ success: false, rejected: false, fromCache: false });
    expect(result.error).toBe(boom);
    expect(reg.getStats(NAME)!.failedRequests).toBe(1);
  });

  it.each([
    ['a string', 'just a string', 'Non-Error thrown: "just a string"'],
    ['a number', 42, 'Non-Error thrown: 42'],
    ['null', null, 'Non-Error thrown: null'],
    ['undefined', undefined, 'Non-Error thrown: undefined'],
  ])('a thrown non-Error (%s) is wrapped in an Error keeping the original as cause', async (_kind, thrown, message) => {
    const result = await reg.execute(NAME, () => {
      throw thrown;
    });
    expect(result.success).toBe(false);
    expect(result.error).toBeInstanceOf(Error);
    expect(result.error!.message).toBe(message);
    expect(Object.hasOwn(result.error!, 'cause')).toBe(true);
    expect(result.error!.cause).toBe(thrown);
  });

  it('a rejection with a non-Error object is wrapped, the very object kept as cause', async () => {
    const reason = { code: 'ECONNRESET' };
    const result = await reg.execute(NAME, () => Promise.reject(reason));
    expect(result.error).toBeInstanceOf(Error);
    expect(result.error!.cause).toBe(reason);
  });

  it.each([
    ['rejects with', true],
    ['throws', false],
  ])('fn %s a plain object with a string message: the Error keeps that message, the object is the cause', async (_how, rejects) => {
    const reason = { status: 404, message: 'Not found' };
    const result = await reg.execute(NAME, () => {
      if (rejects) return Promise.reject(reason);
      throw reason;
    });
    expect(result.error).toBeInstanceOf(Error);
    expect(result.error!.message).toBe('Not found');
    expect(result.error!.cause).toBe(reason);
  });

  it.each([
    ['a message that is not a string', { message: 42 }, 'Non-Error thrown: [object Object]'],
    ['an inherited message', Object.create({ message: 'from the prototype' }), 'from the prototype'],
    [
      'a message getter that throws',
      {
        get message(): string {
          throw new Error('no');
        },
      },
      'Non-Error thrown: [object Object]',
    ],
  ])('an object with %s', async (_kind, reason, message) => {
    const result = await reg.execute(NAME, () => Promise.reject(reason));
    expect(result.error!.message).toBe(message);
    expect(result.error!.cause).toBe(reason);
  });

  it('a thrown class or function is a non-Error even with a string message: the message shows what was thrown', async () => {
    // Say `throw NotFound` where `throw new NotFound()` was meant: the message shows that
    // mistake rather than the class's static message.
    class NotFound {
      static message = 'Not found';
    }
    const result = await reg.execute(NAME, () => {
      throw NotFound;
    });
    expect(result.error).toBeInstanceOf(Error);
    expect(result.error!.message).toBe(`Non-Error thrown: ${String(NotFound)}`);
    expect(result.error!.cause).toBe(NotFound);
  });

  it.each([
    ['throws', false],
    ['rejects with', true],
  ])('fn %s an Error made in another realm (a vm context): that very error is the result\'s error', async (_how, rejects) => {
    const foreign = runInNewContext('new RangeError("from another realm")') as Error;
    expect(foreign instanceof Error).toBe(false);
    const result = await reg.execute(NAME, () => {
      if (rejects) return Promise.reject(foreign);
      throw foreign;
    });
    expect(result.success).toBe(false);
    expect(result.error).toBe(foreign);
    expect(result.error!.message).toBe('from another realm');
  });

  it.each([
    ['a number', 7],
    ['an object', { ok: true }],
    ['undefined', undefined],
    ['null', null],
  ])('a plain (non-promise) return value, %s, is a success with that value', async (_kind, value) => {
    const result = await reg.execute(NAME, () => value);
    expect(result).toEqual({
      success: true,
      data: value,
      error: undefined,
      fromCache: false,
      rejected: false,
      circuitState: CircuitState.CLOSED,
      executionTime: 0,
      fromFallback: false,
      attempts: 1,
    });
    expect(reg.getStats(NAME)!.successfulRequests).toBe(1);
  });

  it('a thenable that fulfils is a success with its value', async () => {
    const thenable = { then: (onFulfilled: (value: string) => void) => onFulfilled('from thenable') };
    const result = await reg.execute(NAME, () => thenable as unknown as PromiseLike<string>);
    expect(result).toMatchObject({ success: true, data: 'from thenable' });
  });

  it('a thenable that rejects is a failure with its reason', async () => {
    const boom = new Error('thenable rejected');
    const thenable = {
      then: (_onFulfilled: unknown, onRejected: (reason: unknown) => void) => onRejected(boom),
    };
    const result = await reg.execute(NAME, () => thenable as unknown as PromiseLike<string>);
    expect(result).toMatchObject({ success: false, rejected: false });
    expect(result.error).toBe(boom);
  });

  it('a thenable that fulfils only later is awaited (and timed) like a promise', async () => {
    const thenable = {
      then: (onFulfilled: (value: string) => void) => {
        setTimeout(() => onFulfilled('later'), 300);
      },
    };
    const pending = reg.execute(NAME, () => thenable as unknown as PromiseLike<string>);
    await vi.advanceTimersByTimeAsync(300);
    expect(await pending).toMatchObject({ success: true, data: 'later', executionTime: 300 });
  });

  it('never rejects, whatever fn does', async () => {
    const weird = [
      () => {
        throw new Error('sync');
      },
      () => {
        throw Symbol('sym');
      },
      () => Promise.reject(undefined),
      async () => {
        throw 'async string';
      },
      () => ({
        get then(): never {
          throw new Error('then getter throws');
        },
      }),
      () => ({
        then() {
          throw new Error('then throws');
        },
      }),
      hang,
    ];
    const pending = weird.map((fn) => reg.execute(`svc-${weird.indexOf(fn)}`, fn as () => unknown));
    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT);
    const settled = await Promise.allSettled(pending);
    for (const outcome of settled) {
      expect(outcome.status).toBe('fulfilled');
      const result = (outcome as PromiseFulfilledResult<Awaited<(typeof pending)[number]>>).value;
      expect(result.success).toBe(false);
      expect(result.error).toBeInstanceOf(Error);
    }
  });
});

// ---------------------------------------------------------------------------- fn's signal

describe('the AbortSignal handed to fn', () => {
  it('a fn that declares a parameter receives a live AbortSignal', async () => {
    let received: unknown;
    const result = await reg.execute(NAME, (signal) => {
      received = signal;
      return signal.aborted;
    });
    expect(received).toBeInstanceOf(AbortSignal);
    expect(result.data).toBe(false);
  });

  it('the signal aborts on timeout, with the TimeoutError as its reason', async () => {
    let received!: AbortSignal;
    const onAbort = vi.fn();
    const pending = reg.execute(NAME, (signal) => {
      received = signal;
      signal.addEventListener('abort', onAbort);
      return hang();
    });
    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT - 1);
    expect(received.aborted).toBe(false);

    await vi.advanceTimersByTimeAsync(1);
    const result = await pending;
    expect(received.aborted).toBe(true);
    expect(onAbort).toHaveBeenCalledTimes(1);
    expect(received.reason).toBe(result.error);
    expect(received.reason).toBeInstanceOf(TimeoutError);
  });

  it('a (...args) => fn declares no counted parameter (length 0): called with no argument', async () => {
    const result = await reg.execute(NAME, (...args: unknown[]) => args);
    expect(result.data).toEqual([]);
  });

  it('a (signal = fallback) => fn has length 0: called without a signal, so its default applies', async () => {
    const fallback = 'no signal';
    const result = await reg.execute(NAME, (signal: AbortSignal | string = fallback) => signal);
    expect(result.data).toBe(fallback);
  });

  it('a (signal, ...rest) => fn declares one parameter: it gets the signal and nothing else', async () => {
    const result = await reg.execute(NAME, (signal: AbortSignal, ...rest: unknown[]) => [signal, rest.length]);
    expect(result.data![0]).toBeInstanceOf(AbortSignal);
    expect(result.data![1]).toBe(0);
  });

  it('a fresh closure per call is judged per call: alternating kinds on one breaker each get their due', async () => {
    for (let i = 0; i < 4; i++) {
      const withSignal = await reg.execute(NAME, (signal: AbortSignal) => signal instanceof AbortSignal);
      const without = await reg.execute(NAME, function () {
        // eslint-disable-next-line prefer-rest-params
        return arguments.length;
      });
      expect([withSignal.data, without.data]).toEqual([true, 0]);
    }
  });

  it('a function with an empty parameter list as written is called with no argument', async () => {
    const plain = await reg.execute(NAME, function () {
      // eslint-disable-next-line prefer-rest-params
      return arguments.length;
    });
    expect(plain.data).toBe(0);

    const asyncFn = await reg.execute(NAME, async function () {
      // eslint-disable-next-line prefer-rest-params
      return arguments.length;
    });
    expect(asyncFn.data).toBe(0);
  });

  it('a bound function counts what its target declares: one parameter gets the signal, none gets nothing', async () => {
    function withParam(this: unknown, signal: unknown) {
      return signal;
    }
    function withoutParam(this: unknown) {
      // eslint-disable-next-line prefer-rest-params
      return arguments.length;
    }
    expect((await reg.execute(NAME, withParam.bind(null) as (signal: AbortSignal) => unknown)).data).toBeInstanceOf(AbortSignal);
    expect((await reg.execute(NAME, withoutParam.bind(null))).data).toBe(0);
  });
});

// ---------------------------------------------------------------------------- caller's signal

describe("the caller's options.signal", () => {
  it('aborting mid-call abandons the call at once: failure with the abort reason, fn\'s signal aborts too', async () => {
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const d = deferred<string>();
    let fnSignal!: AbortSignal;
    const failures: Error[] = [];
    reg.on('request:failure', (_name, error) => failures.push(error));

    const pending = track(
      reg.execute(
        NAME,
        (signal) => {
          fnSignal = signal;
          return d.promise;
        },
        { signal: controller.signal },
      ),
    );
    await vi.advanceTimersByTimeAsync(300);
    expect(pending.settled).toBe(false);

    controller.abort(reason);
    await vi.advanceTimersByTimeAsync(0);

    expect(pending.settled).toBe(true); // fn has not settled, the call has
    expect(pending.result).toEqual({
      success: false,
      data: undefined,
      error: reason,
      fromCache: false,
      rejected: false,
      circuitState: CircuitState.CLOSED,
      executionTime: 300,
      fromFallback: false,
      attempts: 1,
    });
    expect(fnSignal.aborted).toBe(true);
    expect(fnSignal.reason).toBe(reason);
    expect(failures).toEqual([reason]);

    // fn settling later changes nothing.
    d.resolve('too late');
    await vi.advanceTimersByTimeAsync(0);
    expect(reg.getStats(NAME)!.successfulRequests).toBe(0);
  });

  it('an abandoned call counts in failedRequests but not in the failure window, streaks or lastFailureTime', async () => {
    reg.configure(NAME, { failureThreshold: 1 });
    const controller = new AbortController();
    const pending = reg.execute(NAME, (signal) => hang(), { signal: controller.signal });
    controller.abort(new Error('bye'));
    await pending;

    const stats = reg.getStats(NAME)!;
    expect(stats.state).toBe(CircuitState.CLOSED); // a real failure would have opened it
    expect(stats.failedRequests).toBe(1);
    expect(stats.totalRequests).toBe(1);
    expect(stats.consecutiveFailures).toBe(0);
    expect(stats.lastFailureTime).toBeNull();
  });

  it('an abandoned probe frees its slot and does not reopen the circuit', async () => {
    reg.configure(NAME, { successThreshold: 1 });
    await failTimes(3);
    await vi.advanceTimersByTimeAsync(RESET_TIMEOUT);
    const controller = new AbortController();
    const probe = reg.execute(NAME, () => hang(), { signal: controller.signal });
    expect((await reg.execute(NAME, () => 'blocked')).rejected).toBe(true);

    controller.abort(new Error('bye'));
    await probe;
    expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);

    const next = vi.fn(() => 'probe');
    const result = await reg.execute(NAME, next);
    expect(next).toHaveBeenCalledTimes(1);
    expect(result.rejected).toBe(false);
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
  });

  it('an already-aborted signal means fn is not called', async () => {
    reg.configure(NAME, { failureThreshold: 1 });
    const reason = new Error('aborted before the call');
    const fn = vi.fn(() => 'never');

    const result = await reg.execute(NAME, fn, { signal: AbortSignal.abort(reason) });

    expect(fn).not.toHaveBeenCalled();
    expect(result).toMatchObject({ success: false, rejected: false, fromCache: false, executionTime: 0 });
    expect(result.error).toBe(reason);
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
  });

  describe('an abort while fn runs synchronously is the same as an abort one tick later', () => {
    /** Runs a never-settling fn whose caller aborts inside fn, or one tick after execute returned. */
    async function abortedCall(when: 'inside fn' | 'a tick later', halfOpen: boolean) {
      if (halfOpen) {
        reg.configure(NAME, { successThreshold: 1 });
        await failTimes(3);
        await vi.advanceTimersByTimeAsync(RESET_TIMEOUT);
        expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);
      }
      const failures: Error[] = [];
      reg.on('request:failure', (_name, error) => failures.push(error));
      const controller = new AbortController();
      const reason = new Error('caller gave up');
      let fnSignal!: AbortSignal;
      const call = track(
        reg.execute(
          NAME,
          (signal) => {
            fnSignal = signal;
            if (when === 'inside fn') controller.abort(reason);
            return new Promise<never>(() => {});
          },
          { signal: controller.signal },
        ),
      );
      await Promise.resolve();
      if (when === 'a tick later') controller.abort(reason);
      await vi.advanceTimersByTimeAsync(0); // no time passes: the timeout plays no part
      const stats = reg.getStats(NAME)!;
      // The probe slot is free again: the next call runs (and, as a probe, closes the circuit).
      const next = await reg.execute(NAME, () => 'next');
      return {
        settled: call.settled,
        result: call.result,
        isReason: call.result?.error === reason,
        fnSignal: { aborted: fnSignal.aborted, isReason: fnSignal.reason === reason },
        failures: failures.map((e) => e === reason),
        stats: { state: stats.state, failed: stats.failedRequests, consecutiveFailures: stats.consecutiveFailures },
        next: { ran: !next.rejected, state: reg.getState(NAME) },
      };
    }

    it.each([
      ['CLOSED', false],
      ['HALF_OPEN (a probe)', true],
    ])('circuit %s', async (_state, halfOpen) => {
      const later = await abortedCall('a tick later', halfOpen);
      tearDownFakeTimeRegistry(reg);
      reg = fakeTimeRegistry({ now: T0, registry: { defaults: SMALL_DEFAULTS } });
      const inside = await abortedCall('inside fn', halfOpen);

      expect(later.settled).toBe(true);
      expect(later.isReason).toBe(true);
      expect(later.fnSignal).toEqual({ aborted: true, isReason: true });
      expect(later.next.ran).toBe(true);
      expect(inside).toEqual(later);
    });

    it('with the timeout off too (requestTimeout: Infinity)', async () => {
      reg.configure(NAME, { requestTimeout: Infinity });
      const controller = new AbortController();
      let fnSignal!: AbortSignal;
      const result = await reg.execute(
        NAME,
        (signal) => {
          fnSignal = signal;
          controller.abort('stop');
          return new Promise<never>(() => {});
        },
        { signal: controller.signal },
      );
      expect(result).toMatchObject({ success: false, rejected: false });
      expect(result.error?.message).toBe('Non-Error thrown: "stop"');
      expect(fnSignal.aborted).toBe(true);
    });
  });

  it('a signal that never aborts changes nothing', async () => {
    const controller = new AbortController();
    const result = await reg.execute(NAME, async () => 'ok', { signal: controller.signal });
    expect(result).toMatchObject({ success: true, data: 'ok' });
  });
});

// ---------------------------------------------------------------------------- fallback cache

describe('the fallback cache', () => {
  it('answers a rejected call with { success: true, data: cached, fromCache: true, rejected: true }', async () => {
    await reg.execute(NAME, async () => 'cached value');
    reg.openCircuit(NAME);
    const events = recordEvents(reg);
    const fn = vi.fn(() => 'fresh');

    const result = await reg.execute(NAME, fn);

    expect(fn).not.toHaveBeenCalled();
    expect(result).toEqual({
      success: true,
      data: 'cached value',
      error: undefined,
      fromCache: true,
      rejected: true,
      circuitState: CircuitState.OPEN,
      executionTime: 0,
      fromFallback: false,
      attempts: 1,
    });
    expect(events).toEqual(['request:rejected', 'fallback:used']);
    expect(reg.getStats(NAME)!.rejectedRequests).toBe(1);
  });

  it('fires request:rejected but not fallback:used when there is nothing cached', async () => {
    reg.openCircuit(NAME);
    const events = recordEvents(reg);
    const result = await reg.execute(NAME, () => 'x');
    expect(result.error).toBeInstanceOf(CircuitOpenError);
    expect(events).toEqual(['request:rejected']);
  });

  it('keeps the latest success; a failure does not overwrite it', async () => {
    await reg.execute(NAME, () => 'first');
    await reg.execute(NAME, () => 'second');
    await reg.execute(NAME, () => {
      throw new Error('x');
    });
    reg.openCircuit(NAME);
    expect((await reg.execute(NAME, () => 'x')).data).toBe('second');
  });

  it('keeps one entry per options.cacheKey, and a default entry for calls without a key', async () => {
    await reg.execute(NAME, () => 'A', { cacheKey: 'a' });
    await reg.execute(NAME, () => 'B', { cacheKey: 'b' });
    await reg.execute(NAME, () => 'default');
    reg.openCircuit(NAME);

    expect(await reg.execute(NAME, () => 'x', { cacheKey: 'a' })).toMatchObject({ data: 'A', fromCache: true });
    expect(await reg.execute(NAME, () => 'x', { cacheKey: 'b' })).toMatchObject({ data: 'B', fromCache: true });
    expect(await reg.execute(NAME, () => 'x')).toMatchObject({ data: 'default', fromCache: true });
    const missing = await reg.execute(NAME, () => 'x', { cacheKey: 'c' });
    expect(missing).toMatchObject({ success: false, fromCache: false, rejected: true });
    expect(missing.error).toBeInstanceOf(CircuitOpenError);
  });

  it('keeps caches per executor', async () => {
    await reg.execute('one', () => 'from one');
    reg.openCircuit('two');
    const result = await reg.execute('two', () => 'x');
    expect(result.fromCache).toBe(false);
    expect(result.error).toBeInstanceOf(CircuitOpenError);
  });

  it('is bounded by fallbackMaxEntries, dropping the least recently stored key first', async () => {
    reg.configure(NAME, { fallbackMaxEntries: 2 });
    await reg.execute(NAME, () => 'A', { cacheKey: 'a' });
    await reg.execute(NAME, () => 'B', { cacheKey: 'b' });
    await reg.execute(NAME, () => 'C', { cacheKey: 'c' }); // evicts a
    reg.openCircuit(NAME);

    expect((await reg.execute(NAME, () => 'x', { cacheKey: 'a' })).fromCache).toBe(false);
    expect((await reg.execute(NAME, () => 'x', { cacheKey: 'b' })).data).toBe('B');
    expect((await reg.execute(NAME, () => 'x', { cacheKey: 'c' })).data).toBe('C');
  });

  it('is an LRU: storing a key again makes it recent, so the other one goes first', async () => {
    reg.configure(NAME, { fallbackMaxEntries: 2 });
    await reg.execute(NAME, () => 'A1', { cacheKey: 'a' });
    await reg.execute(NAME, () => 'B', { cacheKey: 'b' });
    await reg.execute(NAME, () => 'A2', { cacheKey: 'a' });
    await reg.execute(NAME, () => 'C', { cacheKey: 'c' }); // evicts b, the least recently used
    reg.openCircuit(NAME);

    expect((await reg.execute(NAME, () => 'x', { cacheKey: 'a' })).data).toBe('A2');
    expect((await reg.execute(NAME, () => 'x', { cacheKey: 'b' })).fromCache).toBe(false);
    expect((await reg.execute(NAME, () => 'x', { cacheKey: 'c' })).data).toBe('C');
  });

  it('keeps the default entry besides the fallbackMaxEntries keyed ones', async () => {
    reg.configure(NAME, { fallbackMaxEntries: 1 });
    await reg.execute(NAME, () => 'default');
    await reg.execute(NAME, () => 'A', { cacheKey: 'a' });
    await reg.execute(NAME, () => 'B', { cacheKey: 'b' });
    reg.openCircuit(NAME);

    expect((await reg.execute(NAME, () => 'x')).data).toBe('default');
    expect((await reg.execute(NAME, () => 'x', { cacheKey: 'b' })).data).toBe('B');
    expect((await reg.execute(NAME, () => 'x', { cacheKey: 'a' })).fromCache).toBe(false);
  });

  it('answers only while the value is younger than fallbackMaxAge (fake time)', async () => {
    reg.configure(NAME, { fallbackMaxAge: 1_000 });
    await reg.execute(NAME, () => 'default');
    await reg.execute(NAME, () => 'keyed', { cacheKey: 'k' });
    reg.openCircuit(NAME);

    await vi.advanceTimersByTimeAsync(999);
    expect((await reg.execute(NAME, () => 'x')).data).toBe('default');
    expect((await reg.execute(NAME, () => 'x', { cacheKey: 'k' })).data).toBe('keyed');

    await vi.advanceTimersByTimeAsync(1);
    const stale = await reg.execute(NAME, () => 'x');
    expect(stale).toMatchObject({ success: false, fromCache: false, rejected: true });
    expect(stale.error).toBeInstanceOf(CircuitOpenError);
    expect((await reg.execute(NAME, () => 'x', { cacheKey: 'k' })).fromCache).toBe(false);
  });

  it('a new fallbackMaxAge applies at once to values already stored', async () => {
    await reg.execute(NAME, () => 'v');
    reg.openCircuit(NAME);
    await vi.advanceTimersByTimeAsync(2_000);
    expect((await reg.execute(NAME, () => 'x')).fromCache).toBe(true);

    reg.configure(NAME, { fallbackMaxAge: 1_000 });
    expect((await reg.execute(NAME, () => 'x')).fromCache).toBe(false);
  });

  it('with cacheFallback: false a rejection gives CircuitOpenError with executorName and nextAttemptTime', async () => {
    reg.configure(NAME, { cacheFallback: false });
    await reg.execute(NAME, () => 'would be cached');
    await vi.advanceTimersByTimeAsync(10);
    await failTimes(3);
    const events = recordEvents(reg);

    const result = await reg.execute(NAME, () => 'x');

    expect(result).toMatchObject({ success: false, fromCache: false, rejected: true, circuitState: CircuitState.OPEN });
    const error = result.error as CircuitOpenError;
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error.name).toBe('CircuitOpenError');
    expect(error.executorName).toBe(NAME);
    expect(error.nextAttemptTime).toEqual(new Date(T0 + 10 + RESET_TIMEOUT));
    expect(events).toEqual(['request:rejected']);
  });

  it('turning cacheFallback off empties the cache', async () => {
    await reg.execute(NAME, () => 'v');
    reg.configure(NAME, { cacheFallback: false });
    reg.configure(NAME, { cacheFallback: true });
    reg.openCircuit(NAME);
    expect((await reg.execute(NAME, () => 'x')).fromCache).toBe(false);
  });
});

// ---------------------------------------------------------------------------- late results

describe('after a timeout, whatever fn does later is ignored', () => {
  it('a late rejection of a timed-out fn produces no unhandled rejection and is not counted again', async () => {
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const pending = reg.execute(
        NAME,
        () => new Promise((_, reject) => setTimeout(() => reject(new Error('late')), 2_000)),
      );
      await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT);
      expect((await pending).error).toBeInstanceOf(TimeoutError);

      await vi.advanceTimersByTimeAsync(2_000); // fn rejects now
      await nextRealTurn();
      await nextRealTurn();

      expect(unhandled).not.toHaveBeenCalled();
      const stats = reg.getStats(NAME)!;
      expect(stats.failedRequests).toBe(1);
      expect(stats.totalRequests).toBe(1);
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });

  it('a late success of a timed-out fn is ignored (not a success, not cached)', async () => {
    const pending = reg.execute(
      NAME,
      () => new Promise((resolve) => setTimeout(() => resolve('late value'), 2_000)),
    );
    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT);
    expect((await pending).success).toBe(false);
    await vi.advanceTimersByTimeAsync(2_000);

    const stats = reg.getStats(NAME)!;
    expect(stats.successfulRequests).toBe(0);
    expect(stats.failedRequests).toBe(1);
    reg.openCircuit(NAME);
    expect((await reg.execute(NAME, () => 'x')).fromCache).toBe(false);
  });
});
