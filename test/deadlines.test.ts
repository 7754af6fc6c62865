/**
 * The deadline machinery up close: the order in which a queue expires its calls, the one
 * timer it asks for, how it drops settled calls (its memory bound), the shared arming turn
 * under real timers, how fake timers are recognised, and what a call leaves on the
 * caller's signal and how a call's return value is awaited.
 *
 * Source of truth: src/core/timeout.ts and src/core/call.ts, docs/decisions.md
 * ("Timeouts and signals" > Timers).
 */
import { createHook } from 'node:async_hooks';
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeadlineQueue, type Deadline, type TimerArming } from '../src/core/timeout.js';
import { TimeoutError, createRegistry, type CircuitBreakerRegistry } from '../src/index.js';
import { NAME, REQUEST_TIMEOUT, SMALL_DEFAULTS, T0, fakeTimeRegistry, track } from './helpers.js';

let reg: CircuitBreakerRegistry | undefined;

afterEach(() => {
  vi.restoreAllMocks(); // before useRealTimers, so a spy never reinstalls a fake function
  reg?.destroy();
  reg = undefined;
  vi.useRealTimers();
});

/** Never settles; takes the call's signal. */
const hang = (_signal: AbortSignal) => new Promise<never>(() => {});

/** Lets every queued microtask (and the ones they queue) run. */
async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** One loop turn under real timers: every setImmediate queued before it has run. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The timeout of the real-timer tests: no other timer in the process is near it (armed a turn late: a bit less). */
const REAL_TIMEOUT = 60_017;

/**
 * Watches the real timers created from now on: the live deadline timers (those of at
 * most REAL_TIMEOUT, less the time since their call started) and the live setImmediates. Not a spy on setTimeout: a replaced setTimeout
 * reads as fake timers (src/core/timeout.ts).
 */
function watchHandles() {
  type Handle = { _idleTimeout?: number; _destroyed: boolean };
  const timers: Handle[] = [];
  const immediates: Handle[] = [];
  const hook = createHook({
    init(_id, type, _trigger, resource) {
      const handle = resource as Handle;
      const delay = handle._idleTimeout ?? 0;
      if (type === 'Timeout' && delay > REAL_TIMEOUT - 1_000 && delay <= REAL_TIMEOUT) timers.push(handle);
      if (type === 'Immediate') immediates.push(handle);
    },
  }).enable();
  afterEach(() => hook.disable());
  return {
    timers: () => timers.filter((t) => !t._destroyed).length,
    immediates: () => immediates.filter((i) => !i._destroyed).length,
  };
}

// ---------------------------------------------------------------------------- DeadlineQueue

interface Entry extends Deadline {
  readonly id: string;
}

const entry = (deadline: number, id = String(deadline)): Entry => ({ id, deadline, done: false });

/** A queue on the fake clock whose arming requests are only counted: the test arms it by hand. */
function queueWithCountedArming(expire: (entry: Entry, now: number) => void = () => {}) {
  const request = vi.fn();
  const queue = new DeadlineQueue<Entry>(() => Date.now(), { request } as unknown as TimerArming, expire);
  return { queue, request };
}

