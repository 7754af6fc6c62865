import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as circuitBreaker from '../src/index.js';
import { CircuitState, createRegistry, type CircuitBreakerRegistry, type CircuitBreakerStats } from '../src/index.js';
import {
  boom,
  deferred,
  failTimes,
  fakeTimeRegistry,
  ok,
  tearDownFakeTimeRegistry,
  zeroStats,
} from './helpers.js';

// ---------------------------------------------------------------------------
// Helpers (the shared ones are in helpers.ts)
// ---------------------------------------------------------------------------

/** Succeeds after `ms` of (fake) time. */
const slowOk = (ms: number, value: unknown = 'ok') => () =>
  new Promise((resolve) => setTimeout(() => resolve(value), ms));
/** Fails after `ms` of (fake) time. */
const slowFail = (ms: number) => () =>
  new Promise((_, reject) => setTimeout(() => reject(new Error('slow boom')), ms));

/** Runs `fn` and lets `ms` of fake time pass so it can settle. */
async function run(reg: CircuitBreakerRegistry, name: string, fn: () => unknown, ms: number) {
  const p = reg.execute(name, fn);
  await vi.advanceTimersByTimeAsync(ms);
  return p;
}

function expectTotalsAddUp(stats: CircuitBreakerStats | null): void {
  expect(stats).not.toBeNull();
  expect(stats!.totalRequests).toBe(stats!.successfulRequests + stats!.failedRequests + stats!.rejectedRequests);
}

let reg: CircuitBreakerRegistry;

beforeEach(() => {
  reg = fakeTimeRegistry();
});

afterEach(() => {
  tearDownFakeTimeRegistry(reg, { destroyDefault: true, restoreMocks: true });
});

// ---------------------------------------------------------------------------
// Initial statistics
// ---------------------------------------------------------------------------

describe('a new breaker', () => {
  it('has every counter at zero, CLOSED, and every date null', () => {
    reg.configure('svc', {});
    expect(reg.getStats('svc')).toEqual(zeroStats('svc'));
  });
});

// ---------------------------------------------------------------------------
// totalRequests
// ---------------------------------------------------------------------------

describe('totalRequests', () => {
  it('equals successful + failed + rejected after a mix of outcomes', async () => {
    reg.configure('svc', { failureThreshold: 3, requestTimeout: 100 });
    await reg.execute('svc', ok());
    await reg.execute('svc', ok());
    expectTotalsAddUp(reg.getStats('svc'));
    await reg.execute('svc', boom);
    await run(reg, 'svc', () => new Promise(() => {}), 100); // timeout
    expectTotalsAddUp(reg.getStats('svc'));
    await reg.execute('svc', () => {
      throw 'not an error';
    });
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    await reg.execute('svc', ok()); // rejected, answered from cache
    reg.configure('svc', { cacheFallback: false });
    await reg.execute('svc', ok()); // rejected, no cache

    const stats = reg.getStats('svc')!;
    expect(stats).toMatchObject({
      successfulRequests: 2,
      failedRequests: 3,
      rejectedRequests: 2,
      totalRequests: 7,
    });
    expectTotalsAddUp(stats);
  });

  it('counts a rejected call answered from the cache as rejected, not successful', async () => {
    await reg.execute('svc', ok('cached'));
    reg.openCircuit('svc');
    const result = await reg.execute('svc', ok('fresh'));
    expect(result).toMatchObject({ success: true, fromCache: true, rejected: true });
    expect(reg.getStats('svc')).toMatchObject({
      totalRequests: 2,
      successfulRequests: 1,
      failedRequests: 0,
      rejectedRequests: 1,
    });
  });

  it('counts a rejection in HALF_OPEN (every probe slot taken) as rejected', async () => {
    reg.configure('svc', { successThreshold: 1, cacheFallback: false });
    await failTimes(reg, 'svc', 5);
    await vi.advanceTimersByTimeAsync(30_000);
    const probe = deferred();
    const p = reg.execute('svc', () => probe.promise);
    const rejected = await reg.execute('svc', ok());
    expect(rejected.rejected).toBe(true);
    probe.resolve('x');
    await p;
    expect(reg.getStats('svc')).toMatchObject({
      successfulRequests: 1,
      failedRequests: 5,
      rejectedRequests: 1,
      totalRequests: 7,
    });
  });

  it('counts a call still running in no counter until it settles', async () => {
    const d = deferred();
    const p = reg.execute('svc', () => d.promise);
    expect(reg.getStats('svc')!.totalRequests).toBe(0);
    d.resolve('x');
    await p;
    expect(reg.getStats('svc')!.totalRequests).toBe(1);
  });
});

