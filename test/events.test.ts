import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import * as circuitBreaker from '../src/index.js';
import {
  CircuitState,
  createRegistry,
  type CircuitBreakerRegistry,
  type CircuitBreakerStats,
} from '../src/index.js';
import {
  ALL_EVENTS,
  boom,
  deferred,
  failTimes,
  fakeTimeRegistry,
  ok,
  recordEvents,
  tearDownFakeTimeRegistry,
} from './helpers.js';

let reg: CircuitBreakerRegistry;
let warn: MockInstance<typeof process.emitWarning>;

beforeEach(() => {
  reg = fakeTimeRegistry();
  warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
});

afterEach(() => {
  tearDownFakeTimeRegistry(reg, { destroyDefault: true, restoreMocks: true });
});

// ---------------------------------------------------------------------------
// State events and their statistics
// ---------------------------------------------------------------------------

describe('circuit:opened', () => {
  it('fires once with (name, stats) that already show the opening', async () => {
    const listener = vi.fn();
    reg.on('circuit:opened', listener);
    await failTimes(reg, 'svc', 4);
    expect(listener).not.toHaveBeenCalled();
    await failTimes(reg, 'svc', 1);
    const openedAt = Date.now();
    expect(listener).toHaveBeenCalledTimes(1);
    const [name, stats] = listener.mock.calls[0]! as [string, CircuitBreakerStats];
    expect(name).toBe('svc');
    expect(stats).toMatchObject({
      executorName: 'svc',
      state: CircuitState.OPEN,
      timesOpened: 1,
      timesClosed: 0,
      failedRequests: 5,
      totalRequests: 5,
      consecutiveFailures: 5,
    });
    expect(stats.nextAttemptTime).toBeInstanceOf(Date);
    expect(stats.nextAttemptTime!.getTime()).toBe(openedAt + 30_000);
    expect(stats.lastStateChange!.getTime()).toBe(openedAt);
    expect(stats.lastFailureTime!.getTime()).toBe(openedAt);
  });

  it('fires when a probe fails, with a fresh nextAttemptTime and timesOpened 2', async () => {
    const listener = vi.fn();
    reg.on('circuit:opened', listener);
    await failTimes(reg, 'svc', 5);
    await vi.advanceTimersByTimeAsync(30_000);
    await reg.execute('svc', boom);
    expect(listener).toHaveBeenCalledTimes(2);
    const stats = listener.mock.calls[1]![1] as CircuitBreakerStats;
    expect(stats).toMatchObject({ state: CircuitState.OPEN, timesOpened: 2, failedRequests: 6 });
    expect(stats.nextAttemptTime!.getTime()).toBe(Date.now() + 30_000);
  });

  it('fires for openCircuit, with nextAttemptTime null, and only when the state changes', async () => {
    const listener = vi.fn();
    reg.on('circuit:opened', listener);
    reg.openCircuit('svc');
    expect(listener).toHaveBeenCalledTimes(1);
    expect(listener.mock.calls[0]![1]).toMatchObject({ state: CircuitState.OPEN, timesOpened: 1, nextAttemptTime: null });
    reg.openCircuit('svc');
    expect(listener).toHaveBeenCalledTimes(1);

    // Already OPEN on its timer: openCircuit holds it, without a second event.
    await failTimes(reg, 'timed', 5);
    expect(listener).toHaveBeenCalledTimes(2);
    reg.openCircuit('timed');
    expect(listener).toHaveBeenCalledTimes(2);
  });
});