describe('DeadlineQueue: timer bookkeeping', () => {
  it('asks for arming once, not once per call, and not at all while its timer runs', () => {
    vi.useFakeTimers({ now: 0 });
    const { queue, request } = queueWithCountedArming();
    queue.add(entry(1_000, 'a'));
    queue.add(entry(1_000, 'b'));
    queue.add(entry(2_000, 'c'));
    expect(request).toHaveBeenCalledTimes(1);

    queue.arm();
    expect(vi.getTimerCount()).toBe(1);
    queue.add(entry(3_000, 'd'));
    expect(request).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(1);
  });

  it('a second arm() while its timer runs starts no second timer', () => {
    vi.useFakeTimers({ now: 0 });
    const { queue } = queueWithCountedArming();
    const a = entry(1_000);
    queue.add(a);
    queue.arm();
    queue.arm();
    expect(vi.getTimerCount()).toBe(1);
    queue.settle(a);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a deadline that goes behind the head keeps the armed timer; one ahead of it re-arms', () => {
    vi.useFakeTimers({ now: 0 });
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const { queue, request } = queueWithCountedArming();
    queue.add(entry(1_000));
    queue.add(entry(2_000));
    queue.arm();
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1);

    queue.add(entry(1_500)); // between the two: the timer for 1,000 still fits
    expect(request).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(1);

    queue.add(entry(500)); // ahead of the head: the timer for 1,000 would be late
    expect(vi.getTimerCount()).toBe(0);
    expect(request).toHaveBeenCalledTimes(2);
  });

  it('expires calls in deadline order, whatever order they were added in', () => {
    vi.useFakeTimers({ now: 0 });
    const expired: string[] = [];
    const { queue } = queueWithCountedArming((e) => expired.push(e.id));
    for (const deadline of [300, 100, 400, 200, 100]) queue.add(entry(deadline));
    queue.arm();
    vi.advanceTimersByTime(150);
    expect(expired).toEqual(['100', '100']);
    vi.advanceTimersByTime(250);
    expect(expired).toEqual(['100', '100', '200', '300', '400']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('clear() during an expiry stops it: a call added afterwards is not expired by that firing', () => {
    vi.useFakeTimers({ now: 0 });
    const expired: string[] = [];
    const { queue } = queueWithCountedArming((e) => {
      expired.push(e.id);
      if (e.id === 'a') {
        queue.clear();
        queue.add(entry(50, 'late')); // already past its deadline
      }
    });
    queue.add(entry(100, 'a'));
    queue.add(entry(100, 'b'));
    queue.arm();
    vi.advanceTimersByTime(100);
    expect(expired).toEqual(['a']);
  });
});

describe('DeadlineQueue: memory bound', () => {
  it('holds exactly the running calls while none has settled, and nothing once all have', () => {
    vi.useFakeTimers({ now: 0 });
    const { queue } = queueWithCountedArming();
    expect(queue.length).toBe(0);
    const first = entry(1_000);
    queue.add(first);
    expect(queue.length).toBe(1);
    queue.settle(first);
    expect(queue.length).toBe(0);

    // Many calls settled together (the array is let go of rather than emptied in place).
    const many = Array.from({ length: 40 }, (_, i) => entry(1_000 + i));
    for (const e of many) queue.add(e);
    expect(queue.length).toBe(40);
    for (const e of many) queue.settle(e);
    expect(queue.length).toBe(0);

    // An arming turn that comes after every call of its turn has settled.
    queue.arm();
    expect(queue.length).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  /** Adds a long-running head call and `others` behind it, settles the others in order: the lengths seen. */
  function lengthsSettlingBehindHead(others: number): { lengths: number[]; afterHead: number } {
    vi.useFakeTimers({ now: 0 });
    const { queue } = queueWithCountedArming();
    const head = entry(10_000, 'head');
    queue.add(head);
    const rest = Array.from({ length: others }, (_, i) => entry(20_000, `o${i}`));
    for (const e of rest) queue.add(e);
    const lengths = rest.map((e) => {
      queue.settle(e);
      return queue.length;
    });
    queue.settle(head);
    return { lengths, afterHead: queue.length };
  }

  it('calls settled behind a long-running head are dropped once they outnumber 64 and the running ones', () => {
    // 71 running; the 65th settled one (65 > 64, 65 > 6 running) compacts the array to the 6 running.
    const { lengths, afterHead } = lengthsSettlingBehindHead(70);
    expect(lengths).toEqual([...Array<number>(64).fill(71), ...Array<number>(6).fill(6)]);
    expect(afterHead).toBe(0);
  });

  it('with many running calls, settled ones are kept until they outnumber the running ones', () => {
    // 202 running: settled 101 = running 101 is not yet more; the 102nd compacts to the 100 running.
    // Then 65 more settle (65 > 64, 65 > 35 running): compacted to 35.
    const { lengths, afterHead } = lengthsSettlingBehindHead(201);
    expect(lengths).toEqual([
      ...Array<number>(101).fill(202),
      ...Array<number>(65).fill(100),
      ...Array<number>(35).fill(35),
    ]);
    expect(afterHead).toBe(0);
  });

  it('through the registry: after 10,000 quick calls behind one hung call, it still times out on time', async () => {
    vi.useFakeTimers({ now: T0 });
    reg = createRegistry({ defaults: { ...SMALL_DEFAULTS, failureThreshold: 100_000 } });
    const stuck = track(reg.execute(NAME, hang));
    for (let i = 0; i < 10_000; i++) await reg.execute(NAME, async () => i);
    expect(stuck.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT);
    expect(stuck.result!.error).toBeInstanceOf(TimeoutError);
    expect(vi.getTimerCount()).toBe(0);
  });
});

// ---------------------------------------------------------------------------- per-call timeouts

describe('a per-call timeout shorter than the calls already running', () => {
  it('times out on time, while the longer call started before it still runs', async () => {
    reg = fakeTimeRegistry({ now: T0, registry: { defaults: SMALL_DEFAULTS } });
    const long = track(reg.execute(NAME, hang));
    await vi.advanceTimersByTimeAsync(100);
    const short = track(reg.execute(NAME, hang, { timeout: 200 }));

    vi.advanceTimersByTime(200);
    await flushMicrotasks();
    expect(short.settled).toBe(true);
    expect(short.result!.error).toBeInstanceOf(TimeoutError);
    expect(short.result!.executionTime).toBe(200);
    expect(long.settled).toBe(false);

    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT - 300);
    expect(long.result!.error).toBeInstanceOf(TimeoutError);
    expect(long.result!.executionTime).toBe(REQUEST_TIMEOUT);
    expect(vi.getTimerCount()).toBe(0);
  });
});

// ---------------------------------------------------------------------------- real timers

describe('under real timers: the shared arming turn', () => {
  it('calls in flight on several executors cost one setImmediate, then one timer per executor', async () => {
    const handles = watchHandles();
    reg = createRegistry({ defaults: { requestTimeout: REAL_TIMEOUT } });
    for (const name of ['a', 'b', 'c']) {
      void reg.execute(name, hang);
      void reg.execute(name, hang);
    }
    expect(handles.immediates()).toBe(1);
    expect(handles.timers()).toBe(0); // none within the calls' own turn

    await nextTurn();
    expect(handles.timers()).toBe(3);
    reg.destroy();
    expect(handles.timers()).toBe(0);
  });

  it('destroy() cancels a pending arming turn, and the registry arms calls made afterwards', async () => {
    const handles = watchHandles();
    reg = createRegistry({ defaults: { requestTimeout: REAL_TIMEOUT } });
    void reg.execute(NAME, hang);
    expect(handles.immediates()).toBe(1);

    reg.destroy();
    expect(handles.immediates()).toBe(0);
    expect(handles.timers()).toBe(0);

    void reg.execute(NAME, hang);
    await nextTurn();
    expect(handles.timers()).toBe(1);
  });
});

describe('what counts as fake timers', () => {
  it('a setTimeout replaced after load (a spy) arms at once', () => {
    reg = createRegistry({ defaults: { requestTimeout: 60_000 } });
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    void reg.execute(NAME, hang);
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
    // The real clock may tick between the call's start and the arming.
    const delay = setTimeoutSpy.mock.calls[0]![1]!;
    expect(delay).toBeGreaterThan(59_000);
    expect(delay).toBeLessThanOrEqual(60_000);
  });

  it('a setImmediate replaced after load (a spy) arms at once, without it', () => {
    const handles = watchHandles();
    reg = createRegistry({ defaults: { requestTimeout: REAL_TIMEOUT } });
    const setImmediateSpy = vi.spyOn(globalThis, 'setImmediate');
    void reg.execute(NAME, hang);
    expect(handles.timers()).toBe(1);
    expect(setImmediateSpy).not.toHaveBeenCalled();
  });

  it('fake setTimeout installed before the module loaded (setImmediate real): one advance expires a hung call', async () => {
    vi.useFakeTimers({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.resetModules();
    const fresh = await import('../src/index.js');
    const own = fresh.createRegistry({ defaults: { requestTimeout: REQUEST_TIMEOUT } });
    try {
      const call = track(own.execute(NAME, hang));
      vi.advanceTimersByTime(REQUEST_TIMEOUT);
      await flushMicrotasks();
      expect(call.settled).toBe(true);
      expect(call.result!.error).toBeInstanceOf(fresh.TimeoutError);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      own.destroy();
    }
  });

  it('fake setImmediate installed before the module loaded (setTimeout real): the timer is armed at once', async () => {
    const handles = watchHandles();
    vi.useFakeTimers({ toFake: ['setImmediate', 'clearImmediate'] });
    vi.resetModules();
    const fresh = await import('../src/index.js');
    const own = fresh.createRegistry({ defaults: { requestTimeout: REAL_TIMEOUT } });
    try {
      void own.execute(NAME, hang);
      expect(handles.timers()).toBe(1);
      expect(vi.getTimerCount()).toBe(0); // no fake setImmediate was asked for
    } finally {
      own.destroy();
    }
  });
});

// ---------------------------------------------------------------------------- the caller's signal

describe("the caller's signal", () => {
  it('keeps no listener once the call has settled, however it settled', async () => {
    reg = fakeTimeRegistry({ now: T0, registry: { defaults: SMALL_DEFAULTS } });
    const controller = new AbortController();
    const { signal } = controller;
    for (let i = 0; i < 5; i++) await reg.execute(NAME, async () => i, { signal });
    await reg.execute(NAME, async () => {
      throw new Error('failed');
    }, { signal });
    const timedOut = reg.execute(NAME, hang, { signal });
    expect(getEventListeners(signal, 'abort')).toHaveLength(1); // only while it runs
    await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT);
    expect((await timedOut).error).toBeInstanceOf(TimeoutError);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);

    const failed = reg.getStats(NAME)!.failedRequests;
    controller.abort();
    expect(reg.getStats(NAME)!.failedRequests).toBe(failed);
  });
});

// ---------------------------------------------------------------------------- what fn returns

describe("fn's return value", () => {
  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['a plain object', { a: 1 }],
    ['an object whose then is not a function', { then: 5 }],
  ])('%s is a plain value: the call settles within execute(), no timer', (_label, value) => {
    reg = fakeTimeRegistry({ now: T0, registry: { defaults: SMALL_DEFAULTS } });
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const call = track(reg.execute(NAME, () => value));
    expect(reg.getStats(NAME)!.successfulRequests).toBe(1);
    expect(setTimeoutSpy).not.toHaveBeenCalled();
    return flushMicrotasks().then(() => expect(call.result!.data).toBe(value));
  });

  it('a function with a then method is a thenable: its value is awaited', async () => {
    reg = fakeTimeRegistry({ now: T0, registry: { defaults: SMALL_DEFAULTS } });
    const thenable = Object.assign(() => 'the function itself', {
      then(resolve: (value: string) => void) {
        resolve('from then');
      },
    }) as unknown as PromiseLike<string>;
    const result = await reg.execute(NAME, () => thenable);
    expect(result).toMatchObject({ success: true, data: 'from then' });
  });
});