// ---------------------------------------------------------------------------
// avgResponseTime
// ---------------------------------------------------------------------------

describe('avgResponseTime', () => {
  it('is the mean executionTime of calls that ran', async () => {
    const a = await run(reg, 'svc', slowOk(100), 100);
    const b = await run(reg, 'svc', slowOk(300), 300);
    expect(a.executionTime).toBe(100);
    expect(b.executionTime).toBe(300);
    expect(reg.getStats('svc')!.avgResponseTime).toBe(200);
  });

  it('includes failures', async () => {
    await run(reg, 'svc', slowOk(100), 100);
    await run(reg, 'svc', slowOk(300), 300);
    await run(reg, 'svc', slowFail(600), 600);
    expect(reg.getStats('svc')!.avgResponseTime).toBeCloseTo(1000 / 3, 10);
  });

  it('counts a timeout at the length of the timeout', async () => {
    reg.configure('svc', { requestTimeout: 1_000 });
    await run(reg, 'svc', slowOk(200), 200);
    const timedOut = await run(reg, 'svc', () => new Promise(() => {}), 1_000);
    expect(timedOut.error!.name).toBe('TimeoutError');
    expect(timedOut.executionTime).toBe(1_000);
    expect(reg.getStats('svc')!.avgResponseTime).toBe(600);
  });

  it('leaves rejected calls out', async () => {
    await run(reg, 'svc', slowOk(100), 100);
    await run(reg, 'svc', slowOk(300), 300);
    reg.openCircuit('svc');
    const fromCache = await reg.execute('svc', ok());
    reg.configure('svc', { cacheFallback: false });
    const plain = await reg.execute('svc', ok());
    expect(fromCache.rejected && plain.rejected).toBe(true);
    expect(fromCache.executionTime).toBe(0);
    expect(plain.executionTime).toBe(0);
    expect(reg.getStats('svc')).toMatchObject({ rejectedRequests: 2, avgResponseTime: 200 });
  });

  it('is 0 when nothing has run, even after rejections', async () => {
    reg.openCircuit('svc');
    await reg.execute('svc', ok());
    expect(reg.getStats('svc')).toMatchObject({ rejectedRequests: 1, avgResponseTime: 0 });
  });
});

// ---------------------------------------------------------------------------
// Consecutive counters
// ---------------------------------------------------------------------------

describe('consecutive counters', () => {
  it('consecutiveFailures resets on a success, consecutiveSuccesses on a failure', async () => {
    const seen: Array<[number, number]> = [];
    const snap = () => {
      const s = reg.getStats('svc')!;
      seen.push([s.consecutiveFailures, s.consecutiveSuccesses]);
    };
    await reg.execute('svc', boom);
    snap();
    await reg.execute('svc', boom);
    snap();
    await reg.execute('svc', ok());
    snap();
    await reg.execute('svc', ok());
    snap();
    await reg.execute('svc', ok());
    snap();
    await reg.execute('svc', boom);
    snap();
    expect(seen).toEqual([
      [1, 0],
      [2, 0],
      [0, 1],
      [0, 2],
      [0, 3],
      [1, 0],
    ]);
  });

  it('a thrown non-Error and a timeout both count as failures in a row', async () => {
    reg.configure('svc', { requestTimeout: 50 });
    await reg.execute('svc', ok());
    await reg.execute('svc', () => {
      throw 42;
    });
    await run(reg, 'svc', () => new Promise(() => {}), 50);
    expect(reg.getStats('svc')).toMatchObject({ consecutiveFailures: 2, consecutiveSuccesses: 0 });
  });

  it('a late result from before the circuit opened is counted in the totals but not in the streaks', async () => {
    reg.configure('svc', { failureThreshold: 2 });
    const slow = deferred();
    const p = reg.execute('svc', () => slow.promise);
    await failTimes(reg, 'svc', 2);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    const before = reg.getStats('svc')!;
    slow.resolve('late');
    const result = await p;
    expect(result.success).toBe(true);
    const after = reg.getStats('svc')!;
    expect(after.successfulRequests).toBe(before.successfulRequests + 1);
    expect(after.consecutiveSuccesses).toBe(before.consecutiveSuccesses);
    expect(after.consecutiveFailures).toBe(before.consecutiveFailures);
    expect(after.state).toBe(CircuitState.OPEN);
  });
});

