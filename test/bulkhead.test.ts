/**
 * The bulkhead (maxConcurrent, maxQueue): slots, the waiting line, its deadlines and
 * signals, and how a bulkhead rejection meets the cache, the fallback and the circuit.
 *
 * Source of truth: /work/shared/POLICIES.md section 3 and docs/decisions.md ("Bulkhead").
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BulkheadRejectedError,
  CircuitOpenError,
  CircuitState,
  TimeoutError,
  type CircuitBreakerConfig,
  type CircuitBreakerRegistry,
} from '../src/index.js';
import { boom, controlled, deferred, fakeTimeRegistry, hang, NAME, recordEvents, SMALL_DEFAULTS, T0, tearDownFakeTimeRegistry, track } from './helpers.js';

let reg: CircuitBreakerRegistry;

beforeEach(() => {
  reg = fakeTimeRegistry({ now: T0, registry: { defaults: SMALL_DEFAULTS } });
});

afterEach(() => {
  tearDownFakeTimeRegistry(reg);
});

describe('slots', () => {
  it('runs maxConcurrent calls at once and rejects the next without running it, leaving the circuit alone', async () => {
    reg.configure(NAME, { maxConcurrent: 2, cacheFallback: false });
    const events = recordEvents(reg);
    const { make, started } = controlled();
    const a = track(reg.execute(NAME, make('a')));
    const b = track(reg.execute(NAME, make('b')));
    const third = vi.fn(make('c'));
    const result = await reg.execute(NAME, third);
    expect(third).not.toHaveBeenCalled();
    expect(started()).toEqual(['a', 'b']);
    expect(result).toMatchObject({ success: false, rejected: true, fromCache: false, circuitState: CircuitState.CLOSED, executionTime: 0, attempts: 1 });
    expect(result.error).toBeInstanceOf(BulkheadRejectedError);
    expect(result.error).toMatchObject({ name: 'BulkheadRejectedError', executorName: NAME, maxConcurrent: 2, maxQueue: 0 });
    expect(events).toEqual(['request:rejected']);
    expect(a.settled || b.settled).toBe(false);
  });

  it('never moves the circuit, however many calls it refuses', async () => {
    reg.configure(NAME, { maxConcurrent: 1 });
    void reg.execute(NAME, hang);
    for (let i = 0; i < 20; i++) expect((await reg.execute(NAME, boom)).error).toBeInstanceOf(BulkheadRejectedError);
    const stats = reg.getStats(NAME)!;
    expect(stats).toMatchObject({ state: CircuitState.CLOSED, rejectedRequests: 20, failedRequests: 0, consecutiveFailures: 0, timesOpened: 0 });
    expect(stats.totalRequests).toBe(20);
  });

  it('a refused call is answered from the cache, as any rejection', async () => {
    reg.configure(NAME, { maxConcurrent: 1 });
    await reg.execute(NAME, () => 'kept');
    void reg.execute(NAME, hang);
    const events = recordEvents(reg);
    const result = await reg.execute(NAME, () => 'not run');
    expect(result).toMatchObject({ success: true, data: 'kept', fromCache: true, rejected: true, fromFallback: false });
    expect(events).toEqual(['request:rejected', 'fallback:used']);
  });

  it('a refused call gets the fallback when the cache cannot answer', async () => {
    const fallback = vi.fn(() => 'from fallback');
    reg.configure(NAME, { maxConcurrent: 1, cacheFallback: false, fallback });
    void reg.execute(NAME, hang);
    const result = await reg.execute(NAME, () => 'not run');
    expect(result).toMatchObject({ success: true, data: 'from fallback', fromFallback: true, rejected: true, fromCache: false });
    expect(fallback).toHaveBeenCalledWith(expect.any(BulkheadRejectedError), NAME);
  });

  it('frees a slot on success, failure, timeout and the caller\'s abort', async () => {
    reg.configure(NAME, { maxConcurrent: 1 });
    expect((await reg.execute(NAME, () => 'ok')).success).toBe(true);
    expect((await reg.execute(NAME, boom)).success).toBe(false);
    const timedOut = reg.execute(NAME, hang);
    await vi.advanceTimersByTimeAsync(SMALL_DEFAULTS.requestTimeout!);
    expect((await timedOut).error).toBeInstanceOf(TimeoutError);
    const controller = new AbortController();
    const aborted = reg.execute(NAME, hang, { signal: controller.signal });
    controller.abort(new Error('gave up'));
    expect((await aborted).error?.message).toBe('gave up');
    // The one slot is free again.
    expect(await reg.execute(NAME, () => 'again')).toMatchObject({ success: true, data: 'again' });
  });
});

describe('the waiting line', () => {
  it('a queue full of waiting calls drains in order as slots free', async () => {
    reg.configure(NAME, { maxConcurrent: 2, maxQueue: 3, requestTimeout: Infinity });
    const { calls, make, started } = controlled();
    const results = ['a', 'b', 'c', 'd', 'e'].map((label) => track(reg.execute(NAME, make(label))));
    const refused = await reg.execute(NAME, make('f'));
    expect(refused.error).toBeInstanceOf(BulkheadRejectedError);
    expect(started()).toEqual(['a', 'b']);

    calls[1]!.d.resolve('b done');
    await vi.advanceTimersByTimeAsync(0);
    expect(started()).toEqual(['a', 'b', 'c']);
    calls[0]!.d.reject(new Error('a failed'));
    await vi.advanceTimersByTimeAsync(0);
    expect(started()).toEqual(['a', 'b', 'c', 'd']);
    calls[2]!.d.resolve('c done');
    await vi.advanceTimersByTimeAsync(0);
    expect(started()).toEqual(['a', 'b', 'c', 'd', 'e']);
    calls[3]!.d.resolve('d done');
    calls[4]!.d.resolve('e done');
    await vi.advanceTimersByTimeAsync(0);
    expect(results.map((r) => r.result?.success)).toEqual([false, true, true, true, true]);
    expect(results.map((r) => r.result?.data)).toEqual([undefined, 'b done', 'c done', 'd done', 'e done']);
    // Every slot came back: two calls run at once again.
    const again = controlled();
    void reg.execute(NAME, again.make('x'));
    void reg.execute(NAME, again.make('y'));
    expect(again.started()).toEqual(['x', 'y']);
  });

  it('a waiting call keeps its deadline: it times out in line without ever running', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 1, requestTimeout: 5_000 });
    void reg.execute(NAME, hang); // runs until T0 + 5000
    reg.configure(NAME, { requestTimeout: 1_000 });
    const waiting = vi.fn(() => 'never');
    const queued = track(reg.execute(NAME, waiting)); // its deadline: T0 + 1000
    await vi.advanceTimersByTimeAsync(999);
    expect(queued.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(queued.result).toMatchObject({ success: false, rejected: false, executionTime: 0 });
    expect(queued.result!.error).toBeInstanceOf(TimeoutError);
    expect(waiting).not.toHaveBeenCalled();
    // It never reached the service: not a failure of the circuit.
    expect(reg.getStats(NAME)).toMatchObject({ failedRequests: 1, consecutiveFailures: 0, lastFailureTime: null });
  });

  it('a waiting call whose deadline comes with its slot times out without running', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 1 });
    const first = track(reg.execute(NAME, hang));
    const second = vi.fn(() => 'never');
    const queued = track(reg.execute(NAME, second));
    await vi.advanceTimersByTimeAsync(SMALL_DEFAULTS.requestTimeout!);
    expect(first.result!.error).toBeInstanceOf(TimeoutError);
    expect(queued.result!.error).toBeInstanceOf(TimeoutError);
    expect(second).not.toHaveBeenCalled();
    expect(await reg.execute(NAME, () => 'free')).toMatchObject({ success: true });
  });

  it('a waiting call started later runs with the time it has left', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 1 });
    const { calls, make } = controlled();
    void reg.execute(NAME, make('a'));
    await vi.advanceTimersByTimeAsync(400);
    const queued = track(reg.execute(NAME, make('b'))); // deadline T0 + 1400
    calls[0]!.d.resolve('a');
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(999);
    expect(queued.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(queued.result!.error).toBeInstanceOf(TimeoutError);
    expect(queued.result!.executionTime).toBe(1_000); // from when it was made, the wait included
  });

  it('a waiting call aborts on its caller\'s signal without running, and the line moves on', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 2, requestTimeout: Infinity });
    const { calls, make, started } = controlled();
    void reg.execute(NAME, make('a'));
    const controller = new AbortController();
    const abandoned = track(reg.execute(NAME, make('b'), { signal: controller.signal }));
    const last = track(reg.execute(NAME, make('c')));
    const reason = new Error('user left');
    controller.abort(reason);
    await vi.advanceTimersByTimeAsync(0);
    expect(abandoned.result).toMatchObject({ success: false, error: reason, rejected: false, executionTime: 0 });
    calls[0]!.d.resolve('a');
    await vi.advanceTimersByTimeAsync(0);
    expect(started()).toEqual(['a', 'c']);
    calls[1]!.d.resolve('c');
    await vi.advanceTimersByTimeAsync(0);
    expect(last.result).toMatchObject({ success: true, data: 'c' });
    expect(reg.getStats(NAME)).toMatchObject({ successfulRequests: 2, failedRequests: 1, consecutiveFailures: 0 });
  });

  it('a waiting call meets the circuit when its turn comes: opened meanwhile, it is rejected without running', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 1, failureThreshold: 1, cacheFallback: false });
    const { calls, make } = controlled();
    void reg.execute(NAME, make('a'));
    const waiting = vi.fn(() => 'never');
    const queued = track(reg.execute(NAME, waiting));
    calls[0]!.d.reject(new Error('down'));
    await vi.advanceTimersByTimeAsync(0);
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
    expect(queued.result).toMatchObject({ success: false, rejected: true, circuitState: CircuitState.OPEN });
    expect(queued.result!.error).toBeInstanceOf(CircuitOpenError);
    expect(waiting).not.toHaveBeenCalled();
  });

  it('an OPEN circuit rejects before the bulkhead is asked', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 5, cacheFallback: false });
    reg.openCircuit(NAME);
    const result = await reg.execute(NAME, () => 'x');
    expect(result.error).toBeInstanceOf(CircuitOpenError);
  });

  it('in HALF_OPEN a call waiting for a slot holds no probe slot', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 1, successThreshold: 2, failureThreshold: 1, requestTimeout: Infinity });
    await reg.execute(NAME, boom);
    await vi.advanceTimersByTimeAsync(SMALL_DEFAULTS.resetTimeout!);
    expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);
    const { calls, make, started } = controlled();
    void reg.execute(NAME, make('probe 1'));
    const queued = track(reg.execute(NAME, make('probe 2')));
    expect(started()).toEqual(['probe 1']);
    calls[0]!.d.resolve('ok');
    await vi.advanceTimersByTimeAsync(0);
    expect(started()).toEqual(['probe 1', 'probe 2']);
    calls[1]!.d.resolve('ok');
    await vi.advanceTimersByTimeAsync(0);
    expect(queued.result).toMatchObject({ success: true, circuitState: CircuitState.HALF_OPEN });
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
  });

  it('raising maxConcurrent starts waiting calls at once; Infinity starts them all', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 10, requestTimeout: Infinity });
    const { make, started } = controlled();
    for (const label of ['a', 'b', 'c', 'd']) void reg.execute(NAME, make(label));
    expect(started()).toEqual(['a']);
    reg.configure(NAME, { maxConcurrent: 2 });
    expect(started()).toEqual(['a', 'b']);
    reg.configure(NAME, { maxConcurrent: Infinity });
    expect(started()).toEqual(['a', 'b', 'c', 'd']);
    void reg.execute(NAME, make('e'));
    expect(started()).toHaveLength(5);
  });

  it('calls holding a slot when the limit is removed settle with their own results', async () => {
    reg.configure(NAME, { maxConcurrent: 1, requestTimeout: Infinity });
    const { calls, make } = controlled();
    const running = track(reg.execute(NAME, make('a')));
    reg.configure(NAME, { maxConcurrent: Infinity });
    calls[0]!.d.resolve('done');
    await vi.advanceTimersByTimeAsync(0);
    expect(running.result).toMatchObject({ success: true, data: 'done' });
    expect(reg.getStats(NAME)).toMatchObject({ successfulRequests: 1, failedRequests: 0 });
  });

  it('a lower maxConcurrent cuts no running call: new calls wait until enough have finished', async () => {
    reg.configure(NAME, { maxConcurrent: 2, maxQueue: 1, requestTimeout: Infinity });
    const { make, started } = controlled();
    void reg.execute(NAME, make('a'));
    void reg.execute(NAME, make('b'));
    reg.configure(NAME, { maxConcurrent: 1 });
    const queued = track(reg.execute(NAME, make('c')));
    expect(started()).toEqual(['a', 'b']);
    expect(queued.settled).toBe(false);
  });

  // With no limit there is no bulkhead, so calls started meanwhile hold no slot.
  it.each<[string, Array<Partial<CircuitBreakerConfig>>]>([
    ['set where there was none', [{ requestTimeout: Infinity }]],
    ['removed and set again', [{ maxConcurrent: 1, requestTimeout: Infinity }, { maxConcurrent: Infinity }]],
  ])('a limit %s counts only the calls started after it', async (_label, before) => {
    for (const config of before) reg.configure(NAME, config);
    const { make, started } = controlled();
    void reg.execute(NAME, make('a'));
    void reg.execute(NAME, make('b'));
    reg.configure(NAME, { maxConcurrent: 1 });
    void reg.execute(NAME, make('c'));
    expect(started()).toEqual(['a', 'b', 'c']);
    const refused = await reg.execute(NAME, make('d'));
    expect(refused.error).toBeInstanceOf(BulkheadRejectedError);
    expect(started()).toEqual(['a', 'b', 'c']);
  });

  it('destroy settles every waiting call with a BulkheadRejectedError', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 2 });
    void reg.execute(NAME, hang);
    const waiting = vi.fn(() => 'never');
    const queued = [track(reg.execute(NAME, waiting)), track(reg.execute(NAME, waiting))];
    reg.destroy();
    await vi.advanceTimersByTimeAsync(0);
    for (const q of queued) {
      expect(q.result).toMatchObject({ success: false, rejected: true });
      expect(q.result!.error).toBeInstanceOf(BulkheadRejectedError);
      expect(q.result!.error!.message).toMatch(/destroyed/);
    }
    expect(waiting).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a waiting call that takes the signal gets one when it runs', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 1 });
    const first = deferred();
    void reg.execute(NAME, () => first.promise);
    let got: unknown;
    const queued = reg.execute(NAME, (signal) => {
      got = signal;
      return 'ran';
    });
    first.resolve('done');
    expect(await queued).toMatchObject({ success: true, data: 'ran' });
    expect(got).toBeInstanceOf(AbortSignal);
  });

  it('a waiting fn that throws synchronously is a failure that frees its slot', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: 1 });
    const first = deferred();
    void reg.execute(NAME, () => first.promise);
    const queued = reg.execute(NAME, () => {
      throw new Error('sync');
    });
    first.resolve('done');
    expect((await queued).error?.message).toBe('sync');
    expect(await reg.execute(NAME, () => 'next')).toMatchObject({ success: true });
  });
});

describe('configuration', () => {
  it('defaults: no bulkhead (maxConcurrent Infinity, maxQueue 0)', () => {
    reg.configure(NAME, {});
    expect(reg.getConfig(NAME)).toMatchObject({ maxConcurrent: Infinity, maxQueue: 0 });
  });

  it.each([
    ['maxConcurrent', 0, RangeError],
    ['maxConcurrent', 1.5, RangeError],
    ['maxConcurrent', -1, RangeError],
    ['maxConcurrent', NaN, RangeError],
    ['maxConcurrent', '2', TypeError],
    ['maxQueue', -1, RangeError],
    ['maxQueue', 0.5, RangeError],
    ['maxQueue', null, TypeError],
  ])('%s: %s is refused, naming key and value, and changes nothing', (key, value, kind) => {
    reg.configure(NAME, { maxConcurrent: 3 });
    const before = reg.getConfig(NAME);
    expect(() => reg.configure(NAME, { [key]: value })).toThrow(kind);
    expect(() => reg.configure(NAME, { [key]: value })).toThrow(new RegExp(`${key} must be .*got ${String(value === '2' ? '"2"' : value)}`));
    expect(reg.getConfig(NAME)).toEqual(before);
  });
});
