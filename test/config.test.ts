import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitState, DEFAULT_CONFIG, createRegistry, type CircuitBreakerRegistry } from '../src/index.js';
import {
  boom,
  deferred,
  failTimes,
  fakeTimeRegistry,
  hang,
  ok,
  tearDownFakeTimeRegistry,
  track,
} from './helpers.js';

let reg: CircuitBreakerRegistry;

beforeEach(() => {
  reg = fakeTimeRegistry();
});

afterEach(() => {
  tearDownFakeTimeRegistry(reg);
});

// ---------------------------------------------------------------------------
// DEFAULT_CONFIG
// ---------------------------------------------------------------------------

describe('DEFAULT_CONFIG', () => {
  it('holds the seed defaults plus fallbackMaxEntries 100, the policy and composition defaults (each keeping the seed behaviour), and nothing else', () => {
    expect(DEFAULT_CONFIG).toEqual({
      failureThreshold: 5,
      failureWindow: 60 * 1000,
      resetTimeout: 30 * 1000,
      successThreshold: 2,
      requestTimeout: 10 * 1000,
      cacheFallback: true,
      fallbackMaxAge: 5 * 60 * 1000,
      fallbackMaxEntries: 100,
      minimumRequests: 10,
      slowCallDuration: Infinity,
      slowCallRateThreshold: 1,
      resetTimeoutMultiplier: 1,
      maxResetTimeout: 600_000,
      resetTimeoutJitter: 0,
      maxConcurrent: Infinity,
      maxQueue: 0,
      retryBudget: 0.2,
    });
  });

  it('cannot be changed by the app', () => {
    expect(Object.isFrozen(DEFAULT_CONFIG)).toBe(true);
    expect(() => {
      (DEFAULT_CONFIG as { failureThreshold: number }).failureThreshold = 1;
    }).toThrow(TypeError);
    expect(DEFAULT_CONFIG.failureThreshold).toBe(5);
  });
});

// ---------------------------------------------------------------------------
// The defaults, observed through behaviour
// ---------------------------------------------------------------------------