// ---------------------------------------------------------------------------
// timesOpened / timesClosed
// ---------------------------------------------------------------------------

describe('timesOpened and timesClosed', () => {
  it('count transitions into OPEN and into CLOSED, not into HALF_OPEN', async () => {
    const counts = () => {
      const s = reg.getStats('svc')!;
      return [s.timesOpened, s.timesClosed];
    };
    await failTimes(reg, 'svc', 5);
    expect(counts()).toEqual([1, 0]);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);
    expect(counts()).toEqual([1, 0]);
    await reg.execute('svc', boom); // probe fails: reopens
    expect(counts()).toEqual([2, 0]);
    await vi.advanceTimersByTimeAsync(30_000);
    await reg.execute('svc', ok());
    await reg.execute('svc', ok());
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    expect(counts()).toEqual([2, 1]);
  });

  it('count manual opening and closing, only when the state changes', () => {
    reg.openCircuit('svc');
    expect(reg.getStats('svc')).toMatchObject({ timesOpened: 1, timesClosed: 0 });
    reg.openCircuit('svc');
    expect(reg.getStats('svc')).toMatchObject({ timesOpened: 1, timesClosed: 0 });
    reg.closeCircuit('svc');
    expect(reg.getStats('svc')).toMatchObject({ timesOpened: 1, timesClosed: 1 });
    reg.closeCircuit('svc');
    expect(reg.getStats('svc')).toMatchObject({ timesOpened: 1, timesClosed: 1 });
  });

  it('creating a breaker is not a transition into CLOSED', () => {
    reg.closeCircuit('svc');
    expect(reg.getStats('svc')).toMatchObject({ timesOpened: 0, timesClosed: 0, lastStateChange: null });
  });
});

// ---------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------

describe('dates', () => {
  it('are Date objects set at the time of the event, or null', async () => {
    const t0 = Date.now();
    await reg.execute('svc', ok());
    let s = reg.getStats('svc')!;
    expect(s.lastSuccessTime).toBeInstanceOf(Date);
    expect(s.lastSuccessTime!.getTime()).toBe(t0);
    expect(s.lastFailureTime).toBeNull();
    expect(s.lastStateChange).toBeNull();

    await vi.advanceTimersByTimeAsync(1_000);
    await failTimes(reg, 'svc', 5);
    s = reg.getStats('svc')!;
    expect(s.lastFailureTime).toBeInstanceOf(Date);
    expect(s.lastFailureTime!.getTime()).toBe(t0 + 1_000);
    expect(s.lastStateChange).toBeInstanceOf(Date);
    expect(s.lastStateChange!.getTime()).toBe(t0 + 1_000);
    expect(s.lastSuccessTime!.getTime()).toBe(t0);
  });

  it('nextAttemptTime is null while CLOSED', async () => {
    await failTimes(reg, 'svc', 2);
    expect(reg.getStats('svc')!.nextAttemptTime).toBeNull();
  });

  it('nextAttemptTime is the opening time plus resetTimeout while OPEN on its own timer', async () => {
    await failTimes(reg, 'svc', 5);
    const s = reg.getStats('svc')!;
    expect(s.state).toBe(CircuitState.OPEN);
    expect(s.nextAttemptTime).toBeInstanceOf(Date);
    expect(s.nextAttemptTime!.getTime()).toBe(Date.now() + 30_000);
  });

  it('nextAttemptTime is null once HALF_OPEN', async () => {
    await failTimes(reg, 'svc', 5);
    await vi.advanceTimersByTimeAsync(30_000);
    const s = reg.getStats('svc')!;
    expect(s.state).toBe(CircuitState.HALF_OPEN);
    expect(s.nextAttemptTime).toBeNull();
  });

  it('nextAttemptTime is null when the circuit is held open by openCircuit', async () => {
    reg.openCircuit('svc');
    expect(reg.getStats('svc')).toMatchObject({ state: CircuitState.OPEN, nextAttemptTime: null });
    // and also when openCircuit holds a circuit that was open on its timer
    await failTimes(reg, 'other', 5);
    expect(reg.getStats('other')!.nextAttemptTime).not.toBeNull();
    reg.openCircuit('other');
    expect(reg.getStats('other')).toMatchObject({ state: CircuitState.OPEN, nextAttemptTime: null });
  });
});