describe('circuit:half-open', () => {
  it('fires once, on time, with (name, stats) showing HALF_OPEN and no nextAttemptTime', async () => {
    const listener = vi.fn();
    reg.on('circuit:half-open', listener);
    await failTimes(reg, 'svc', 5);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(listener).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(listener).toHaveBeenCalledTimes(1);
    const [name, stats] = listener.mock.calls[0]! as [string, CircuitBreakerStats];
    expect(name).toBe('svc');
    expect(stats).toMatchObject({ state: CircuitState.HALF_OPEN, nextAttemptTime: null, timesOpened: 1 });
    expect(stats.lastStateChange!.getTime()).toBe(Date.now());

    // Later reads and time do not fire it again.
    reg.getState('svc');
    reg.getStats('svc');
    reg.isHalfOpen('svc');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('fires once when a query finds the time has come before the timer has run', async () => {
    let now = 1_000_000;
    const clocked = createRegistry({ clock: { now: () => now } });
    try {
      const listener = vi.fn();
      clocked.on('circuit:half-open', listener);
      await failTimes(clocked, 'svc', 5);
      now += 30_000;
      expect(clocked.getState('svc')).toBe(CircuitState.HALF_OPEN);
      expect(clocked.isHalfOpen('svc')).toBe(true);
      expect(listener).toHaveBeenCalledTimes(1);
      expect(listener.mock.calls[0]![1]).toMatchObject({ state: CircuitState.HALF_OPEN });
      await vi.advanceTimersByTimeAsync(30_000); // the timer runs now
      expect(listener).toHaveBeenCalledTimes(1);
    } finally {
      clocked.destroy();
    }
  });

  it('does not fire for a circuit held open by openCircuit', async () => {
    const listener = vi.fn();
    reg.on('circuit:half-open', listener);
    reg.openCircuit('svc');
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(listener).not.toHaveBeenCalled();
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
  });
});

describe('circuit:closed', () => {
  it('fires when the probes close the circuit, with stats showing the closing', async () => {
    const listener = vi.fn();
    reg.on('circuit:closed', listener);
    await failTimes(reg, 'svc', 5);
    await vi.advanceTimersByTimeAsync(30_000);
    await reg.execute('svc', ok());
    expect(listener).not.toHaveBeenCalled();
    await reg.execute('svc', ok());
    expect(listener).toHaveBeenCalledTimes(1);
    const [name, stats] = listener.mock.calls[0]! as [string, CircuitBreakerStats];
    expect(name).toBe('svc');
    expect(stats).toMatchObject({
      state: CircuitState.CLOSED,
      timesClosed: 1,
      timesOpened: 1,
      successfulRequests: 2,
      consecutiveSuccesses: 2,
      consecutiveFailures: 0,
      nextAttemptTime: null,
    });
    expect(stats.lastStateChange!.getTime()).toBe(Date.now());
  });

  it('fires for closeCircuit only when the state changes', () => {
    const listener = vi.fn();
    reg.on('circuit:closed', listener);
    reg.closeCircuit('svc'); // created CLOSED: no change
    expect(listener).not.toHaveBeenCalled();
    reg.openCircuit('svc');
    reg.closeCircuit('svc');
    expect(listener).toHaveBeenCalledTimes(1);
    expect(listener.mock.calls[0]![1]).toMatchObject({ state: CircuitState.CLOSED, timesClosed: 1 });
    reg.closeCircuit('svc');
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('fires on reset of a circuit that was not CLOSED, with zeroed stats', async () => {
    const listener = vi.fn();
    reg.on('circuit:closed', listener);
    await failTimes(reg, 'svc', 5);
    reg.reset('svc');
    expect(listener).toHaveBeenCalledTimes(1);
    expect(listener.mock.calls[0]![1]).toMatchObject({ state: CircuitState.CLOSED, totalRequests: 0, failedRequests: 0 });
    reg.reset('svc');
    expect(listener).toHaveBeenCalledTimes(1);
  });
});

// ---------------------------------------------------------------------------
// Request events
// ---------------------------------------------------------------------------

describe('request:success', () => {
  it('fires with (name, executionTime) equal to the result executionTime', async () => {
    const listener = vi.fn();
    reg.on('request:success', listener);
    const p = reg.execute('svc', () => new Promise((resolve) => setTimeout(() => resolve('x'), 250)));
    await vi.advanceTimersByTimeAsync(250);
    const result = await p;
    expect(listener).toHaveBeenCalledTimes(1);
    expect(listener.mock.calls[0]![0]).toBe('svc');
    expect(listener.mock.calls[0]![1]).toBe(250);
    expect(result.executionTime).toBe(250);
  });

  it('does not fire for failures or rejections, even ones answered from the cache', async () => {
    const listener = vi.fn();
    await reg.execute('svc', ok());
    reg.on('request:success', listener);
    await reg.execute('svc', boom);
    reg.openCircuit('svc');
    const fromCache = await reg.execute('svc', ok());
    expect(fromCache.fromCache).toBe(true);
    expect(listener).not.toHaveBeenCalled();
  });
});

describe('request:failure', () => {
  it('fires with (name, error), the same Error the result carries', async () => {
    const listener = vi.fn();
    reg.on('request:failure', listener);
    const error = new Error('service down');
    const result = await reg.execute('svc', () => Promise.reject(error));
    expect(listener).toHaveBeenCalledTimes(1);
    expect(listener.mock.calls[0]![0]).toBe('svc');
    expect(listener.mock.calls[0]![1]).toBe(error);
    expect(result.error).toBe(error);
  });

  it('hands an Error for a thrown non-Error', async () => {
    const listener = vi.fn();
    reg.on('request:failure', listener);
    const result = await reg.execute('svc', () => {
      throw 'oops';
    });
    const error = listener.mock.calls[0]![1] as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.cause).toBe('oops');
    expect(result.error).toBe(error);
  });

  it('fires with a TimeoutError for a call that timed out', async () => {
    const listener = vi.fn();
    reg.on('request:failure', listener);
    reg.configure('svc', { requestTimeout: 100 });
    const p = reg.execute('svc', () => new Promise(() => {}));
    await vi.advanceTimersByTimeAsync(100);
    await p;
    expect(listener).toHaveBeenCalledTimes(1);
    expect((listener.mock.calls[0]![1] as Error).name).toBe('TimeoutError');
  });

  it('does not fire for a rejection', async () => {
    const listener = vi.fn();
    reg.openCircuit('svc');
    reg.on('request:failure', listener);
    const result = await reg.execute('svc', ok());
    expect(result.rejected).toBe(true);
    expect(listener).not.toHaveBeenCalled();
  });
});

describe('request:rejected and fallback:used', () => {
  it('request:rejected fires with (name) for a rejection without a cached value; fallback:used does not', async () => {
    const rejected = vi.fn();
    const used = vi.fn();
    reg.on('request:rejected', rejected);
    reg.on('fallback:used', used);
    reg.openCircuit('svc');
    const result = await reg.execute('svc', ok());
    expect(result).toMatchObject({ success: false, rejected: true, fromCache: false });
    expect(rejected).toHaveBeenCalledTimes(1);
    expect(rejected.mock.calls[0]![0]).toBe('svc');
    expect(used).not.toHaveBeenCalled();
  });

  it('both fire, with (name), for a rejection answered from the cache', async () => {
    const rejected = vi.fn();
    const used = vi.fn();
    await reg.execute('svc', ok('cached'));
    reg.on('request:rejected', rejected);
    reg.on('fallback:used', used);
    reg.openCircuit('svc');
    const result = await reg.execute('svc', ok());
    expect(result).toMatchObject({ success: true, data: 'cached', fromCache: true, rejected: true });
    expect(rejected).toHaveBeenCalledTimes(1);
    expect(used).toHaveBeenCalledTimes(1);
    expect(used.mock.calls[0]![0]).toBe('svc');
  });

  it('request:rejected fires for a call rejected in HALF_OPEN with every probe slot taken', async () => {
    const rejected = vi.fn();
    reg.configure('svc', { successThreshold: 1, cacheFallback: false });
    await failTimes(reg, 'svc', 5);
    await vi.advanceTimersByTimeAsync(30_000);
    reg.on('request:rejected', rejected);
    const probe = deferred();
    const p = reg.execute('svc', () => probe.promise);
    await reg.execute('svc', ok());
    expect(rejected).toHaveBeenCalledTimes(1);
    probe.resolve('x');
    await p;
  });

  it('fallback:used does not fire when the cached value is too old', async () => {
    const used = vi.fn();
    reg.configure('svc', { fallbackMaxAge: 1_000 });
    await reg.execute('svc', ok('cached'));
    reg.on('fallback:used', used);
    reg.openCircuit('svc');
    await vi.advanceTimersByTimeAsync(1_000);
    await reg.execute('svc', ok());
    expect(used).not.toHaveBeenCalled();
  });
});

describe('listeners get exactly the documented arguments', () => {
  it('every event passes exactly the arguments of its documented signature', async () => {
    const calls: Record<string, unknown[][]> = {};
    for (const event of ALL_EVENTS) {
      calls[event] = [];
      reg.on(event, (...args: unknown[]) => {
        calls[event]!.push(args);
      });
    }
    reg.configure('svc', { failureThreshold: 1, successThreshold: 1, resetTimeout: 1_000 });
    await reg.execute('svc', ok('cached'));
    await reg.execute('svc', boom);
    await reg.execute('svc', ok()); // rejected, from the cache
    await vi.advanceTimersByTimeAsync(1_000);
    await reg.execute('svc', ok());

    // CONTRACT.md, Events: "request:rejected (name), fallback:used (name)"; the others take two.
    const arity = Object.fromEntries(ALL_EVENTS.map((event) => [event, calls[event]!.map((args) => args.length)]));
    expect(arity).toEqual({
      'circuit:opened': [2],
      'circuit:closed': [2],
      'circuit:half-open': [2],
      'request:success': [2, 2],
      'request:failure': [2],
      'request:rejected': [1],
      'fallback:used': [1],
      'request:retry': [],
    });
    expect(calls['request:rejected']![0]).toEqual(['svc']);
    expect(calls['fallback:used']![0]).toEqual(['svc']);

    // request:retry (name, attempt, error, delayMs): attempt is the try about to be made.
    let attempts = 0;
    const flaky = () => (++attempts === 1 ? Promise.reject(new Error('once')) : Promise.resolve('ok'));
    const retried = reg.execute('other', flaky, { retry: { attempts: 2, jitter: false, minDelay: 100 } });
    await vi.advanceTimersByTimeAsync(100);
    expect((await retried).success).toBe(true);
    expect(calls['request:retry']!.map((args) => args.length)).toEqual([4]);
    const [name, attempt, error, delay] = calls['request:retry']![0]!;
    expect([name, attempt, (error as Error).message, delay]).toEqual(['other', 2, 'once', 100]);
  });
});

// ---------------------------------------------------------------------------
// Order
// ---------------------------------------------------------------------------

describe('order of events for one call', () => {
  it('request:failure, then circuit:opened, then the call resolves', async () => {
    const log: string[] = [];
    recordEvents(reg, log);
    reg.configure('svc', { failureThreshold: 1 });
    await reg.execute('svc', boom).then(() => log.push('resolved'));
    expect(log).toEqual(['request:failure', 'circuit:opened', 'resolved']);
  });

  it('request:success, then circuit:closed, then the call resolves', async () => {
    const log: string[] = [];
    reg.configure('svc', { successThreshold: 1 });
    await failTimes(reg, 'svc', 5);
    await vi.advanceTimersByTimeAsync(30_000);
    recordEvents(reg, log);
    await reg.execute('svc', ok()).then(() => log.push('resolved'));
    expect(log).toEqual(['request:success', 'circuit:closed', 'resolved']);
  });

  it('request:rejected, then fallback:used, then the call resolves', async () => {
    const log: string[] = [];
    await reg.execute('svc', ok());
    reg.openCircuit('svc');
    recordEvents(reg, log);
    await reg.execute('svc', ok()).then(() => log.push('resolved'));
    expect(log).toEqual(['request:rejected', 'fallback:used', 'resolved']);
  });

  it('a failed probe: request:failure, then circuit:opened, then the call resolves', async () => {
    const log: string[] = [];
    await failTimes(reg, 'svc', 5);
    await vi.advanceTimersByTimeAsync(30_000);
    recordEvents(reg, log);
    await reg.execute('svc', boom).then(() => log.push('resolved'));
    expect(log).toEqual(['request:failure', 'circuit:opened', 'resolved']);
  });

  it('a timeout that opens the circuit: request:failure, then circuit:opened, then the call resolves', async () => {
    const log: string[] = [];
    reg.configure('svc', { failureThreshold: 1, requestTimeout: 100 });
    recordEvents(reg, log);
    const p = reg.execute('svc', () => new Promise(() => {})).then(() => log.push('resolved'));
    await vi.advanceTimersByTimeAsync(100);
    await p;
    expect(log).toEqual(['request:failure', 'circuit:opened', 'resolved']);
  });

  it('the whole life of a circuit, in order', async () => {
    const log: string[] = [];
    recordEvents(reg, log);
    reg.configure('svc', { failureThreshold: 2, successThreshold: 1, resetTimeout: 1_000 });
    await reg.execute('svc', ok());
    await failTimes(reg, 'svc', 2);
    await reg.execute('svc', ok());
    await vi.advanceTimersByTimeAsync(1_000);
    await reg.execute('svc', ok());
    expect(log).toEqual([
      'request:success',
      'request:failure',
      'request:failure',
      'circuit:opened',
      'request:rejected',
      'fallback:used',
      'circuit:half-open',
      'request:success',
      'circuit:closed',
    ]);
  });
});

// ---------------------------------------------------------------------------
// on / off
// ---------------------------------------------------------------------------

describe('on and off', () => {
  it('off removes a listener', async () => {
    const listener = vi.fn();
    reg.on('request:success', listener);
    await reg.execute('svc', ok());
    reg.off('request:success', listener);
    await reg.execute('svc', ok());
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('off removes only that listener, from only that event', async () => {
    const a = vi.fn();
    const b = vi.fn();
    reg.on('request:success', a);
    reg.on('request:success', b);
    reg.on('request:failure', a);
    reg.off('request:success', a);
    await reg.execute('svc', ok());
    await reg.execute('svc', boom);
    expect(b).toHaveBeenCalledTimes(1);
    expect(a).toHaveBeenCalledTimes(1);
    expect(a.mock.calls[0]![1]).toBeInstanceOf(Error); // the failure, not the success
  });

  it('a listener added twice is called twice; off removes one registration', async () => {
    const listener = vi.fn();
    reg.on('request:success', listener);
    reg.on('request:success', listener);
    await reg.execute('svc', ok());
    expect(listener).toHaveBeenCalledTimes(2);
    reg.off('request:success', listener);
    await reg.execute('svc', ok());
    expect(listener).toHaveBeenCalledTimes(3);
    reg.off('request:success', listener);
    await reg.execute('svc', ok());
    expect(listener).toHaveBeenCalledTimes(3);
  });

  it('off of a listener that was never added does nothing', async () => {
    const listener = vi.fn();
    reg.on('request:success', listener);
    expect(() => reg.off('request:success', () => {})).not.toThrow();
    expect(() => reg.off('circuit:opened', listener)).not.toThrow();
    await reg.execute('svc', ok());
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('listeners registered through the module functions hear the module registry', async () => {
    const listener = vi.fn();
    circuitBreaker.on('request:success', listener);
    await circuitBreaker.execute('svc', ok());
    circuitBreaker.off('request:success', listener);
    await circuitBreaker.execute('svc', ok());
    expect(listener).toHaveBeenCalledTimes(1);
    expect(listener.mock.calls[0]![0]).toBe('svc');
  });

  it('listeners run in the order they were added', async () => {
    const order: number[] = [];
    reg.on('request:success', () => order.push(1));
    reg.on('request:success', () => order.push(2));
    reg.on('request:success', () => order.push(3));
    await reg.execute('svc', ok());
    expect(order).toEqual([1, 2, 3]);
  });
});

// ---------------------------------------------------------------------------
// Listeners that throw
// ---------------------------------------------------------------------------

describe('a listener that throws', () => {
  it('does not change a success result, other listeners still run, and a warning is emitted', async () => {
    const after = vi.fn();
    reg.on('request:success', () => {
      throw new Error('listener bug');
    });
    reg.on('request:success', after);
    const result = await reg.execute('svc', ok('data'));
    expect(result).toMatchObject({ success: true, data: 'data', rejected: false, fromCache: false });
    expect(after).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(reg.getStats('svc')).toMatchObject({ successfulRequests: 1, failedRequests: 0, totalRequests: 1 });
  });

  it('reports the thrown error in a CircuitBreakerListenerWarning', async () => {
    reg.on('request:failure', () => {
      throw new Error('listener bug');
    });
    await reg.execute('svc', boom);
    expect(warn).toHaveBeenCalledTimes(1);
    const [message, options] = warn.mock.calls[0]! as unknown as [string, { type?: string }];
    expect(String(message)).toContain('listener bug');
    expect(String(message)).toContain('request:failure');
    expect(options).toMatchObject({ type: 'CircuitBreakerListenerWarning' });
  });

  it('does not change a failure result', async () => {
    reg.on('request:failure', () => {
      throw new Error('listener bug');
    });
    const error = new Error('service down');
    const result = await reg.execute('svc', () => Promise.reject(error));
    expect(result).toMatchObject({ success: false, rejected: false, fromCache: false });
    expect(result.error).toBe(error);
  });

  it('does not stop the circuit from opening', async () => {
    const afterOpened = vi.fn();
    reg.on('request:failure', () => {
      throw new Error('failure listener bug');
    });
    reg.on('circuit:opened', () => {
      throw new Error('opened listener bug');
    });
    reg.on('circuit:opened', afterOpened);
    await failTimes(reg, 'svc', 5);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    expect(reg.getStats('svc')).toMatchObject({ timesOpened: 1, failedRequests: 5 });
    expect(afterOpened).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledTimes(6);
    expect((await reg.execute('svc', ok())).rejected).toBe(true);
  });

  it('does not stop the circuit from going half-open and closing', async () => {
    reg.on('circuit:half-open', () => {
      throw new Error('half-open listener bug');
    });
    reg.on('circuit:closed', () => {
      throw new Error('closed listener bug');
    });
    reg.on('request:success', () => {
      throw new Error('success listener bug');
    });
    await failTimes(reg, 'svc', 5);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);
    await reg.execute('svc', ok());
    await reg.execute('svc', ok());
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    expect(reg.getStats('svc')).toMatchObject({ timesClosed: 1, successfulRequests: 2 });
  });

  it('does not change a rejection answered from the cache', async () => {
    await reg.execute('svc', ok('cached'));
    reg.on('request:rejected', () => {
      throw new Error('rejected listener bug');
    });
    reg.on('fallback:used', () => {
      throw new Error('fallback listener bug');
    });
    reg.openCircuit('svc');
    const result = await reg.execute('svc', ok());
    expect(result).toMatchObject({ success: true, data: 'cached', fromCache: true, rejected: true });
    expect(warn).toHaveBeenCalledTimes(2);
  });

  it('a thrown non-Error is reported too', async () => {
    reg.on('request:success', () => {
      throw 'a string';
    });
    const result = await reg.execute('svc', ok());
    expect(result.success).toBe(true);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('does not throw out of openCircuit, closeCircuit or reset', () => {
    reg.on('circuit:opened', () => {
      throw new Error('x');
    });
    reg.on('circuit:closed', () => {
      throw new Error('y');
    });
    expect(() => reg.openCircuit('svc')).not.toThrow();
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    expect(() => reg.closeCircuit('svc')).not.toThrow();
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    reg.openCircuit('svc');
    expect(() => reg.reset('svc')).not.toThrow();
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
  });
});

// ---------------------------------------------------------------------------
// destroy
// ---------------------------------------------------------------------------

describe('destroy', () => {
  it('removes every listener of the registry', async () => {
    const listeners = ALL_EVENTS.map((event) => {
      const fn = vi.fn();
      reg.on(event, fn);
      return fn;
    });
    reg.destroy();
    reg.configure('svc', { failureThreshold: 1, successThreshold: 1, resetTimeout: 100 });
    await reg.execute('svc', ok());
    await reg.execute('svc', boom);
    await reg.execute('svc', ok());
    await vi.advanceTimersByTimeAsync(100);
    await reg.execute('svc', ok());
    expect(reg.getStats('svc')).toMatchObject({ timesOpened: 1, timesClosed: 1, rejectedRequests: 1 });
    for (const fn of listeners) expect(fn).not.toHaveBeenCalled();
  });

  it('leaves the registry usable: listeners added afterwards are called', async () => {
    const old = vi.fn();
    const fresh = vi.fn();
    reg.on('request:success', old);
    reg.destroy();
    reg.on('request:success', fresh);
    await reg.execute('svc', ok());
    expect(old).not.toHaveBeenCalled();
    expect(fresh).toHaveBeenCalledTimes(1);
  });

  it('the module destroy removes the module listeners', async () => {
    const listener = vi.fn();
    circuitBreaker.on('request:success', listener);
    circuitBreaker.destroy();
    await circuitBreaker.execute('svc', ok());
    expect(listener).not.toHaveBeenCalled();
  });

  it('a call still running when destroyed emits nothing when it settles', async () => {
    const listener = vi.fn();
    reg.on('request:success', listener);
    const d = deferred();
    const p = reg.execute('svc', () => d.promise);
    let result: Awaited<typeof p> | undefined;
    void p.then((r) => {
      result = r;
    });
    reg.destroy();
    d.resolve('late');
    await vi.advanceTimersByTimeAsync(0);
    // decisions.md, Lifetime: "Calls still running resolve with their own outcome but no
    // longer time out, count or emit."
    expect(result).toMatchObject({ success: true, data: 'late' });
    expect(listener).not.toHaveBeenCalled();
  });

  it('a call still running when destroyed no longer times out', async () => {
    const p = reg.execute('svc', () => new Promise(() => {}));
    let settled = false;
    void p.then(() => {
      settled = true;
    });
    reg.destroy();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(settled).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});

// ---------------------------------------------------------------------------
// Removing a registration, and what a throwing listener reports
// ---------------------------------------------------------------------------

describe('the function on() returns', () => {
  it('removes its own registration only, when the same listener is registered twice', async () => {
    const seen = vi.fn();
    reg.on('request:success', seen);
    const removeSecond = reg.on('request:success', seen);
    removeSecond();
    await reg.execute('svc', ok());
    expect(seen).toHaveBeenCalledTimes(1);
  });

  it('does nothing, and throws nothing, once off() has removed that listener', async () => {
    const seen = vi.fn();
    const other = vi.fn();
    const remove = reg.on('request:success', seen);
    reg.on('request:success', other);
    reg.off('request:success', seen);
    expect(() => remove()).not.toThrow();
    await reg.execute('svc', ok());
    expect(seen).not.toHaveBeenCalled();
    expect(other).toHaveBeenCalledTimes(1);
  });

  it('does nothing, and throws nothing, after the registry was destroyed', () => {
    const remove = reg.on('request:failure', vi.fn());
    reg.destroy();
    expect(() => remove()).not.toThrow();
  });

  it('called twice, removes one registration, not another of the same listener', async () => {
    const seen = vi.fn();
    reg.on('request:success', seen);
    const remove = reg.on('request:success', seen);
    remove();
    remove();
    await reg.execute('svc', ok());
    expect(seen).toHaveBeenCalledTimes(1);
  });
});

describe('a listener that throws', () => {
  it('is reported as a process warning of its own type and code, naming the event', async () => {
    reg.on('request:success', () => {
      throw new Error('listener broke');
    });
    const result = await reg.execute('svc', ok('fine'));
    expect(result).toMatchObject({ success: true, data: 'fine' });
    expect(warn).toHaveBeenCalledTimes(1);
    const [message, options] = warn.mock.calls[0]!;
    expect(String(message)).toMatch(/^A listener for "request:success" threw; the circuit breaker ignored it: Error: listener broke/);
    expect(options).toEqual({ type: 'CircuitBreakerListenerWarning', code: 'CIRCUIT_BREAKER_LISTENER' });
  });
});

describe('an unknown event', () => {
  it('gets a message that lists every event, comma-separated', () => {
    expect(() => reg.on('request:done' as never, vi.fn() as never)).toThrow(
      new TypeError(
        'on: unknown event "request:done" (events: circuit:opened, circuit:closed, circuit:half-open, ' +
          'request:success, request:failure, request:rejected, fallback:used, request:retry)',
      ),
    );
  });
});

describe('off() after the registration is already gone', () => {
  it('does nothing, and listeners added afterwards are still called', async () => {
    const listener = vi.fn();
    const unsubscribe = reg.on('request:success', listener);
    unsubscribe();
    expect(() => reg.off('request:success', listener)).not.toThrow();

    reg.on('request:failure', listener);
    reg.off('request:failure', listener);
    expect(() => reg.off('request:failure', listener)).not.toThrow();

    const later = vi.fn();
    reg.on('request:success', later);
    reg.on('request:failure', later);
    await reg.execute('svc', ok());
    await reg.execute('svc', boom);
    expect(listener).not.toHaveBeenCalled();
    expect(later).toHaveBeenCalledTimes(2);
  });
});