describe('default configuration, observed through behaviour', () => {
  it('failureThreshold 5: four failures keep the circuit CLOSED, the fifth opens it', async () => {
    await failTimes(reg, 'svc', 4);
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    await failTimes(reg, 'svc', 1);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
  });

  it('failureWindow 60 s: five failures spread over just under 60 s open the circuit', async () => {
    for (const gap of [0, 15_000, 15_000, 15_000, 14_999]) {
      await vi.advanceTimersByTimeAsync(gap);
      await reg.execute('svc', boom);
    }
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
  });

  it('failureWindow 60 s: a failure exactly 60 s old no longer counts', async () => {
    for (const gap of [0, 15_000, 15_000, 15_000, 15_000]) {
      await vi.advanceTimersByTimeAsync(gap);
      await reg.execute('svc', boom);
    }
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    expect(reg.getStats('svc')!.failedRequests).toBe(5);
    // The next failure makes five within the last 60 s (15, 30, 45, 60, 60 s).
    await reg.execute('svc', boom);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
  });

  it('resetTimeout 30 s: OPEN until 30 s after opening, then HALF_OPEN', async () => {
    await failTimes(reg, 'svc', 5);
    const openedAt = Date.now();
    expect(reg.getStats('svc')!.nextAttemptTime!.getTime()).toBe(openedAt + 30_000);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    await vi.advanceTimersByTimeAsync(1);
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);
  });

  it('successThreshold 2: two probes run at once, a third is rejected, two successes close', async () => {
    await failTimes(reg, 'svc', 5);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);

    const first = deferred();
    const second = deferred();
    const third = vi.fn(() => 'never');
    const p1 = reg.execute('svc', () => first.promise);
    const p2 = reg.execute('svc', () => second.promise);
    const r3 = await reg.execute('svc', third);
    expect(third).not.toHaveBeenCalled();
    expect(r3.rejected).toBe(true);
    expect(r3.circuitState).toBe(CircuitState.HALF_OPEN);

    first.resolve('a');
    await p1;
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);
    second.resolve('b');
    await p2;
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
  });

  it('requestTimeout 10 s: a hanging call fails with a TimeoutError at 10 s, not before', async () => {
    const call = track(reg.execute('svc', hang));
    await vi.advanceTimersByTimeAsync(9_999);
    expect(call.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(call.settled).toBe(true);
    expect(call.result!.success).toBe(false);
    expect(call.result!.error!.name).toBe('TimeoutError');
    expect(call.result!.executionTime).toBe(10_000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('cacheFallback true: a call rejected by an open circuit is answered from the cache', async () => {
    await reg.execute('svc', ok('cached'));
    reg.openCircuit('svc');
    const result = await reg.execute('svc', ok('fresh'));
    expect(result).toMatchObject({ success: true, data: 'cached', fromCache: true, rejected: true });
  });

  it('fallbackMaxAge 5 min: a cached value answers until it is 5 minutes old', async () => {
    await reg.execute('svc', ok('cached'));
    reg.openCircuit('svc');
    await vi.advanceTimersByTimeAsync(5 * 60 * 1000 - 1);
    const young = await reg.execute('svc', ok('x'));
    expect(young).toMatchObject({ success: true, data: 'cached', fromCache: true });
    await vi.advanceTimersByTimeAsync(1);
    const old = await reg.execute('svc', ok('x'));
    expect(old).toMatchObject({ success: false, fromCache: false, rejected: true });
    expect(old.error!.name).toBe('CircuitOpenError');
  });

  it('fallbackMaxEntries 100: the 101st cache key evicts the least recently used one', async () => {
    for (let i = 0; i <= 100; i++) await reg.execute('svc', ok(`v${i}`), { cacheKey: `k${i}` });
    reg.openCircuit('svc');
    const evicted = await reg.execute('svc', ok('x'), { cacheKey: 'k0' });
    expect(evicted.fromCache).toBe(false);
    expect(evicted.rejected).toBe(true);
    const kept = await reg.execute('svc', ok('x'), { cacheKey: 'k1' });
    expect(kept).toMatchObject({ fromCache: true, data: 'v1' });
    const newest = await reg.execute('svc', ok('x'), { cacheKey: 'k100' });
    expect(newest).toMatchObject({ fromCache: true, data: 'v100' });
  });
});

// ---------------------------------------------------------------------------
// configure()
// ---------------------------------------------------------------------------

describe('configure', () => {
  it('creates the breaker before first use, CLOSED with zero counters', () => {
    expect(reg.getExecutors()).toEqual([]);
    reg.configure('svc', { failureThreshold: 3 });
    expect(reg.getExecutors()).toEqual(['svc']);
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    expect(reg.getStats('svc')).toMatchObject({ totalRequests: 0, timesOpened: 0, timesClosed: 0 });
  });

  it('applies the configured values on first use', async () => {
    reg.configure('svc', { failureThreshold: 2, resetTimeout: 1_000 });
    await failTimes(reg, 'svc', 2);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);
  });

  it('merges a partial into the current configuration instead of replacing it', async () => {
    reg.configure('svc', { failureThreshold: 2 });
    reg.configure('svc', { resetTimeout: 1_000 });
    await failTimes(reg, 'svc', 2);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN); // failureThreshold 2 still in force
    await vi.advanceTimersByTimeAsync(1_000);
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN); // resetTimeout 1 s in force
  });

  it('keeps the other keys at their defaults when only some are set', async () => {
    reg.configure('svc', { failureThreshold: 2 });
    await failTimes(reg, 'svc', 2);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    await vi.advanceTimersByTimeAsync(1);
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);
  });

  it('does not reset the counters or the failure window of a CLOSED circuit', async () => {
    reg.configure('svc', { failureThreshold: 3 });
    await reg.execute('svc', ok());
    await failTimes(reg, 'svc', 2);
    const before = reg.getStats('svc');
    reg.configure('svc', { resetTimeout: 1_000 });
    expect(reg.getStats('svc')).toEqual(before);
    // The two failures are still in the window: one more opens the circuit.
    await failTimes(reg, 'svc', 1);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
  });

  it('does not reset an OPEN circuit, its counters or its next attempt time', async () => {
    await failTimes(reg, 'svc', 5);
    const before = reg.getStats('svc');
    reg.configure('svc', { failureThreshold: 10, successThreshold: 4 });
    expect(reg.getStats('svc')).toEqual(before);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    const rejected = await reg.execute('svc', ok());
    expect(rejected.rejected).toBe(true);
  });

  it('does not reset a HALF_OPEN circuit: probe successes so far still count', async () => {
    reg.configure('svc', { successThreshold: 3 });
    await failTimes(reg, 'svc', 5);
    await vi.advanceTimersByTimeAsync(30_000);
    await reg.execute('svc', ok());
    reg.configure('svc', { failureWindow: 5_000 });
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);
    await reg.execute('svc', ok());
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);
    await reg.execute('svc', ok());
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
  });

  it('returns nothing', () => {
    expect(reg.configure('svc', {})).toBeUndefined();
  });

  it('with an empty partial creates the breaker with the defaults', async () => {
    reg.configure('svc', {});
    expect(reg.getExecutors()).toEqual(['svc']);
    await failTimes(reg, 'svc', 4);
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    await failTimes(reg, 'svc', 1);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
  });

  it('configures one executor without touching another', async () => {
    reg.configure('a', { failureThreshold: 1 });
    await reg.execute('a', boom);
    await reg.execute('b', boom);
    expect(reg.getState('a')).toBe(CircuitState.OPEN);
    expect(reg.getState('b')).toBe(CircuitState.CLOSED);
  });
});