// ---------------------------------------------------------------------------
// Copies
// ---------------------------------------------------------------------------

describe('getStats hands out copies', () => {
  it('returns a new object each time', async () => {
    await reg.execute('svc', ok());
    const a = reg.getStats('svc');
    const b = reg.getStats('svc');
    expect(a).not.toBe(b);
    expect(a).toEqual(b);
  });

  it('changing the counters and state of a copy changes nothing', async () => {
    await reg.execute('svc', ok());
    await failTimes(reg, 'svc', 5);
    const before = reg.getStats('svc')!;
    const copy = reg.getStats('svc')!;
    copy.state = CircuitState.CLOSED;
    copy.totalRequests = 0;
    copy.failedRequests = 0;
    copy.consecutiveFailures = 0;
    copy.timesOpened = 0;
    copy.nextAttemptTime = null;
    expect(reg.getStats('svc')).toEqual(before);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    expect((await reg.execute('svc', ok())).rejected).toBe(true);
  });

  it('changing the Date objects of a copy changes nothing', async () => {
    await reg.execute('svc', ok());
    await failTimes(reg, 'svc', 5);
    const before = reg.getStats('svc')!;
    const beforeTimes = [before.lastSuccessTime!, before.lastFailureTime!, before.lastStateChange!, before.nextAttemptTime!].map(
      (d) => d.getTime(),
    );
    const copy = reg.getStats('svc')!;
    copy.lastSuccessTime!.setTime(0);
    copy.lastFailureTime!.setTime(0);
    copy.lastStateChange!.setTime(0);
    copy.nextAttemptTime!.setTime(0);
    const after = reg.getStats('svc')!;
    expect(
      [after.lastSuccessTime!, after.lastFailureTime!, after.lastStateChange!, after.nextAttemptTime!].map((d) => d.getTime()),
    ).toEqual(beforeTimes);
    // The circuit still waits its full resetTimeout.
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    await vi.advanceTimersByTimeAsync(1);
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);
  });

  it('gives each snapshot its own Date objects', async () => {
    await reg.execute('svc', ok());
    const a = reg.getStats('svc')!;
    const b = reg.getStats('svc')!;
    expect(a.lastSuccessTime).not.toBe(b.lastSuccessTime);
  });

  it('a snapshot does not follow later changes', async () => {
    const snapshot = (await reg.execute('svc', ok()), reg.getStats('svc')!);
    await reg.execute('svc', ok());
    expect(snapshot.totalRequests).toBe(1);
    expect(reg.getStats('svc')!.totalRequests).toBe(2);
  });
});

describe('event statistics are copies', () => {
  it('changing the stats handed to a state listener changes nothing', async () => {
    reg.on('circuit:opened', (_name, stats) => {
      stats.state = CircuitState.CLOSED;
      stats.timesOpened = 99;
      stats.failedRequests = 0;
      stats.nextAttemptTime!.setTime(0);
      stats.lastStateChange!.setTime(0);
    });
    await failTimes(reg, 'svc', 5);
    const openedAt = Date.now();
    const s = reg.getStats('svc')!;
    expect(s).toMatchObject({ state: CircuitState.OPEN, timesOpened: 1, failedRequests: 5 });
    expect(s.nextAttemptTime!.getTime()).toBe(openedAt + 30_000);
    expect(s.lastStateChange!.getTime()).toBe(openedAt);
    expect((await reg.execute('svc', ok())).rejected).toBe(true);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);
  });

  it('the stats handed to a listener are not the object getStats returns', async () => {
    let fromEvent: CircuitBreakerStats | undefined;
    reg.on('circuit:opened', (_name, stats) => {
      fromEvent = stats;
    });
    await failTimes(reg, 'svc', 5);
    const fromQuery = reg.getStats('svc')!;
    expect(fromEvent).toEqual(fromQuery);
    expect(fromEvent).not.toBe(fromQuery);
    fromEvent!.totalRequests = -1;
    expect(reg.getStats('svc')!.totalRequests).toBe(5);
  });
});

