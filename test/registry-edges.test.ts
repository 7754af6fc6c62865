/**
 * The registry at its edges: what the wrappers take from their options, what they accept
 * as a client, the registry's own clock, and the limits of the configuration's numbers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitState, TimeoutError, createRegistry, type CircuitBreakerRegistry } from '../src/index.js';
import { boom, fakeTimeRegistry, hang, NAME, ok, RESET_TIMEOUT, SMALL_DEFAULTS, T0, tearDownFakeTimeRegistry, thrown, track } from './helpers.js';

let reg: CircuitBreakerRegistry;

beforeEach(() => {
  reg = fakeTimeRegistry({ now: T0, registry: { defaults: SMALL_DEFAULTS } });
});

afterEach(() => {
  tearDownFakeTimeRegistry(reg);
});

describe('wrap: the options it carries to every call', () => {
  it('options.signal: aborting it ends a running call and the next ones at once', async () => {
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const get = reg.wrap(
      NAME,
      (_id: string, signal?: AbortSignal) => {
        seen = signal;
        return hang();
      },
      { signal: controller.signal },
    );
    const running = track(get('p1'));
    await vi.advanceTimersByTimeAsync(10);
    expect(running.settled).toBe(false);
    controller.abort(new Error('user left'));
    await vi.advanceTimersByTimeAsync(0);
    expect(running.result).toMatchObject({ success: false });
    expect(seen!.aborted).toBe(true);
    expect((await get('p2')).success).toBe(false);
  });

  it('options.timeout: each call gets its own timeout in place of requestTimeout', async () => {
    const get = reg.wrap(NAME, (_id: string) => hang(), { timeout: 200 });
    const pending = track(get('p1'));
    await vi.advanceTimersByTimeAsync(199);
    expect(pending.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(pending.result!.error).toBeInstanceOf(TimeoutError);
  });

  it('a string options.cacheKey: each wrapper answers from its own cache entry while the circuit is open', async () => {
    let up = true;
    const profile = reg.wrap(NAME, () => (up ? 'profile' : boom()), { cacheKey: 'profile' });
    const settings = reg.wrap(NAME, () => (up ? 'settings' : boom()), { cacheKey: 'settings' });
    await profile();
    await settings();
    up = false;
    reg.openCircuit(NAME);
    expect(await profile()).toMatchObject({ success: true, data: 'profile', fromCache: true });
    expect(await settings()).toMatchObject({ success: true, data: 'settings', fromCache: true });
  });

  it("the executor's configured fallback answers a wrapped call that sets no policy of its own", async () => {
    reg.configure(NAME, { fallback: () => 'spare', cacheFallback: false });
    const get = reg.wrap(NAME, (_id: string) => boom());
    expect(await get('p1')).toMatchObject({ success: true, data: 'spare', fromFallback: true });
  });

  it('a bad executor name is reported under the name wrap', () => {
    expect(thrown(() => reg.wrap('', () => 1)).message).toBe('wrap: executorName must be a non-empty string, got ""');
  });
});

describe('wrapClient: the options it carries and the clients it takes', () => {
  it('options.timeout and options.signal apply to every method', async () => {
    const controller = new AbortController();
    const client = reg.wrapClient(NAME, { slow: () => hang(), slower: () => hang() }, { timeout: 300, signal: controller.signal });
    const timed = client.slow().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(300);
    expect(await timed).toBeInstanceOf(TimeoutError);
    const aborted = client.slower().catch((e: unknown) => e);
    controller.abort(new Error('user left'));
    await vi.advanceTimersByTimeAsync(0);
    expect(await aborted).toBeInstanceOf(Error);
    expect(await aborted).not.toBeInstanceOf(TimeoutError);
  });

  it("the executor's configured fallback answers a method called with no policy of its own", async () => {
    reg.configure(NAME, { fallback: () => ({ offline: true }), cacheFallback: false });
    const client = reg.wrapClient(NAME, { send: () => boom() });
    expect(await client.send()).toEqual({ offline: true });
  });

  it('takes a callable client (a function with methods, as got and ky are) and runs its methods through the circuit', async () => {
    const callable = Object.assign(function http(url: string) {
      return `raw ${url}`;
    }, {
      get: (url: string) => `got ${url}`,
    });
    const client = reg.wrapClient(NAME, callable);
    expect(await client.get('/a')).toBe('got /a');
    expect(reg.getStats(NAME)!.successfulRequests).toBe(1);
  });

  it('refuses a primitive client with its own message, naming wrapClient', () => {
    expect(thrown(() => reg.wrapClient(NAME, 42 as never)).message).toBe('wrapClient: client must be an object, got 42');
    expect(thrown(() => reg.wrapClient(NAME, 'api' as never)).message).toBe('wrapClient: client must be an object, got "api"');
    expect(reg.getStats(NAME)).toBeNull();
  });

  it('a bad executor name is reported under the name wrapClient', () => {
    expect(thrown(() => reg.wrapClient('', {})).message).toBe('wrapClient: executorName must be a non-empty string, got ""');
  });
});

describe('execute: what passes for a signal', () => {
  it('refuses a look-alike without addEventListener, changing nothing', async () => {
    const lookAlike = { aborted: false, removeEventListener: () => {} };
    await expect(reg.execute(NAME, ok(), { signal: lookAlike as never })).rejects.toThrow(
      /^execute: options\.signal must be an AbortSignal, got /,
    );
    expect(reg.getStats(NAME)).toBeNull();
  });

  it('refuses a function, even one with the properties of a signal', async () => {
    const signalLike = Object.assign(function signal() {}, {
      aborted: false,
      addEventListener: () => {},
      removeEventListener: () => {},
    });
    await expect(reg.execute(NAME, ok(), { signal: signalLike as never })).rejects.toThrow(
      /^execute: options\.signal must be an AbortSignal, got function signal/,
    );
    expect(reg.getStats(NAME)).toBeNull();
  });
});

describe('execute: a timeout at the longest delay timers honour', () => {
  it('options.timeout of 2147483647 ms is accepted and ends the call then', async () => {
    const pending = track(reg.execute(NAME, hang, { timeout: 2_147_483_647 }));
    await vi.advanceTimersByTimeAsync(2_147_483_646);
    expect(pending.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(pending.result!.error).toBeInstanceOf(TimeoutError);
  });
});

describe("the registry's clock", () => {
  it('now() reads the clock given to createRegistry', () => {
    let t = 1_000;
    const own = createRegistry({ clock: { now: () => t } });
    expect(own.now()).toBe(1_000);
    t = 2_500;
    expect(own.now()).toBe(2_500);
    own.destroy();
  });

  it('now() is Date.now() without one, fake timers included', async () => {
    expect(reg.now()).toBe(T0);
    await vi.advanceTimersByTimeAsync(1_234);
    expect(reg.now()).toBe(T0 + 1_234);
  });

  it('a clock must be an object: a function, even one with a now() method, is refused', () => {
    const fnClock = Object.assign(() => 0, { now: () => 0 });
    expect(thrown(() => createRegistry({ clock: fnClock })).message).toMatch(
      /^createRegistry: clock must be an object with a now\(\) method, got /,
    );
  });
});

describe('configuration: integer limits', () => {
  const LARGEST = Number.MAX_SAFE_INTEGER;
  const BEYOND = 2 ** 53;

  it.each(['successThreshold', 'fallbackMaxEntries', 'minimumRequests'] as const)(
    '%s takes the largest safe integer and refuses the next one',
    (key) => {
      reg.configure(NAME, { [key]: LARGEST });
      expect(reg.getConfig(NAME)![key]).toBe(LARGEST);
      const error = thrown(() => reg.configure(NAME, { [key]: BEYOND }));
      expect(error).toBeInstanceOf(RangeError);
      expect(error.message).toBe(`configure("${NAME}"): ${key} must be a positive integer, got ${BEYOND}`);
      expect(reg.getConfig(NAME)![key]).toBe(LARGEST);
    },
  );

  it('maxConcurrent takes the largest safe integer and refuses the next one, saying what it takes', () => {
    reg.configure(NAME, { maxConcurrent: LARGEST });
    expect(reg.getConfig(NAME)!.maxConcurrent).toBe(LARGEST);
    const error = thrown(() => reg.configure(NAME, { maxConcurrent: BEYOND }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe(`configure("${NAME}"): maxConcurrent must be a positive integer or Infinity, got ${BEYOND}`);
  });

  it('maxQueue takes the largest safe integer and refuses the next one, saying what it takes', () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: LARGEST });
    expect(reg.getConfig(NAME)!.maxQueue).toBe(LARGEST);
    const error = thrown(() => reg.configure(NAME, { maxQueue: BEYOND }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe(`configure("${NAME}"): maxQueue must be an integer of at least 0, or Infinity, got ${BEYOND}`);
  });

  it('maxQueue: Infinity lets every call beyond the limit wait its turn', async () => {
    reg.configure(NAME, { maxConcurrent: 1, maxQueue: Infinity });
    const order: number[] = [];
    const calls = [1, 2, 3].map((n) =>
      reg.execute(NAME, async () => {
        order.push(n);
        await new Promise((resolve) => setTimeout(resolve, 10));
        return n;
      }),
    );
    await vi.advanceTimersByTimeAsync(30);
    const results = await Promise.all(calls);
    expect(results.map((r) => r.data)).toEqual([1, 2, 3]);
    expect(results.every((r) => !r.rejected)).toBe(true);
    expect(order).toEqual([1, 2, 3]);
  });
});

describe('configuration: edges that are allowed', () => {
  it('slowCallDuration of 2147483647 ms is accepted', () => {
    reg.configure(NAME, { slowCallDuration: 2_147_483_647 });
    expect(reg.getConfig(NAME)!.slowCallDuration).toBe(2_147_483_647);
  });

  it('resetTimeoutJitter set back to 0 gives full open periods again', async () => {
    reg.configure(NAME, { failureThreshold: 1, resetTimeoutJitter: 0.5 });
    reg.configure(NAME, { resetTimeoutJitter: 0 });
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.99);
    try {
      await reg.execute(NAME, boom);
    } finally {
      random.mockRestore();
    }
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
    expect(reg.getStats(NAME)!.nextAttemptTime!.getTime()).toBe(T0 + RESET_TIMEOUT);
  });

  it('fallback set to undefined removes the fallback: failures reach the caller again', async () => {
    reg.configure(NAME, { fallback: () => 'spare', cacheFallback: false });
    expect((await reg.execute(NAME, boom)).data).toBe('spare');
    reg.configure(NAME, { fallback: undefined });
    const result = await reg.execute(NAME, boom);
    expect(result).toMatchObject({ success: false, fromFallback: false });
    expect(result.error!.message).toBe('boom');
  });
});

describe('what a registry is made of', () => {
  it('a registry is a plain object of its methods and nothing else', () => {
    const own = createRegistry();
    try {
      expect(Object.getPrototypeOf(own)).toBe(Object.prototype);
      expect(Object.hasOwn(own, 'constructor')).toBe(false);
      for (const key of Object.keys(own)) expect(typeof (own as unknown as Record<string, unknown>)[key]).toBe('function');
      expect(Object.keys(own)).toContain('execute');
    } finally {
      own.destroy();
    }
  });

  it('an unknown configuration key is refused with every known key, comma-separated', () => {
    expect(() => reg.configure(NAME, { failureTreshold: 3 } as never)).toThrow(
      /unknown configuration key "failureTreshold" \(known keys: failureThreshold, failureWindow, resetTimeout, /,
    );
  });
});