// ---------------------------------------------------------------------------
// createRegistry({ defaults })
// ---------------------------------------------------------------------------

describe('createRegistry({ defaults })', () => {
  it('lays the defaults over the built-in configuration', async () => {
    const custom = createRegistry({ defaults: { failureThreshold: 2, requestTimeout: 1_000 } });
    try {
      await failTimes(custom, 'svc', 2);
      expect(custom.getState('svc')).toBe(CircuitState.OPEN);
      // resetTimeout is still the built-in 30 s
      await vi.advanceTimersByTimeAsync(29_999);
      expect(custom.getState('svc')).toBe(CircuitState.OPEN);
      await vi.advanceTimersByTimeAsync(1);
      expect(custom.getState('svc')).toBe(CircuitState.HALF_OPEN);

      const call = track(custom.execute('other', hang));
      await vi.advanceTimersByTimeAsync(1_000);
      expect(call.settled).toBe(true);
      expect(call.result!.error!.name).toBe('TimeoutError');
    } finally {
      custom.destroy();
    }
  });

  it('applies the defaults to every breaker of that registry, including ones made by configure', async () => {
    const custom = createRegistry({ defaults: { failureThreshold: 2 } });
    try {
      custom.configure('configured', { resetTimeout: 5_000 });
      await failTimes(custom, 'configured', 2);
      await failTimes(custom, 'executed', 2);
      expect(custom.getState('configured')).toBe(CircuitState.OPEN);
      expect(custom.getState('executed')).toBe(CircuitState.OPEN);
      await vi.advanceTimersByTimeAsync(5_000);
      expect(custom.getState('configured')).toBe(CircuitState.HALF_OPEN);
      expect(custom.getState('executed')).toBe(CircuitState.OPEN);
    } finally {
      custom.destroy();
    }
  });

  it('does not leak its defaults into other registries', async () => {
    const custom = createRegistry({ defaults: { failureThreshold: 1 } });
    try {
      await custom.execute('svc', boom);
      await reg.execute('svc', boom);
      expect(custom.getState('svc')).toBe(CircuitState.OPEN);
      expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
      expect(DEFAULT_CONFIG.failureThreshold).toBe(5);
    } finally {
      custom.destroy();
    }
  });

  it('does not keep a reference to the defaults object the app passed', async () => {
    const defaults = { failureThreshold: 2 };
    const custom = createRegistry({ defaults });
    try {
      defaults.failureThreshold = 50;
      await failTimes(custom, 'svc', 2);
      expect(custom.getState('svc')).toBe(CircuitState.OPEN);
    } finally {
      custom.destroy();
    }
  });
});

describe('configure does not keep a reference to the partial the app passed', () => {
  it('changing the object afterwards changes nothing', async () => {
    const partial = { failureThreshold: 2 };
    reg.configure('svc', partial);
    partial.failureThreshold = 50;
    await failTimes(reg, 'svc', 2);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
  });
});

// ---------------------------------------------------------------------------
// requestTimeout: Infinity
// ---------------------------------------------------------------------------

describe('requestTimeout: Infinity', () => {
  it('turns the timeout off: a call hanging for hours does not time out and holds no timer', async () => {
    reg.configure('svc', { requestTimeout: Infinity });
    const d = deferred();
    const call = track(reg.execute('svc', () => d.promise));
    await vi.advanceTimersByTimeAsync(5 * 60 * 60 * 1000);
    expect(call.settled).toBe(false);
    expect(vi.getTimerCount()).toBe(0);

    d.resolve('late');
    await vi.advanceTimersByTimeAsync(0);
    expect(call.settled).toBe(true);
    expect(call.result).toMatchObject({ success: true, data: 'late' });
    expect(call.result!.executionTime).toBe(5 * 60 * 60 * 1000);
  });

  it('also works as a registry default', async () => {
    const custom = createRegistry({ defaults: { requestTimeout: Infinity } });
    try {
      const call = track(custom.execute('svc', hang));
      await vi.advanceTimersByTimeAsync(24 * 60 * 60 * 1000);
      expect(call.settled).toBe(false);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      custom.destroy();
    }
  });

  it('can be set back to a finite timeout for later calls', async () => {
    reg.configure('svc', { requestTimeout: Infinity });
    reg.configure('svc', { requestTimeout: 500 });
    const call = track(reg.execute('svc', hang));
    await vi.advanceTimersByTimeAsync(500);
    expect(call.settled).toBe(true);
    expect(call.result!.error!.name).toBe('TimeoutError');
  });
});