// ---------------------------------------------------------------------------
// Unknown names
// ---------------------------------------------------------------------------

describe('unknown executor names', () => {
  it('getState and getStats give null', () => {
    expect(reg.getState('nobody')).toBeNull();
    expect(reg.getStats('nobody')).toBeNull();
  });

  it('isOpen, isClosed and isHalfOpen give false', () => {
    expect(reg.isOpen('nobody')).toBe(false);
    expect(reg.isClosed('nobody')).toBe(false);
    expect(reg.isHalfOpen('nobody')).toBe(false);
  });

  it('queries do not create a breaker', () => {
    reg.getState('nobody');
    reg.getStats('nobody');
    reg.isOpen('nobody');
    reg.isClosed('nobody');
    reg.isHalfOpen('nobody');
    reg.reset('nobody');
    expect(reg.getExecutors()).toEqual([]);
    expect(reg.getAllStats().size).toBe(0);
  });

  it('the module functions behave the same', () => {
    expect(circuitBreaker.getState('nobody')).toBeNull();
    expect(circuitBreaker.getStats('nobody')).toBeNull();
    expect(circuitBreaker.isOpen('nobody')).toBe(false);
    expect(circuitBreaker.isClosed('nobody')).toBe(false);
    expect(circuitBreaker.isHalfOpen('nobody')).toBe(false);
    expect(circuitBreaker.getExecutors()).toEqual([]);
  });
});

describe('state queries of known names', () => {
  it('isOpen / isClosed / isHalfOpen agree with getState in every state', async () => {
    const flags = () => [reg.isClosed('svc'), reg.isOpen('svc'), reg.isHalfOpen('svc')];
    reg.configure('svc', {});
    expect(flags()).toEqual([true, false, false]);
    await failTimes(reg, 'svc', 5);
    expect(flags()).toEqual([false, true, false]);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(flags()).toEqual([false, false, true]);
  });

  it('a query after resetTimeout sees HALF_OPEN even before the timer has run', async () => {
    let now = 1_000_000;
    const clocked = createRegistry({ clock: { now: () => now } });
    try {
      await failTimes(clocked, 'svc', 5);
      now += 30_000; // no timer advanced
      expect(clocked.getState('svc')).toBe(CircuitState.HALF_OPEN);
      expect(clocked.getStats('svc')!.state).toBe(CircuitState.HALF_OPEN);
    } finally {
      clocked.destroy();
    }
  });
});

// ---------------------------------------------------------------------------
// getAllStats / getExecutors
// ---------------------------------------------------------------------------

describe('getAllStats', () => {
  it('returns a Map of every executor to its statistics, in creation order', async () => {
    await reg.execute('b', ok());
    reg.configure('a', {});
    reg.openCircuit('c');
    await reg.execute('a', boom);
    const all = reg.getAllStats();
    expect(all).toBeInstanceOf(Map);
    expect([...all.keys()]).toEqual(['b', 'a', 'c']);
    for (const name of ['a', 'b', 'c']) expect(all.get(name)).toEqual(reg.getStats(name));
    expect(all.get('c')!.state).toBe(CircuitState.OPEN);
  });

  it('is empty for a new registry', () => {
    const all = reg.getAllStats();
    expect(all).toBeInstanceOf(Map);
    expect(all.size).toBe(0);
  });

  it('hands out a fresh Map of copies', async () => {
    await reg.execute('svc', ok());
    const all = reg.getAllStats();
    all.get('svc')!.totalRequests = 42;
    all.set('ghost', all.get('svc')!);
    all.delete('svc');
    expect(reg.getAllStats()).not.toBe(all);
    expect(reg.getExecutors()).toEqual(['svc']);
    expect(reg.getStats('svc')!.totalRequests).toBe(1);
  });

  it('shows a circuit whose resetTimeout has passed as HALF_OPEN', async () => {
    let now = 5_000;
    const clocked = createRegistry({ clock: { now: () => now } });
    try {
      await failTimes(clocked, 'svc', 5);
      now += 30_000;
      expect(clocked.getAllStats().get('svc')!.state).toBe(CircuitState.HALF_OPEN);
    } finally {
      clocked.destroy();
    }
  });
});

