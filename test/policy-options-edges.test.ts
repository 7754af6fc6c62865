/**
 * Edges of the policy settings: what a `retry` setting accepts and how it says no, the
 * delays its defaults give, what opens the circuit (a retryAfter that asks for no pause,
 * randomness only with jitter), and how the rate window tallies a call found slow at its
 * end or made while the clock stepped back.
 *
 * Source of truth: docs/bad-input.md (the retry rows), docs/decisions.md ("Retry",
 * "When to open"), /work/shared/POLICIES.md sections 2 and 5.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CircuitState,
  createRegistry,
  type CircuitBreakerConfig,
  type CircuitBreakerRegistry,
} from '../src/index.js';
import { NAME, SMALL_DEFAULTS, T0, boom, deferred, fakeTimeRegistry, ok, tearDownFakeTimeRegistry } from './helpers.js';

let reg: CircuitBreakerRegistry;

beforeEach(() => {
  reg = fakeTimeRegistry({ now: T0, registry: { defaults: SMALL_DEFAULTS } });
});

afterEach(() => {
  tearDownFakeTimeRegistry(reg, { restoreMocks: true });
});

const OPTION = 'execute: options.retry';
const KEY = `configure("${NAME}"): retry`;

/** What `execute` says of a call given `retry`. */
function executeWith(retry: unknown): Promise<unknown> {
  return reg.execute(NAME, ok(), { retry } as never);
}