// ---------------------------------------------------------------------------
// Changes while the circuit is in some state (docs/decisions.md, Configuration)
// ---------------------------------------------------------------------------

describe('configuration changes mid-state', () => {
  it('a lower failureThreshold applies to the next failure, not at once', async () => {
    await failTimes(reg, 'svc', 4);
    reg.configure('svc', { failureThreshold: 2 });
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    await failTimes(reg, 'svc', 1);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
  });

  it('a higher failureThreshold keeps the recent failures and needs more to open', async () => {
    await failTimes(reg, 'svc', 4);
    reg.configure('svc', { failureThreshold: 8 });
    await failTimes(reg, 'svc', 3); // 7 failures in the window
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    await failTimes(reg, 'svc', 1); // 8
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
  });

  it('a shorter failureWindow applies to the next failure', async () => {
    reg.configure('svc', { failureThreshold: 3 });
    await reg.execute('svc', boom); // t = 0
    await vi.advanceTimersByTimeAsync(10_000);
    await reg.execute('svc', boom); // t = 10 s
    reg.configure('svc', { failureWindow: 15_000 });
    await vi.advanceTimersByTimeAsync(10_000);
    await reg.execute('svc', boom); // t = 20 s: the failure at 0 is 20 s old, out of a 15 s window
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    await reg.execute('svc', boom); // 10 s, 20 s, 20 s are inside 15 s
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
  });

  it('a longer failureWindow keeps counting a failure still inside the old one', async () => {
    reg.configure('svc', { failureThreshold: 2, failureWindow: 1_000 });
    await reg.execute('svc', boom); // t = 0
    await vi.advanceTimersByTimeAsync(500);
    reg.configure('svc', { failureWindow: 60_000 }); // the failure at 0 is still inside
    await vi.advanceTimersByTimeAsync(4_500);
    await reg.execute('svc', boom); // t = 5000: outside the old window, inside the new one
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
  });

  it('widening the window does not bring back a failure that had already aged out', async () => {
    reg.configure('svc', { failureThreshold: 2, failureWindow: 1_000 });
    await reg.execute('svc', boom); // t = 0
    await vi.advanceTimersByTimeAsync(5_000);
    reg.configure('svc', { failureWindow: 60_000 }); // the failure at 0 aged out at 1000
    await reg.execute('svc', boom);
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    await reg.execute('svc', boom);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
  });

  it('a new successThreshold applies to the next probe', async () => {
    reg.configure('svc', { successThreshold: 3 });
    await failTimes(reg, 'svc', 5);
    await vi.advanceTimersByTimeAsync(30_000);
    await reg.execute('svc', ok()); // 1 probe success of 3
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);
    reg.configure('svc', { successThreshold: 2 });
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);
    await reg.execute('svc', ok()); // 2 of 2
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
  });

  it('a new resetTimeout applies from the next opening, not to the current one', async () => {
    await failTimes(reg, 'svc', 5);
    const openedAt = Date.now();
    reg.configure('svc', { resetTimeout: 5_000 });
    expect(reg.getStats('svc')!.nextAttemptTime!.getTime()).toBe(openedAt + 30_000);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    await vi.advanceTimersByTimeAsync(25_000);
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);

    // A failed probe reopens with the new 5 s.
    await reg.execute('svc', boom);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    expect(reg.getStats('svc')!.nextAttemptTime!.getTime()).toBe(Date.now() + 5_000);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);
  });

  it('a new requestTimeout applies to calls that start after it', async () => {
    const before = track(reg.execute('svc', hang)); // 10 s
    reg.configure('svc', { requestTimeout: 1_000 });
    const after = track(reg.execute('svc', hang)); // 1 s
    await vi.advanceTimersByTimeAsync(1_000);
    expect(after.settled).toBe(true);
    expect(after.result!.error!.name).toBe('TimeoutError');
    expect(before.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(9_000);
    expect(before.settled).toBe(true);
    expect(before.result!.error!.name).toBe('TimeoutError');
    expect(before.result!.executionTime).toBe(10_000);
  });

  it('turning cacheFallback off empties the cache; turning it back on does not bring it back', async () => {
    await reg.execute('svc', ok('cached'));
    reg.configure('svc', { cacheFallback: false });
    reg.openCircuit('svc');
    const off = await reg.execute('svc', ok('x'));
    expect(off).toMatchObject({ success: false, fromCache: false, rejected: true });
    reg.configure('svc', { cacheFallback: true });
    const on = await reg.execute('svc', ok('x'));
    expect(on).toMatchObject({ success: false, fromCache: false, rejected: true });
  });

  it('with cacheFallback off, successes are not stored', async () => {
    reg.configure('svc', { cacheFallback: false });
    await reg.execute('svc', ok('value'));
    reg.configure('svc', { cacheFallback: true });
    reg.openCircuit('svc');
    const result = await reg.execute('svc', ok('x'));
    expect(result.fromCache).toBe(false);
  });

  it('a new fallbackMaxAge applies at once to values already stored', async () => {
    await reg.execute('svc', ok('cached'));
    reg.openCircuit('svc');
    await vi.advanceTimersByTimeAsync(2_000);
    expect((await reg.execute('svc', ok('x'))).fromCache).toBe(true);
    reg.configure('svc', { fallbackMaxAge: 1_000 });
    expect((await reg.execute('svc', ok('x'))).fromCache).toBe(false);
  });

  it('a lower fallbackMaxEntries keeps only the most recently used keys', async () => {
    for (let i = 0; i < 5; i++) await reg.execute('svc', ok(`v${i}`), { cacheKey: `k${i}` });
    reg.configure('svc', { fallbackMaxEntries: 2 });
    reg.openCircuit('svc');
    const hits = [];
    for (let i = 0; i < 5; i++) hits.push((await reg.execute('svc', ok('x'), { cacheKey: `k${i}` })).fromCache);
    expect(hits).toEqual([false, false, false, true, true]);
  });
});