describe('getExecutors', () => {
  it('lists names in creation order, whichever call created them', async () => {
    reg.configure('configured', {});
    await reg.execute('executed', ok());
    reg.openCircuit('opened');
    reg.closeCircuit('closed');
    await reg.execute('configured', ok());
    expect(reg.getExecutors()).toEqual(['configured', 'executed', 'opened', 'closed']);
  });

  it('hands out a copy', () => {
    reg.configure('svc', {});
    const names = reg.getExecutors();
    names.push('ghost');
    names.shift();
    expect(reg.getExecutors()).toEqual(['svc']);
  });

  it('keeps a name after reset, drops every name after destroy', async () => {
    await reg.execute('svc', ok());
    reg.reset('svc');
    reg.resetAll();
    expect(reg.getExecutors()).toEqual(['svc']);
    reg.destroy();
    expect(reg.getExecutors()).toEqual([]);
    expect(reg.getStats('svc')).toBeNull();
  });
});

// ---------------------------------------------------------------------------
// Isolation
// ---------------------------------------------------------------------------

describe('registries are isolated', () => {
  it('two registries do not share breakers, counters or configuration', async () => {
    const other = createRegistry();
    try {
      reg.configure('svc', { failureThreshold: 1 });
      await reg.execute('svc', boom);
      await other.execute('svc', boom);
      expect(reg.getState('svc')).toBe(CircuitState.OPEN);
      expect(other.getState('svc')).toBe(CircuitState.CLOSED);
      expect(reg.getStats('svc')!.failedRequests).toBe(1);
      expect(other.getStats('svc')!.failedRequests).toBe(1);
      await reg.execute('only-here', ok());
      expect(other.getExecutors()).toEqual(['svc']);
    } finally {
      other.destroy();
    }
  });

  it('two registries do not share listeners', async () => {
    const other = createRegistry();
    try {
      const mine = vi.fn();
      const theirs = vi.fn();
      reg.on('request:success', mine);
      other.on('request:success', theirs);
      await reg.execute('svc', ok());
      expect(mine).toHaveBeenCalledTimes(1);
      expect(theirs).not.toHaveBeenCalled();
    } finally {
      other.destroy();
    }
  });

  it('destroying one registry leaves the other untouched', async () => {
    const other = createRegistry();
    try {
      const listener = vi.fn();
      other.on('request:success', listener);
      await other.execute('svc', ok());
      reg.configure('svc', {});
      reg.destroy();
      expect(other.getExecutors()).toEqual(['svc']);
      await other.execute('svc', ok());
      expect(listener).toHaveBeenCalledTimes(2);
      expect(other.getStats('svc')!.successfulRequests).toBe(2);
    } finally {
      other.destroy();
    }
  });

  it('a created registry is isolated from the module default registry, both ways', async () => {
    const moduleListener = vi.fn();
    const regListener = vi.fn();
    circuitBreaker.on('request:failure', moduleListener);
    reg.on('request:failure', regListener);

    await reg.execute('svc', boom);
    expect(circuitBreaker.getExecutors()).toEqual([]);
    expect(circuitBreaker.getStats('svc')).toBeNull();
    expect(moduleListener).not.toHaveBeenCalled();

    await circuitBreaker.execute('module-only', boom);
    expect(reg.getExecutors()).toEqual(['svc']);
    expect(regListener).toHaveBeenCalledTimes(1);
    expect(moduleListener).toHaveBeenCalledTimes(1);
    expect(circuitBreaker.getExecutors()).toEqual(['module-only']);
  });

  it('the module functions share one default registry', async () => {
    circuitBreaker.configure('m', { failureThreshold: 1 });
    await circuitBreaker.execute('m', boom);
    expect(circuitBreaker.isOpen('m')).toBe(true);
    expect(circuitBreaker.getAllStats().get('m')!.failedRequests).toBe(1);
    circuitBreaker.destroy();
    expect(circuitBreaker.getExecutors()).toEqual([]);
    // still usable after destroy
    await circuitBreaker.execute('m', ok());
    expect(circuitBreaker.getStats('m')!.successfulRequests).toBe(1);
  });
});