/** What `configure` says of `retry`, or undefined when it takes it. */
function configureWith(retry: unknown): unknown {
  try {
    reg.configure(NAME, { retry } as never);
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('which values a retry setting takes', () => {
  it('takes a settings object with no prototype (Object.create(null))', async () => {
    const retry = Object.assign(Object.create(null) as object, { attempts: 2, jitter: false });
    await expect(executeWith(retry)).resolves.toMatchObject({ success: true, attempts: 1 });
    expect(configureWith(retry)).toBeUndefined();
    expect(reg.getConfig(NAME)!.retry).toEqual({ attempts: 2, minDelay: 100, maxDelay: 10_000, factor: 2, jitter: false });
  });

  it.each([
    ['null', null, 'null'],
    ['an array', [], 'an array'],
    ['a Date', new Date(T0), '[object Date]'],
    ['an instance of a class', new (class Settings { attempts = 3 })(), '[object Object]'],
  ])('refuses %s as neither attempts nor a settings object', async (_, retry, shown) => {
    const rest = `must be a number of attempts, an object { attempts, ... } or false, got ${shown}`;
    await expect(executeWith(retry)).rejects.toEqual(new TypeError(`${OPTION} ${rest}`));
    expect(configureWith(retry)).toEqual(new TypeError(`${KEY} ${rest}`));
  });

  it('refuses undefined in a configuration: false is how retry is turned off there', () => {
    expect(configureWith(undefined)).toEqual(
      new TypeError(`${KEY} must be a number of attempts, an object { attempts, ... } or false, got undefined`),
    );
  });

  it('takes up to a million attempts, as a number or as attempts, and no more', async () => {
    expect(configureWith(1_000_000)).toBeUndefined();
    expect(reg.getConfig(NAME)!.retry).toMatchObject({ attempts: 1_000_000 });
    expect(configureWith({ attempts: 1_000_000 })).toBeUndefined();
    expect(reg.getConfig(NAME)!.retry).toMatchObject({ attempts: 1_000_000 });

    await expect(executeWith(1_000_001)).rejects.toEqual(
      new RangeError(`${OPTION} must be a number of attempts from 1 to 1000000, got 1000001`),
    );
    await expect(executeWith({ attempts: 1_000_001 })).rejects.toEqual(
      new RangeError(`${OPTION}.attempts must be an integer from 1 to 1000000, got 1000001`),
    );
  });

  it('takes delays up to the longest a timer honours, 2147483647 ms, and no more', async () => {
    expect(configureWith({ attempts: 2, minDelay: 2 ** 31 - 1, maxDelay: 2 ** 31 - 1 })).toBeUndefined();
    expect(reg.getConfig(NAME)!.retry).toMatchObject({ minDelay: 2 ** 31 - 1, maxDelay: 2 ** 31 - 1 });

    await expect(executeWith({ attempts: 2, minDelay: 2 ** 31 })).rejects.toEqual(
      new RangeError(`${OPTION}.minDelay must be a number of ms from 0 to 2147483647, got 2147483648`),
    );
    await expect(executeWith({ attempts: 2, maxDelay: -1 })).rejects.toEqual(
      new RangeError(`${OPTION}.maxDelay must be a number of ms from 0 to 2147483647, got -1`),
    );
  });

  it.each([
    ['a maxDelay equal to minDelay: every retry waits that long', { minDelay: 500, maxDelay: 500 }, 500],
    ['a factor of 1: the delays do not grow', { minDelay: 200, factor: 1 }, 200],
  ])('takes %s', async (_label, delaySettings, delay) => {
    const delays: number[] = [];
    reg.on('request:retry', (_name, _attempt, _error, waited) => delays.push(waited));
    const pending = reg.execute(NAME, boom, { retry: { attempts: 3, jitter: false, ...delaySettings } });
    await vi.advanceTimersByTimeAsync(2 * delay);
    await expect(pending).resolves.toMatchObject({ success: false, attempts: 3 });
    expect(delays).toEqual([delay, delay]);
  });
});

describe('how a bad retry setting is named', () => {
  // A number in a string (from an environment variable, say) is a type error, not a range
  // error: it is never read as a number.
  it.each([
    ['attempts', { attempts: '3' }, 'retry.attempts must be a number, got "3"'],
    ['minDelay', { attempts: 3, minDelay: '50' }, 'retry.minDelay must be a number, got "50"'],
    ['maxDelay', { attempts: 3, maxDelay: '5000' }, 'retry.maxDelay must be a number, got "5000"'],
    ['factor', { attempts: 3, factor: '2' }, 'retry.factor must be a number, got "2"'],
  ])('%s given as a string is a TypeError that names the key and the value', async (_, retry, message) => {
    await expect(executeWith(retry)).rejects.toEqual(new TypeError(`execute: options.${message}`));
    expect(configureWith(retry)).toEqual(new TypeError(`configure("${NAME}"): ${message}`));
  });

  it('an unknown key is refused with the list of the keys there are', async () => {
    await expect(executeWith({ attempts: 3, retries: 2 })).rejects.toEqual(
      new TypeError(`${OPTION}: unknown key "retries" (keys: attempts, minDelay, maxDelay, factor, jitter, retryIf)`),
    );
  });
});

describe('what a retry setting stands for', () => {
  it('a number of attempts has the documented defaults: 100 ms doubling up to 10 s, with jitter', async () => {
    reg.configure(NAME, { retry: 3 });
    expect(reg.getConfig(NAME)!.retry).toEqual({ attempts: 3, minDelay: 100, maxDelay: 10_000, factor: 2, jitter: true });

    // Full jitter: a whole number of ms drawn below 100, then below 200.
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const delays: number[] = [];
    reg.on('request:retry', (_name, _attempt, _error, delay) => delays.push(delay));
    const fn = vi.fn(boom);
    const pending = reg.execute(NAME, fn, { retry: 3 });
    await vi.advanceTimersByTimeAsync(150);
    await expect(pending).resolves.toMatchObject({ success: false, attempts: 3 });
    expect(fn).toHaveBeenCalledTimes(3);
    expect(delays).toEqual([50, 100]);
  });

  it('one attempt, as an object, is no retry: the configuration says false', () => {
    reg.configure(NAME, { retry: { attempts: 1, minDelay: 0 } });
    expect(reg.getConfig(NAME)!.retry).toBe(false);
  });

  // A call of one attempt cannot retry, so it is no first try the budget counts: the ten
  // calls below leave the budget at its floor of 3 retries.
  it('calls of one attempt give the retry budget no room for more retries', async () => {
    reg.configure(NAME, { failureThreshold: Infinity, retryBudget: 0.5 });
    for (let i = 0; i < 10; i++) await reg.execute(NAME, ok(), { retry: { attempts: 1 } });
    const attempts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const pending = reg.execute(NAME, boom, { retry: { attempts: 2, minDelay: 0, jitter: false } });
      await vi.advanceTimersByTimeAsync(0);
      attempts.push((await pending).attempts);
    }
    expect(attempts).toEqual([2, 2, 2, 1, 1]);
    expect(reg.getStats(NAME)!.retries).toBe(3);
  });
});

describe('what opens the circuit', () => {
  it.each([
    ['0 ms', () => 0],
    ['a Date that is now', () => new Date(Date.now())],
  ])('a retryAfter answering %s asks for no pause: the failure is judged by the rules alone', async (_, retryAfter) => {
    reg.configure(NAME, { retryAfter });
    const result = await reg.execute(NAME, boom);
    expect(result).toMatchObject({ success: false, rejected: false });
    expect(reg.getStats(NAME)).toMatchObject({ state: CircuitState.CLOSED, timesOpened: 0, nextAttemptTime: null });
  });

  // An app that stubs Math.random for its own code (a seeded sequence in its tests, say)
  // keeps its sequence: only jitter draws from it.
  it('a circuit without jitter opens without drawing a random number', async () => {
    const random = vi.spyOn(Math, 'random');
    reg.configure(NAME, { failureThreshold: 1, resetTimeoutMultiplier: 2 });
    await reg.execute(NAME, boom);
    await vi.advanceTimersByTimeAsync(5_000);
    await reg.execute(NAME, boom);
    expect(reg.getStats(NAME)).toMatchObject({ state: CircuitState.OPEN, timesOpened: 2, nextAttemptTime: new Date(T0 + 5_000 + 10_000) });
    expect(random).not.toHaveBeenCalled();
  });
});

describe('the rate window', () => {
  const SLOW = { slowCallDuration: 100, slowCallRateThreshold: 0.5, minimumRequests: 4, failureWindow: 1_000 };

  /** A call that the clock finds past slowCallDuration when it completes, before it was watched as slow. */
  async function slowAtItsEnd(): Promise<void> {
    const answer = deferred();
    const pending = reg.execute(NAME, () => answer.promise);
    vi.setSystemTime(Date.now() + 150);
    answer.resolve('late');
    await expect(pending).resolves.toMatchObject({ success: true, data: 'late' });
  }

  it('a call found slow as it completes leaves the window with its bucket', async () => {
    reg.configure(NAME, SLOW);
    await slowAtItsEnd();
    // A window later the first slow call is out of it: one slow call in four, a quarter.
    vi.setSystemTime(T0 + 2_000);
    for (let i = 0; i < 3; i++) await reg.execute(NAME, ok());
    await slowAtItsEnd();
    expect(reg.getStats(NAME)).toMatchObject({ state: CircuitState.CLOSED, timesOpened: 0, successfulRequests: 5 });
    // A second slow one makes two in five, and a third three in six: half.
    await slowAtItsEnd();
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);
    await slowAtItsEnd();
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
  });
});