// ---------------------------------------------------------------------------
// getConfig
// ---------------------------------------------------------------------------

describe('getConfig', () => {
  it('is null for an executor without a breaker, and creates none', () => {
    expect(reg.getConfig('never-used')).toBeNull();
    expect(reg.getExecutors()).toEqual([]);
  });

  it('gives every key, with the defaults filled in under what configure() and the registry defaults set', () => {
    const own = createRegistry({ defaults: { resetTimeout: 5_000 } });
    try {
      own.configure('notion', { failureThreshold: 3 });
      expect(own.getConfig('notion')).toEqual({ ...DEFAULT_CONFIG, resetTimeout: 5_000, failureThreshold: 3 });
      void own.execute('plain', ok);
      expect(own.getConfig('plain')).toEqual({ ...DEFAULT_CONFIG, resetTimeout: 5_000 });
    } finally {
      own.destroy();
    }
  });

  it('is a frozen copy: a later configure() does not change a copy already taken, and writing to one throws', () => {
    reg.configure('e', { failureThreshold: 3 });
    const before = reg.getConfig('e')!;
    expect(Object.isFrozen(before)).toBe(true);
    expect(() => {
      (before as { failureThreshold: number }).failureThreshold = 99;
    }).toThrow(TypeError);
    reg.configure('e', { failureThreshold: 7 });
    expect(before.failureThreshold).toBe(3);
    expect(reg.getConfig('e')!.failureThreshold).toBe(7);
    // Two executors on the same defaults get two copies, not one shared object.
    reg.configure('f', {});
    reg.configure('g', {});
    expect(reg.getConfig('f')).not.toBe(reg.getConfig('g'));
    expect(reg.getConfig('f')).toEqual(reg.getConfig('g'));
  });

  it('keeps the state: reading the configuration changes nothing', async () => {
    reg.configure('e', { failureThreshold: 1 });
    await reg.execute('e', boom);
    const stats = reg.getStats('e');
    reg.getConfig('e');
    expect(reg.getState('e')).toBe(CircuitState.OPEN);
    expect(reg.getStats('e')).toEqual(stats);
  });

  it.each([undefined, null, '', 42, {}])('throws a TypeError naming getConfig for the name %o', (name) => {
    expect(() => reg.getConfig(name as never)).toThrow(new RegExp(`^getConfig: executorName must be a non-empty string`));
    expect(() => reg.getConfig(name as never)).toThrow(TypeError);
    expect(reg.getExecutors()).toEqual([]);
  });
});