// ---------------------------------------------------------------------------
// The clock option
// ---------------------------------------------------------------------------

describe('the clock option', () => {
  let now: number;
  let clocked: CircuitBreakerRegistry;

  beforeEach(() => {
    now = Date.UTC(2030, 0, 1);
    clocked = createRegistry({ clock: { now: () => now } });
  });

  afterEach(() => {
    clocked.destroy();
  });

  it('stamps the dates', async () => {
    await clocked.execute('svc', ok());
    now += 1_000;
    await failTimes(clocked, 'svc', 5);
    const s = clocked.getStats('svc')!;
    expect(s.lastSuccessTime!.getTime()).toBe(Date.UTC(2030, 0, 1));
    expect(s.lastFailureTime!.getTime()).toBe(Date.UTC(2030, 0, 1) + 1_000);
    expect(s.lastStateChange!.getTime()).toBe(Date.UTC(2030, 0, 1) + 1_000);
    expect(s.nextAttemptTime!.getTime()).toBe(Date.UTC(2030, 0, 1) + 31_000);
  });

  it('measures executionTime and avgResponseTime', async () => {
    const result = await clocked.execute('svc', () => {
      now += 250;
      return 'done';
    });
    expect(result.executionTime).toBe(250);
    expect(clocked.getStats('svc')!.avgResponseTime).toBe(250);
  });

  it('drives the failure window', async () => {
    for (let i = 0; i < 5; i++) {
      await clocked.execute('svc', boom);
      now += 15_000; // failures at 0, 15, 30, 45, 60 s
    }
    expect(clocked.getState('svc')).toBe(CircuitState.CLOSED);
  });

  it('drives the reset timeout, lazily on a query', async () => {
    await failTimes(clocked, 'svc', 5);
    now += 29_999;
    expect(clocked.getState('svc')).toBe(CircuitState.OPEN);
    now += 1;
    expect(clocked.getState('svc')).toBe(CircuitState.HALF_OPEN);
  });

  it('drives the fallback age', async () => {
    await clocked.execute('svc', ok('cached'));
    clocked.openCircuit('svc');
    now += 5 * 60 * 1000 - 1;
    expect((await clocked.execute('svc', ok())).fromCache).toBe(true);
    now += 1;
    expect((await clocked.execute('svc', ok())).fromCache).toBe(false);
  });

  it('is read on every use, not captured once', async () => {
    const clock = { now: vi.fn(() => now) };
    const spied = createRegistry({ clock });
    try {
      await spied.execute('svc', ok());
      const calls = clock.now.mock.calls.length;
      expect(calls).toBeGreaterThan(0);
      spied.getStats('svc');
      await spied.execute('svc', ok());
      expect(clock.now.mock.calls.length).toBeGreaterThan(calls);
    } finally {
      spied.destroy();
    }
  });
});

describe('module getConfig', () => {
  it('reads the default registry: null before, the configured values after, null after destroy()', () => {
    circuitBreaker.destroy();
    expect(circuitBreaker.getConfig('module-config')).toBeNull();
    circuitBreaker.configure('module-config', { successThreshold: 4 });
    expect(circuitBreaker.getConfig('module-config')).toMatchObject({ successThreshold: 4, failureThreshold: 5 });
    expect(() => circuitBreaker.getConfig('' as string)).toThrow(TypeError);
    circuitBreaker.destroy();
    expect(circuitBreaker.getConfig('module-config')).toBeNull();
  });
});