describe('the rate window on a clock that steps back', () => {
  let t = T0;
  let own: CircuitBreakerRegistry;
  const RATE: Partial<CircuitBreakerConfig> = {
    failureThreshold: Infinity,
    failureRateThreshold: 0.5,
    minimumRequests: 4,
    failureWindow: 1_000,
  };

  beforeEach(() => {
    t = T0;
    own = createRegistry({ clock: { now: () => t }, defaults: RATE });
  });

  afterEach(() => {
    own.destroy();
  });

  it('calls made while the clock stands back are tallied in the newest bucket and stay with it', async () => {
    t = T0 + 5_000;
    await own.execute(NAME, boom);
    await own.execute(NAME, boom);
    // Two seconds back: two windows before the newest bucket.
    t = T0 + 3_000;
    await own.execute(NAME, boom);
    t = T0 + 5_000;
    expect(own.getState(NAME)).toBe(CircuitState.CLOSED);
    await own.execute(NAME, boom);
    expect(own.getStats(NAME)).toMatchObject({ state: CircuitState.OPEN, failedRequests: 4, lastStateChange: new Date(T0 + 5_000) });
  });

  it('calls made while the clock stands back leave the window when the newest bucket does', async () => {
    t = T0 + 5_000;
    await own.execute(NAME, ok());
    // A twentieth of the window back: the bucket before the newest.
    t = T0 + 4_950;
    await own.execute(NAME, boom);
    await own.execute(NAME, boom);
    // A window after the newest bucket: all three calls are out of it.
    t = T0 + 6_000;
    await own.execute(NAME, boom);
    await own.execute(NAME, boom);
    expect(own.getStats(NAME)).toMatchObject({ state: CircuitState.CLOSED, failedRequests: 4, timesOpened: 0 });
    await own.execute(NAME, boom);
    await own.execute(NAME, boom);
    expect(own.getStats(NAME)).toMatchObject({ state: CircuitState.OPEN, timesOpened: 1 });
  });
});

describe('open periods are whole ms', () => {
  it('a fractional resetTimeout opens until a whole ms, the time nextAttemptTime gives', async () => {
    reg.configure(NAME, { failureThreshold: 1, successThreshold: 1, resetTimeout: 1_000.5, resetTimeoutJitter: 0 });
    await reg.execute(NAME, boom);
    const next = reg.getStats(NAME)!.nextAttemptTime!.getTime();
    expect(next).toBe(T0 + 1_001);
    await vi.advanceTimersByTimeAsync(next - Date.now());
    // At the advertised time the circuit takes a probe.
    expect(reg.getState(NAME)).toBe(CircuitState.HALF_OPEN);
  });

  it('so does a reopening that does not grow, and a fractional cap', async () => {
    reg.configure(NAME, {
      failureThreshold: 1,
      successThreshold: 1,
      resetTimeout: 1_000.4,
      resetTimeoutMultiplier: 1,
      resetTimeoutJitter: 0,
    });
    await reg.execute(NAME, boom);
    await vi.advanceTimersByTimeAsync(1_000);
    await reg.execute(NAME, boom); // the probe fails: open again
    expect(reg.getStats(NAME)!.nextAttemptTime!.getTime() - Date.now()).toBe(1_000);

    reg.configure(NAME, { resetTimeout: 100, resetTimeoutMultiplier: 2, maxResetTimeout: 150.6 });
    await vi.advanceTimersByTimeAsync(1_000);
    await reg.execute(NAME, boom);
    await vi.advanceTimersByTimeAsync(200);
    await reg.execute(NAME, boom);
    expect(reg.getStats(NAME)!.nextAttemptTime!.getTime() - Date.now()).toBe(151);
  });
});

describe('the slow-call rate over a window that turns over again and again', () => {
  it('slow calls that left the window count for nothing when their bucket comes round again', async () => {
    reg.configure(NAME, {
      failureThreshold: Infinity,
      requestTimeout: Infinity,
      failureWindow: 10_000,
      slowCallDuration: 100,
      slowCallRateThreshold: 0.5,
      minimumRequests: 4,
    });
    const slowCall = () => new Promise((resolve) => setTimeout(() => resolve('slow'), 150));
    const start = Math.ceil(Date.now() / 10_000) * 10_000 + 10_000;
    await vi.advanceTimersByTimeAsync(start - Date.now());

    // Two slow calls, under minimumRequests; then the same bucket twice more, a window apart.
    await Promise.all([reg.execute(NAME, slowCall), reg.execute(NAME, slowCall), vi.advanceTimersByTimeAsync(150)]);
    await vi.advanceTimersByTimeAsync(20_000 - 150);
    await Promise.all([reg.execute(NAME, slowCall), vi.advanceTimersByTimeAsync(150)]);
    await vi.advanceTimersByTimeAsync(10_000 - 150);
    expect(reg.getState(NAME)).toBe(CircuitState.CLOSED);

    // Now two slow calls of four: exactly the threshold, whatever came before.
    await reg.execute(NAME, ok());
    await reg.execute(NAME, ok());
    await Promise.all([reg.execute(NAME, slowCall), reg.execute(NAME, slowCall), vi.advanceTimersByTimeAsync(150)]);
    expect(reg.getState(NAME)).toBe(CircuitState.OPEN);
  });
});
