/**
 * Every row of docs/bad-input.md: the error class, a message naming the function, the
 * argument or key and the bad value, and that nothing changed.
 */
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import * as circuitBreaker from '../src/index.js';
import {
  CircuitState,
  DEFAULT_CONFIG,
  createRegistry,
  type CircuitBreakerRegistry,
  type CircuitBreakerStats,
} from '../src/index.js';
import { ALL_EVENTS, boom, fakeTimeRegistry, ok, tearDownFakeTimeRegistry, thrown, track } from './helpers.js';

// ---------------------------------------------------------------------------
// Helpers (the shared ones are in helpers.ts)
// ---------------------------------------------------------------------------

type AnyFn = (...args: unknown[]) => unknown;
/** Calls a registry method with arguments TypeScript would refuse. */
const call = (target: object, method: string, ...args: unknown[]): unknown =>
  (target as Record<string, AnyFn>)[method]!(...args);

/** Snapshot of everything a bad call must leave alone. */
function snapshot(reg: CircuitBreakerRegistry): { executors: string[]; stats: Array<[string, CircuitBreakerStats]> } {
  return { executors: reg.getExecutors(), stats: [...reg.getAllStats()] };
}

let reg: CircuitBreakerRegistry;
let warn: MockInstance<typeof process.emitWarning>;

/**
 * Every test starts with one breaker, 'svc', configured with failureThreshold 2 and
 * resetTimeout 1 s, that has seen a success and a failure.
 */
beforeEach(async () => {
  warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
  reg = fakeTimeRegistry();
  reg.configure('svc', { failureThreshold: 2, resetTimeout: 1_000 });
  await reg.execute('svc', ok());
  await reg.execute('svc', boom);
});

afterEach(() => {
  tearDownFakeTimeRegistry(reg, { destroyDefault: true, restoreMocks: true });
});

/**
 * Proves by behaviour that 'svc' still has failureThreshold 2 and resetTimeout 1 s: with
 * one failure already recorded, one more opens it, and it half-opens 1 s later.
 */
async function expectOriginalConfigInForce(): Promise<void> {
  expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
  await reg.execute('svc', boom);
  expect(reg.getState('svc')).toBe(CircuitState.OPEN);
  const stats = reg.getStats('svc')!;
  expect(stats.nextAttemptTime!.getTime() - stats.lastStateChange!.getTime()).toBe(1_000);
  await vi.advanceTimersByTimeAsync(1_000);
  expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);
}

// ---------------------------------------------------------------------------
// Executor names
// ---------------------------------------------------------------------------

/** [label, value, how the message shows it] */
const BAD_NAMES: Array<[string, unknown, string]> = [
  ['an empty string', '', '""'],
  ['a number', 5, '5'],
  ['zero', 0, '0'],
  ['null', null, 'null'],
  ['undefined', undefined, 'undefined'],
  ['an object', { name: 'svc' }, '[object Object]'],
  ['a boolean', true, 'true'],
];

const SYNC_NAME_FUNCTIONS = [
  'configure',
  'getState',
  'getStats',
  'reset',
  'openCircuit',
  'closeCircuit',
  'isOpen',
  'isClosed',
  'isHalfOpen',
] as const;

/** The other arguments each function needs, all valid. */
const VALID_REST: Record<string, unknown[]> = { configure: [{ failureThreshold: 3 }], execute: [ok()] };

const NAME_CASES = SYNC_NAME_FUNCTIONS.flatMap((fn) =>
  BAD_NAMES.map(([label, value, shown]) => [fn, label, value, shown] as const),
);

describe('executor names', () => {
  it.each(NAME_CASES)('%s with %s throws a TypeError naming the function and the value', async (fn, _label, value, shown) => {
    const before = snapshot(reg);
    const error = thrown(() => call(reg, fn, value, ...(VALID_REST[fn] ?? [])));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe(`${fn}: executorName must be a non-empty string, got ${shown}`);
    expect(snapshot(reg)).toEqual(before);
    await expectOriginalConfigInForce();
  });

  it.each(BAD_NAMES)('execute with %s returns a rejected promise and never throws', async (_label, value, shown) => {
    const before = snapshot(reg);
    const fn = vi.fn(ok());
    let result: unknown;
    expect(() => {
      result = call(reg, 'execute', value, fn);
    }).not.toThrow();
    await expectTypeErrorRejection(result, `execute: executorName must be a non-empty string, got ${shown}`);
    expect(fn).not.toHaveBeenCalled();
    expect(snapshot(reg)).toEqual(before);
  });

  it.each([...SYNC_NAME_FUNCTIONS, 'execute'] as const)('%s with no argument at all is a TypeError too', async (fn) => {
    const before = snapshot(reg);
    if (fn === 'execute') {
      await expect(call(reg, fn) as Promise<unknown>).rejects.toThrow(
        new TypeError('execute: executorName must be a non-empty string, got undefined'),
      );
    } else {
      const error = thrown(() => call(reg, fn));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toBe(`${fn}: executorName must be a non-empty string, got undefined`);
    }
    expect(snapshot(reg)).toEqual(before);
  });

  it('a bad name with a bad configuration reports the name', () => {
    const error = thrown(() => call(reg, 'configure', 7, { failureThreshold: -1 }));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('configure: executorName must be a non-empty string, got 7');
  });

  it('names that are odd but non-empty strings are accepted', async () => {
    for (const name of [' ', '0', 'with space', 'ünïcödé', '__proto__', 'constructor']) {
      const result = await reg.execute(name, ok(name));
      expect(result).toMatchObject({ success: true, data: name });
      expect(reg.getStats(name)!.executorName).toBe(name);
    }
    expect(reg.getExecutors()).toEqual(['svc', ' ', '0', 'with space', 'ünïcödé', '__proto__', 'constructor']);
  });

  describe('the module functions', () => {
    it.each(NAME_CASES)('%s with %s throws the same TypeError and creates nothing', (fn, _label, value, shown) => {
      const error = thrown(() => call(circuitBreaker, fn, value, ...(VALID_REST[fn] ?? [])));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toBe(`${fn}: executorName must be a non-empty string, got ${shown}`);
      expect(circuitBreaker.getExecutors()).toEqual([]);
    });

    it.each(BAD_NAMES)('execute with %s rejects without throwing', async (_label, value, shown) => {
      let result: unknown;
      expect(() => {
        result = call(circuitBreaker, 'execute', value, ok());
      }).not.toThrow();
      await expect(result as Promise<unknown>).rejects.toThrow(
        new TypeError(`execute: executorName must be a non-empty string, got ${shown}`),
      );
      expect(circuitBreaker.getExecutors()).toEqual([]);
    });
  });
});

describe('valid names with no breaker', () => {
  it('getState and getStats give null', () => {
    expect(reg.getState('nobody')).toBeNull();
    expect(reg.getStats('nobody')).toBeNull();
  });

  it('isOpen, isClosed and isHalfOpen give false', () => {
    expect([reg.isOpen('nobody'), reg.isClosed('nobody'), reg.isHalfOpen('nobody')]).toEqual([false, false, false]);
  });

  it('reset does nothing: no breaker, no event', () => {
    const closed = vi.fn();
    reg.on('circuit:closed', closed);
    const before = snapshot(reg);
    expect(reg.reset('nobody')).toBeUndefined();
    expect(snapshot(reg)).toEqual(before);
    expect(closed).not.toHaveBeenCalled();
  });

  it('none of the queries creates a breaker', () => {
    const before = snapshot(reg);
    reg.getState('nobody');
    reg.getStats('nobody');
    reg.isOpen('nobody');
    reg.isClosed('nobody');
    reg.isHalfOpen('nobody');
    reg.reset('nobody');
    expect(snapshot(reg)).toEqual(before);
  });
});

// ---------------------------------------------------------------------------
// execute(executorName, fn, options?)
// ---------------------------------------------------------------------------

/** Asserts `promise` rejects with a TypeError whose message is exactly `message`. */
async function expectTypeErrorRejection(promise: unknown, message: string): Promise<void> {
  expect(promise).toBeInstanceOf(Promise);
  const error = await (promise as Promise<unknown>).then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: Error) => e,
  );
  expect(error).toBeInstanceOf(TypeError);
  expect(error.message).toBe(message);
}

describe('execute: fn', () => {
  const BAD_FNS: Array<[string, unknown, string]> = [
    ['missing', undefined, 'undefined'],
    ['null', null, 'null'],
    ['a promise', Promise.resolve(1), '[object Promise]'],
    ['a number', 42, '42'],
    ['a string', 'fetch()', '"fetch()"'],
    ['an object', { call: () => 1 }, '[object Object]'],
  ];

  it.each(BAD_FNS)('fn %s: rejects with a TypeError and changes nothing', async (_label, fn, shown) => {
    const before = snapshot(reg);
    let result: unknown;
    expect(() => {
      result = call(reg, 'execute', 'svc', fn);
    }).not.toThrow();
    await expectTypeErrorRejection(result, `execute: fn must be a function, got ${shown}`);
    expect(snapshot(reg)).toEqual(before);
    await expectOriginalConfigInForce();
  });

  it.each(BAD_FNS)('fn %s on a new name: no breaker is created', async (_label, fn, shown) => {
    const before = snapshot(reg);
    await expectTypeErrorRejection(call(reg, 'execute', 'fresh', fn), `execute: fn must be a function, got ${shown}`);
    expect(snapshot(reg)).toEqual(before);
  });

  it('a bad fn fires no event', async () => {
    const listeners = (['request:success', 'request:failure', 'request:rejected'] as const).map((event) => {
      const listener = vi.fn();
      reg.on(event, listener);
      return listener;
    });
    await expect(call(reg, 'execute', 'svc', null) as Promise<unknown>).rejects.toThrow(TypeError);
    reg.openCircuit('svc');
    // even when the circuit would reject the call, the programmer error comes first
    await expect(call(reg, 'execute', 'svc', null) as Promise<unknown>).rejects.toThrow(TypeError);
    for (const listener of listeners) expect(listener).not.toHaveBeenCalled();
    expect(reg.getStats('svc')!.rejectedRequests).toBe(0);
  });

  it('a TypeError thrown by fn itself is an outcome, not a programmer error', async () => {
    const error = new TypeError('x is not a function');
    const result = await reg.execute('svc', () => {
      throw error;
    });
    expect(result).toMatchObject({ success: false, rejected: false, fromCache: false });
    expect(result.error).toBe(error);
  });
});

const shown = (value: unknown): string => (typeof value === 'string' ? JSON.stringify(value) : String(value));

describe('execute: options', () => {
  /** [label, options, expected message] */
  const BAD_OPTIONS: Array<[string, unknown, string]> = [
    ['null', null, 'execute: options must be an object, got null'],
    ['a string', 'fast', 'execute: options must be an object, got "fast"'],
    ['an array', [], 'execute: options must be an object, got an array'],
    ['a number', 5, 'execute: options must be an object, got 5'],
    ['an unknown key', { timeOut: 5 }, 'execute: unknown option "timeOut" (options: signal, cacheKey, timeout, retry, fallback)'],
    ['a misspelt key', { cachekey: 'a' }, 'execute: unknown option "cachekey" (options: signal, cacheKey, timeout, retry, fallback)'],
    ['an unknown key beside good ones', { cacheKey: 'a', retries: 3 }, 'execute: unknown option "retries" (options: signal, cacheKey, timeout, retry, fallback)'],
    ...([0, -5, NaN, -Infinity, 2147483648, '100', null] as const).map((value): [string, unknown, string] => [
      `timeout ${shown(value)}`,
      { timeout: value },
      `execute: options.timeout must be a number of ms above 0 and at most 2147483647, or Infinity for no timeout, got ${shown(value)}`,
    ]),
    ['signal as a string', { signal: 'abort' }, 'execute: options.signal must be an AbortSignal, got "abort"'],
    ['signal as a plain object', { signal: {} }, 'execute: options.signal must be an AbortSignal, got [object Object]'],
    ['signal null', { signal: null }, 'execute: options.signal must be an AbortSignal, got null'],
    ['signal as an AbortController', { signal: new AbortController() }, 'execute: options.signal must be an AbortSignal, got [object AbortController]'],
    ['signal as an EventTarget', { signal: new EventTarget() }, 'execute: options.signal must be an AbortSignal, got [object EventTarget]'],
    ['cacheKey as a number', { cacheKey: 5 }, 'execute: options.cacheKey must be a string, got 5'],
    ['cacheKey null', { cacheKey: null }, 'execute: options.cacheKey must be a string, got null'],
    ['cacheKey as an object', { cacheKey: { id: 1 } }, 'execute: options.cacheKey must be a string, got [object Object]'],
  ];

  it.each(BAD_OPTIONS)('options %s: rejects with a TypeError, fn is not called, nothing changes', async (_label, options, message) => {
    const before = snapshot(reg);
    const fn = vi.fn(ok());
    let result: unknown;
    expect(() => {
      result = call(reg, 'execute', 'svc', fn, options);
    }).not.toThrow();
    await expectTypeErrorRejection(result, message);
    expect(fn).not.toHaveBeenCalled();
    expect(snapshot(reg)).toEqual(before);
    await expectOriginalConfigInForce();
  });

  it.each(BAD_OPTIONS)('options %s on a new name: no breaker is created', async (_label, options, message) => {
    const before = snapshot(reg);
    await expectTypeErrorRejection(call(reg, 'execute', 'fresh', ok(), options), message);
    expect(snapshot(reg)).toEqual(before);
  });

  it('accepts undefined options, an empty object, a real AbortSignal and a string cacheKey', async () => {
    const results = [
      await reg.execute('svc', ok(1), undefined),
      await reg.execute('svc', ok(2), {}),
      await reg.execute('svc', ok(3), { signal: new AbortController().signal }),
      await reg.execute('svc', ok(4), { cacheKey: '' }),
      await reg.execute('svc', ok(5), { signal: undefined, cacheKey: undefined }),
    ];
    expect(results.map((r) => r.success)).toEqual([true, true, true, true, true]);
  });
});

// ---------------------------------------------------------------------------
// configure(executorName, config) and createRegistry({ defaults })
// ---------------------------------------------------------------------------

const NUMBER_KEYS = [
  'failureThreshold',
  'failureWindow',
  'resetTimeout',
  'successThreshold',
  'requestTimeout',
  'fallbackMaxAge',
  'fallbackMaxEntries',
  'failureRateThreshold',
  'minimumRequests',
  'slowCallDuration',
  'slowCallRateThreshold',
  'resetTimeoutMultiplier',
  'maxResetTimeout',
  'resetTimeoutJitter',
] as const;
const KNOWN_KEYS = Object.keys(DEFAULT_CONFIG);

/** A row: [label, config, error class, the end of the message after the prefix]. */
type ConfigRow = [string, unknown, typeof TypeError | typeof RangeError, string];

/**
 * Lays a bad key over valid changes of failureThreshold and resetTimeout, so that a
 * partly applied configuration would be caught by {@link expectOriginalConfigInForce}.
 */
const withValidKeys = (key: string, value: unknown) => ({ failureThreshold: 3, resetTimeout: 5_000, [key]: value });

const CONFIG_ROWS: ConfigRow[] = [
  // config not a plain object
  ['config null', null, TypeError, 'the configuration must be a plain object, got null'],
  ['config missing', undefined, TypeError, 'the configuration must be a plain object, got undefined'],
  ['config an array', [{ failureThreshold: 3 }], TypeError, 'the configuration must be a plain object, got an array'],
  ['config a string', 'failureThreshold=3', TypeError, 'the configuration must be a plain object, got "failureThreshold=3"'],
  ['config a Map', new Map([['failureThreshold', 3]]), TypeError, 'the configuration must be a plain object, got [object Map]'],
  ['config a number', 3, TypeError, 'the configuration must be a plain object, got 3'],
  // unknown keys (checked separately for the list of known keys)
  ['unknown key failureTreshold', withValidKeys('failureTreshold', 3), TypeError, ''],
  ['unknown key timeout', withValidKeys('timeout', 1_000), TypeError, ''],
  ['unknown key fallBack', withValidKeys('fallBack', () => 1), TypeError, ''],
  ['unknown key in the wrong case', withValidKeys('CacheFallback', true), TypeError, ''],
  // number keys given a non-number
  ...NUMBER_KEYS.flatMap((key): ConfigRow[] => [
    [`${key} "5"`, withValidKeys(key, '5'), TypeError, `${key} must be a number, got "5"`],
    [`${key} true`, withValidKeys(key, true), TypeError, `${key} must be a number, got true`],
    [`${key} null`, withValidKeys(key, null), TypeError, `${key} must be a number, got null`],
    [`${key} 5n`, withValidKeys(key, 5n), TypeError, `${key} must be a number, got 5n`],
    [`${key} an object`, withValidKeys(key, { ms: 5 }), TypeError, `${key} must be a number, got [object Object]`],
  ]),
  // cacheFallback given a non-boolean
  ['cacheFallback "yes"', withValidKeys('cacheFallback', 'yes'), TypeError, 'cacheFallback must be a boolean, got "yes"'],
  ['cacheFallback 1', withValidKeys('cacheFallback', 1), TypeError, 'cacheFallback must be a boolean, got 1'],
  ['cacheFallback 0', withValidKeys('cacheFallback', 0), TypeError, 'cacheFallback must be a boolean, got 0'],
  ['cacheFallback null', withValidKeys('cacheFallback', null), TypeError, 'cacheFallback must be a boolean, got null'],
  // failureThreshold: a positive integer, or Infinity to turn the count rule off
  ...(
    [
      [0, '0'],
      [-1, '-1'],
      [2.5, '2.5'],
      [NaN, 'NaN'],
      [-Infinity, '-Infinity'],
    ] as const
  ).map(([value, shown]): ConfigRow => [
    `failureThreshold ${shown}`,
    withValidKeys('failureThreshold', value),
    RangeError,
    `failureThreshold must be a positive integer, or Infinity for no count rule, got ${shown}`,
  ]),
  // positive integers
  ...(['successThreshold', 'fallbackMaxEntries', 'minimumRequests'] as const).flatMap((key) =>
    (
      [
        [0, '0'],
        [-1, '-1'],
        [2.5, '2.5'],
        [NaN, 'NaN'],
        [Infinity, 'Infinity'],
        [-Infinity, '-Infinity'],
      ] as const
    ).map(([value, shown]): ConfigRow => [
      `${key} ${shown}`,
      withValidKeys(key, value),
      RangeError,
      `${key} must be a positive integer, got ${shown}`,
    ]),
  ),
  // shares in (0, 1]
  ...(['failureRateThreshold', 'slowCallRateThreshold'] as const).flatMap((key) =>
    ([0, -0.5, 1.01, NaN, Infinity] as const).map(
      (value): ConfigRow => [`${key} ${value}`, withValidKeys(key, value), RangeError, `${key} must be a number above 0 and at most 1, got ${value}`],
    ),
  ),
  ...([0, -1, NaN, -Infinity, 2147483648] as const).map((value): ConfigRow => [
    `slowCallDuration ${value}`,
    withValidKeys('slowCallDuration', value),
    RangeError,
    `slowCallDuration must be a number of ms above 0 and at most 2147483647, or Infinity for no slow-call rule, got ${value}`,
  ]),
  ...([0.5, 0, -1, NaN, Infinity] as const).map((value): ConfigRow => [
    `resetTimeoutMultiplier ${value}`,
    withValidKeys('resetTimeoutMultiplier', value),
    RangeError,
    `resetTimeoutMultiplier must be a finite number of at least 1, got ${value}`,
  ]),
  ...([-1, NaN, Infinity, 2147483648] as const).map((value): ConfigRow => [
    `maxResetTimeout ${value}`,
    withValidKeys('maxResetTimeout', value),
    RangeError,
    `maxResetTimeout must be a number of ms from 0 to 2147483647, got ${value}`,
  ]),
  ...([1, -0.1, 1.5, NaN] as const).map((value): ConfigRow => [
    `resetTimeoutJitter ${value}`,
    withValidKeys('resetTimeoutJitter', value),
    RangeError,
    `resetTimeoutJitter must be a number from 0 up to (not including) 1, got ${value}`,
  ]),
  // predicates
  ...(['isFailure', 'isResultFailure', 'retryAfter'] as const).flatMap((key) =>
    (
      [
        [true, 'true'],
        [null, 'null'],
        ['yes', '"yes"'],
        [{ test: () => true }, '[object Object]'],
      ] as const
    ).map(([value, text]): ConfigRow => [
      `${key} ${text}`,
      withValidKeys(key, value),
      TypeError,
      `${key} must be a function (or undefined to remove it), got ${text}`,
    ]),
  ),
  // spans compared with the clock
  ...(['failureWindow', 'fallbackMaxAge'] as const).flatMap((key) =>
    (
      [
        [0, '0'],
        [-1, '-1'],
        [NaN, 'NaN'],
        [Infinity, 'Infinity'],
        [-Infinity, '-Infinity'],
      ] as const
    ).map(([value, shown]): ConfigRow => [
      `${key} ${shown}`,
      withValidKeys(key, value),
      RangeError,
      `${key} must be a finite number of ms above 0, got ${shown}`,
    ]),
  ),
  // resetTimeout
  ...(
    [
      [-1, '-1'],
      [NaN, 'NaN'],
      [Infinity, 'Infinity'],
      [-Infinity, '-Infinity'],
      [2147483648, '2147483648'],
    ] as const
  ).map(([value, shown]): ConfigRow => [
    `resetTimeout ${shown}`,
    withValidKeys('resetTimeout', value),
    RangeError,
    `resetTimeout must be a number of ms from 0 to 2147483647, got ${shown}`,
  ]),
  // requestTimeout
  ...(
    [
      [0, '0'],
      [-1, '-1'],
      [NaN, 'NaN'],
      [-Infinity, '-Infinity'],
      [2147483648, '2147483648'],
    ] as const
  ).map(([value, shown]): ConfigRow => [
    `requestTimeout ${shown}`,
    withValidKeys('requestTimeout', value),
    RangeError,
    `requestTimeout must be a number of ms above 0 and at most 2147483647, or Infinity for no timeout, got ${shown}`,
  ]),
];

/** Checks the message of a configuration error against its row. */
function expectConfigMessage(error: Error, prefix: string, row: ConfigRow): void {
  const [, config, , tail] = row;
  expect(error.message.startsWith(prefix)).toBe(true);
  if (tail !== '') {
    expect(error.message.endsWith(tail)).toBe(true);
    return;
  }
  // an unknown key: the message names it and lists the known keys
  const unknown = Object.keys(config as object).find((k) => !KNOWN_KEYS.includes(k))!;
  expect(error.message).toContain(`unknown configuration key "${unknown}" (known keys: `);
  for (const key of KNOWN_KEYS) expect(error.message).toContain(key);
}

describe('configure: bad configuration', () => {
  it.each(CONFIG_ROWS)('%s: throws, names the key and value, and leaves the old configuration in force', async (...row) => {
    const [, config, ErrorClass] = row;
    const before = snapshot(reg);
    const error = thrown(() => call(reg, 'configure', 'svc', config));
    expect(error).toBeInstanceOf(ErrorClass);
    if (ErrorClass === TypeError) expect(error).not.toBeInstanceOf(RangeError);
    expectConfigMessage(error, 'configure("svc")', row);
    expect(snapshot(reg)).toEqual(before);
    await expectOriginalConfigInForce();
  });

  it.each(CONFIG_ROWS)('%s on a new name: no breaker is created', (...row) => {
    const [, config, ErrorClass] = row;
    const before = snapshot(reg);
    const error = thrown(() => call(reg, 'configure', 'fresh', config));
    expect(error).toBeInstanceOf(ErrorClass);
    expectConfigMessage(error, 'configure("fresh")', row);
    expect(snapshot(reg)).toEqual(before);
    expect(reg.getState('fresh')).toBeNull();
  });

  it('a value that cannot even be described (a revoked Proxy) is named as such, and changes nothing', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const before = snapshot(reg);
    const error = thrown(() => call(reg, 'configure', 'svc', { failureThreshold: proxy }));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/^configure\("svc"\): failureThreshold must be .*, got an unprintable value$/);
    expect(snapshot(reg)).toEqual(before);
  });

  it('the module configure throws the same and creates nothing', () => {
    const error = thrown(() => circuitBreaker.configure('svc', { failureThreshold: 0 }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe('configure("svc"): failureThreshold must be a positive integer, or Infinity for no count rule, got 0');
    expect(circuitBreaker.getExecutors()).toEqual([]);
  });

  it('a bad value for a key that would have changed the timeout leaves the running timeout alone', async () => {
    reg.configure('svc', { requestTimeout: 1_000 });
    expect(() => reg.configure('svc', { requestTimeout: 500, failureWindow: -1 })).toThrow(RangeError);
    const p = reg.execute('other', () => new Promise(() => {})); // a different breaker, default 10 s
    const q = reg.execute('svc', () => new Promise(() => {}));
    let svcSettledAt = -1;
    void q.then(() => {
      svcSettledAt = Date.now();
    });
    const start = Date.now();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(svcSettledAt - start).toBe(1_000);
    await vi.advanceTimersByTimeAsync(9_000);
    await p;
  });

  describe('the edges that are allowed', () => {
    it.each([
      ['resetTimeout 0', { resetTimeout: 0 }],
      ['resetTimeout 2147483647', { resetTimeout: 2147483647 }],
      ['requestTimeout 2147483647', { requestTimeout: 2147483647 }],
      ['requestTimeout Infinity', { requestTimeout: Infinity }],
      ['requestTimeout fractional', { requestTimeout: 0.5 }],
      ['failureWindow fractional', { failureWindow: 0.5 }],
      ['fallbackMaxAge fractional', { fallbackMaxAge: 1.5 }],
      ['failureThreshold 1', { failureThreshold: 1 }],
      ['successThreshold 1', { successThreshold: 1 }],
      ['fallbackMaxEntries 1', { fallbackMaxEntries: 1 }],
      ['cacheFallback false', { cacheFallback: false }],
      ['an empty partial', {}],
      ['a null-prototype object', Object.assign(Object.create(null) as object, { failureThreshold: 4 })],
    ])('%s is accepted', (_label, config) => {
      expect(() => reg.configure('svc', config)).not.toThrow();
      expect(() => createRegistry({ defaults: config }).destroy()).not.toThrow();
    });
  });
});

// ---------------------------------------------------------------------------
// createRegistry(options)
// ---------------------------------------------------------------------------

describe('createRegistry: bad options', () => {
  const BAD_REGISTRY_OPTIONS: Array<[string, unknown, string]> = [
    ['null', null, 'createRegistry: options must be an object, got null'],
    ['a string', 'defaults', 'createRegistry: options must be an object, got "defaults"'],
    ['a number', 5, 'createRegistry: options must be an object, got 5'],
    ['an array', [], 'createRegistry: options must be an object, got an array'],
    ['a boolean', true, 'createRegistry: options must be an object, got true'],
    ['an unknown key', { default: {} }, 'createRegistry: unknown option "default" (options: defaults, clock)'],
    ['an unknown key beside good ones', { defaults: {}, now: Date.now }, 'createRegistry: unknown option "now" (options: defaults, clock)'],
    ['clock as an empty object', { clock: {} }, 'createRegistry: clock must be an object with a now() method, got [object Object]'],
    ['clock null', { clock: null }, 'createRegistry: clock must be an object with a now() method, got null'],
    ['clock a number', { clock: 5 }, 'createRegistry: clock must be an object with a now() method, got 5'],
    ['clock with now not a function', { clock: { now: 5 } }, 'createRegistry: clock must be an object with a now() method, got [object Object]'],
    ['clock a string', { clock: 'Date.now' }, 'createRegistry: clock must be an object with a now() method, got "Date.now"'],
  ];

  it.each(BAD_REGISTRY_OPTIONS)('options %s: a TypeError naming the option and the value', (_label, options, message) => {
    const error = thrown(() => createRegistry(options as never));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe(message);
  });

  // `defaults: undefined` means "no defaults given", so the row for a missing config does not apply.
  const DEFAULTS_ROWS = CONFIG_ROWS.filter(([, config]) => config !== undefined);

  it.each(DEFAULTS_ROWS)('defaults %s: throws as configure does, prefixed createRegistry: defaults', (...row) => {
    const [, config, ErrorClass] = row;
    const error = thrown(() => createRegistry({ defaults: config as never }));
    expect(error).toBeInstanceOf(ErrorClass);
    if (ErrorClass === TypeError) expect(error).not.toBeInstanceOf(RangeError);
    expectConfigMessage(error, 'createRegistry: defaults', row);
  });

  it('no argument, undefined and an empty object are accepted', () => {
    for (const options of [undefined, {}, { defaults: undefined, clock: undefined }]) {
      const made = createRegistry(options);
      expect(made.getExecutors()).toEqual([]);
      made.destroy();
    }
    createRegistry().destroy();
  });

  it('a bad createRegistry call does not touch the module registry', () => {
    circuitBreaker.configure('m', { failureThreshold: 3 });
    expect(() => createRegistry({ defaults: { failureThreshold: 0 } })).toThrow(RangeError);
    expect(circuitBreaker.getExecutors()).toEqual(['m']);
  });
});

// ---------------------------------------------------------------------------
// on(event, listener), off(event, listener)
// ---------------------------------------------------------------------------

describe.each(['on', 'off'] as const)('%s: bad arguments', (method) => {
  const BAD_EVENTS: Array<[string, unknown, string]> = [
    ['a near miss', 'circuit:open', '"circuit:open"'],
    ['a wrong case', 'Circuit:Opened', '"Circuit:Opened"'],
    ['an empty string', '', '""'],
    ['a number', 5, '5'],
    ['null', null, 'null'],
    ['undefined', undefined, 'undefined'],
    ["a Node event like 'error'", 'error', '"error"'],
  ];

  it.each(BAD_EVENTS)('an unknown event, %s: a TypeError naming the event and listing the events', (_label, event, shown) => {
    const error = thrown(() => call(reg, method, event, () => {}));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message.startsWith(`${method}: unknown event ${shown} (events: `)).toBe(true);
    for (const name of ALL_EVENTS) expect(error.message).toContain(name);
  });

  const BAD_LISTENERS: Array<[string, unknown, string]> = [
    ['missing', undefined, 'undefined'],
    ['null', null, 'null'],
    ['a string', 'console.log', '"console.log"'],
    ['an object', { handleEvent() {} }, '[object Object]'],
    ['a number', 1, '1'],
  ];

  it.each(BAD_LISTENERS)('a listener %s: a TypeError naming the event and the value', (_label, listener, shown) => {
    const error = thrown(() => call(reg, method, 'circuit:opened', listener));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe(`${method}: the listener for "circuit:opened" must be a function, got ${shown}`);
  });

  it('the module function throws the same', () => {
    const error = thrown(() => call(circuitBreaker, method, 'circuit:open', () => {}));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message.startsWith(`${method}: unknown event "circuit:open" (events: `)).toBe(true);
    const error2 = thrown(() => call(circuitBreaker, method, 'request:success', null));
    expect(error2.message).toBe(`${method}: the listener for "request:success" must be a function, got null`);
  });
});

describe('on and off: nothing changes after a bad call', () => {
  it('a rejected listener is not registered: later events run cleanly', async () => {
    const good = vi.fn();
    reg.on('request:success', good);
    expect(() => call(reg, 'on', 'request:success', 'not a function')).toThrow(TypeError);
    expect(() => call(reg, 'on', 'request:success', { handleEvent: vi.fn() })).toThrow(TypeError);
    const result = await reg.execute('svc', ok('x'));
    expect(result).toMatchObject({ success: true, data: 'x' });
    expect(good).toHaveBeenCalledTimes(1);
    expect(warn).not.toHaveBeenCalled();
  });

  it('a bad off leaves the existing listener in place', async () => {
    const good = vi.fn();
    reg.on('request:success', good);
    expect(() => call(reg, 'off', 'request:succes', good)).toThrow(TypeError);
    expect(() => call(reg, 'off', 'request:success', null)).toThrow(TypeError);
    await reg.execute('svc', ok());
    expect(good).toHaveBeenCalledTimes(1);
  });

  it('off of a listener that was never added does nothing', async () => {
    const good = vi.fn();
    reg.on('request:success', good);
    expect(reg.off('request:success', () => {})).toBeUndefined();
    expect(reg.off('fallback:used', good)).toBeUndefined();
    await reg.execute('svc', ok());
    expect(good).toHaveBeenCalledTimes(1);
  });
});

// ---------------------------------------------------------------------------
// formatStats(stats)
// ---------------------------------------------------------------------------

describe('formatStats: bad argument', () => {
  const BAD_STATS: Array<[string, unknown, string]> = [
    ['null', null, 'null'],
    ['missing', undefined, 'undefined'],
    ['a string', 'svc', '"svc"'],
    ['a number', 5, '5'],
    ['an object without executorName', { state: 'CLOSED', totalRequests: 1 }, '[object Object]'],
    ['an object whose executorName is not a string', { executorName: 5 }, '[object Object]'],
    ['an array', [], 'an array'],
    ['a Map from getAllStats', new Map(), '[object Map]'],
  ];

  it.each(BAD_STATS)('%s: a TypeError naming the function and the value, from both entry points', (_label, value, shown) => {
    const message = `formatStats: expected the stats of one executor (from getStats), got ${shown}`;
    for (const target of [reg, circuitBreaker]) {
      const error = thrown(() => call(target, 'formatStats', value));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toBe(message);
    }
  });

  it('passing getAllStats() itself is refused, its values are accepted', () => {
    expect(() => call(reg, 'formatStats', reg.getAllStats())).toThrow(TypeError);
    for (const stats of reg.getAllStats().values()) expect(reg.formatStats(stats)).toContain('=== Circuit Breaker: svc ===');
  });
});

// ---------------------------------------------------------------------------
// Added by the reliability work (docs/reliability.md): odd values from fn and from the
// caller, and that no bad call, in any state, changes anything or throws where a user
// would not expect it.
// ---------------------------------------------------------------------------

/** Lets fn's promise jobs and the library's result run (fake timers: no real time passes). */
async function settle(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

/** Like helpers.ts's track, but also records a rejection (execute must never reject for fn's outcome). */
function observe<T>(promise: Promise<T>) {
  const state: { settled: boolean; result: T | undefined; rejection: unknown } = {
    settled: false,
    result: undefined,
    rejection: undefined,
  };
  promise.then(
    (result) => {
      state.settled = true;
      state.result = result;
    },
    (error: unknown) => {
      state.settled = true;
      state.rejection = error;
    },
  );
  return state;
}

/**
 * A value that cannot even be inspected: reading any property of it throws, so does
 * `Object.prototype.toString.call(value)` (it reads Symbol.toStringTag).
 */
function uninspectable(): object {
  return new Proxy(
    {},
    {
      get() {
        throw new Error('do not touch');
      },
    },
  );
}

describe('execute: whatever fn throws, rejects with or is, the outcome is a result', () => {
  const nullProto = Object.create(null) as object;
  const badToString = {
    toString() {
      throw new Error('no string for you');
    },
  };
  const sym = Symbol('odd');
  /** [label, the value thrown] */
  const ODD_THROWN: Array<[string, unknown]> = [
    ['a Symbol', sym],
    ['a null-prototype object', nullProto],
    ['an object whose toString throws', badToString],
    ['undefined', undefined],
    // Only an object's `message` is taken: a function is described, whatever it carries.
    ['a function, even with a message', Object.assign(() => 'I am a function', { message: 'not taken' })],
  ];

  it.each([
    ['a Symbol', sym, 'Non-Error thrown: Symbol(odd)'],
    // String() throws for these two: the message falls back to their type tag.
    ['a null-prototype object', nullProto, 'Non-Error thrown: [object Object]'],
    ['an object whose toString throws', badToString, 'Non-Error thrown: [object Object]'],
    ['undefined', undefined, 'Non-Error thrown: undefined'],
  ])('fn throws %s: the message still describes the value', async (_label, value, message) => {
    const r = await reg.execute('svc', () => {
      throw value;
    });
    expect(r.error!.message).toBe(message);
  });

  it.each(ODD_THROWN)('fn throws %s: a failure with an Error whose cause is the value, counted once', async (_label, value) => {
    const before = reg.getStats('svc')!;
    let result: unknown;
    expect(() => {
      result = reg.execute('svc', () => {
        throw value;
      });
    }).not.toThrow();
    const r = await (result as ReturnType<typeof reg.execute>);
    expect(r).toMatchObject({ success: false, rejected: false, fromCache: false });
    expect(r.error).toBeInstanceOf(Error);
    expect(r.error!.message.startsWith('Non-Error thrown: ')).toBe(true);
    expect(Object.is(r.error!.cause, value)).toBe(true);
    expect(reg.getStats('svc')!.failedRequests).toBe(before.failedRequests + 1);
  });

  it.each(ODD_THROWN)('fn rejects with %s: the same', async (_label, value) => {
    const r = await reg.execute('fresh', () => Promise.reject(value));
    expect(r).toMatchObject({ success: false, rejected: false });
    expect(Object.is(r.error!.cause, value)).toBe(true);
    expect(reg.getStats('fresh')).toMatchObject({ failedRequests: 1, totalRequests: 1 });
  });

  /** [label, a "function" that fails when called or when its result is read] */
  const ODD_FNS: Array<[string, () => unknown]> = [
    ['a class constructor (calling it without new throws)', class Service {} as unknown as () => unknown],
    [
      'a revoked Proxy of a function',
      (() => {
        const { proxy, revoke } = Proxy.revocable(() => 1, {});
        revoke();
        return proxy;
      })(),
    ],
    [
      'a fn returning a thenable whose then getter throws',
      () => ({
        get then() {
          throw new Error('then getter');
        },
      }),
    ],
    [
      'a fn returning a thenable whose then throws',
      () => ({
        then() {
          throw new Error('then throws');
        },
      }),
    ],
  ];

  it.each(ODD_FNS)('%s: a failure result, never a throw or a rejection', async (_label, fn) => {
    let result: unknown;
    expect(() => {
      result = reg.execute('odd', fn);
    }).not.toThrow();
    const outcome = track(result as ReturnType<typeof reg.execute>);
    await settle();
    expect(outcome.settled).toBe(true);
    expect(outcome.result).toMatchObject({ success: false, rejected: false, fromCache: false });
    expect(outcome.result!.error).toBeInstanceOf(Error);
    expect(reg.getStats('odd')).toMatchObject({ failedRequests: 1, totalRequests: 1, successfulRequests: 0 });
  });

  it('a thenable that calls both resolve and reject, or resolve twice: the first call wins, counted once', async () => {
    const thenable = {
      then(resolve: (v: string) => void, reject: (e: Error) => void) {
        resolve('first');
        reject(new Error('second'));
        resolve('third');
      },
    };
    const both = await reg.execute('odd', () => thenable as unknown as PromiseLike<string>);
    expect(both).toMatchObject({ success: true, data: 'first' });
    expect(reg.getStats('odd')).toMatchObject({ successfulRequests: 1, failedRequests: 0, totalRequests: 1 });
  });

  it('options inherited from a prototype are read and checked like own ones', async () => {
    const before = snapshot(reg);
    const inherited = Object.create({ cacheKey: 5 }) as object;
    await expectTypeErrorRejection(call(reg, 'execute', 'svc', ok(), inherited), 'execute: options.cacheKey must be a string, got 5');
    expect(snapshot(reg)).toEqual(before);
  });

  // The next tests describe what CONTRACT.md asks ("It never rejects for the outcome of fn";
  // "error is always an Error; a thrown non-Error is wrapped") for a value the library
  // cannot inspect. They failed before toError() (src/core/errors.ts) inspected the value
  // inside a try: the throw escaped. See docs/reliability.md, "Bugs found, and fixed".
  describe('a thrown or rejected value that throws when inspected', () => {
    it('thrown synchronously: execute does not throw, the call is a failure', async () => {
      let result: unknown;
      expect(() => {
        result = reg.execute('hostile', () => {
          throw uninspectable();
        });
      }).not.toThrow();
      const outcome = observe(result as ReturnType<typeof reg.execute>);
      await settle();
      expect(outcome.rejection).toBeUndefined();
      expect(outcome.result).toMatchObject({ success: false, rejected: false });
      expect(reg.getStats('hostile')).toMatchObject({ failedRequests: 1, totalRequests: 1 });
    });

    it('a Proxy whose getPrototypeOf trap throws: the error is a real Error with the proxy as cause, not the proxy', async () => {
      const proxy = new Proxy(
        {},
        {
          getPrototypeOf() {
            throw new Error('do not look');
          },
        },
      );
      const r = await reg.execute('hostile', () => {
        throw proxy;
      });
      expect(r.error).not.toBe(proxy);
      expect(Object.getPrototypeOf(r.error)).toBe(Error.prototype);
      expect(r.error!.message).toBe('Non-Error thrown: [object Object]');
      expect(r.error!.cause).toBe(proxy);
      expect(reg.getStats('hostile')).toMatchObject({ failedRequests: 1, totalRequests: 1 });
    });

    it('as a rejection while a timeout is armed: the call still gets its result, and no rejection goes unhandled', async () => {
      const outcome = observe(reg.execute('hostile', () => Promise.reject(uninspectable())));
      await settle();
      expect(outcome.settled, 'the call got its result').toBe(true);
      expect(outcome.rejection).toBeUndefined();
      expect(outcome.result).toMatchObject({ success: false, rejected: false });
      // The stats add up: a call that ran is a counted call.
      const stats = reg.getStats('hostile')!;
      expect(stats).toMatchObject({ failedRequests: 1, totalRequests: 1 });
    });

    it('as the rejection of a half-open probe: the probe fails and the circuit reopens, it does not stay stuck', async () => {
      reg.configure('hostile', { failureThreshold: 1, resetTimeout: 100, successThreshold: 1, requestTimeout: Infinity });
      await reg.execute('hostile', boom);
      await vi.advanceTimersByTimeAsync(100);
      expect(reg.getState('hostile')).toBe(CircuitState.HALF_OPEN);
      const probe = observe(reg.execute('hostile', () => Promise.reject(uninspectable())));
      await settle();
      expect(probe.rejection, 'execute rejected').toBeUndefined();
      expect(probe.settled).toBe(true);
      expect(reg.getState('hostile')).toBe(CircuitState.OPEN);
      await vi.advanceTimersByTimeAsync(100);
      expect((await reg.execute('hostile', ok('back'))).data).toBe('back');
      expect(reg.getState('hostile')).toBe(CircuitState.CLOSED);
    });
  });
});

describe('odd functions and listeners', () => {
  it('a function made by new Function(): called without a signal when its parameter list is empty, with one otherwise', async () => {
    // Its source is "function anonymous(\n) {...}": white space inside the parentheses.
    const noParams = new Function('return arguments.length') as () => number;
    const withParam = new Function('signal', 'return signal instanceof AbortSignal') as (signal: AbortSignal) => boolean;
    expect(await reg.execute('fresh', noParams)).toMatchObject({ success: true, data: 0 });
    expect(await reg.execute('fresh', withParam)).toMatchObject({ success: true, data: true });
  });

  it('a listener that throws an Error without a stack: the warning carries its message', async () => {
    const error = new Error('listener broke');
    error.stack = undefined;
    reg.on('request:success', () => {
      throw error;
    });
    expect(await reg.execute('svc', ok('still fine'))).toMatchObject({ success: true, data: 'still fine' });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toContain('listener broke');
  });

  it('a listener that throws where process.emitWarning is missing: reported with console.error, nothing else changes', async () => {
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => {});
    const emitWarning = process.emitWarning;
    (process as { emitWarning?: unknown }).emitWarning = undefined;
    try {
      reg.on('request:failure', () => {
        throw new Error('listener broke');
      });
      const result = await reg.execute('svc', boom); // the second failure: opens the circuit
      expect(result).toMatchObject({ success: false, rejected: false });
      expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    } finally {
      process.emitWarning = emitWarning;
    }
    expect(consoleError).toHaveBeenCalledTimes(1);
    expect(String(consoleError.mock.calls[0]![0])).toContain('listener broke');
  });
});

describe('execute: options with getters', () => {
  it('a getter that throws at once: execute rejects with what it threw, calls nothing and creates nothing', async () => {
    const before = snapshot(reg);
    const thrownByGetter = new Error('getter');
    const fn = vi.fn(ok());
    let result: unknown;
    expect(() => {
      result = call(reg, 'execute', 'fresh', fn, {
        get cacheKey(): string {
          throw thrownByGetter;
        },
      });
    }).not.toThrow();
    await expect(result as Promise<unknown>).rejects.toBe(thrownByGetter);
    expect(fn).not.toHaveBeenCalled();
    expect(snapshot(reg)).toEqual(before);
  });
});

describe('execute: options are read once', () => {
  // src/core/registry.ts validates options, then reads options.cacheKey and options.signal a
  // second time, outside its try: a getter can throw out of execute() (after a breaker was
  // created), or hand over a value that was never checked. Kept as the contract says.
  it('a getter that throws on a second read: execute neither throws nor creates anything twice', async () => {
    let reads = 0;
    const options = {
      get cacheKey() {
        if (reads++ > 0) throw new Error('read twice');
        return 'k';
      },
    };
    let result: unknown;
    expect(() => {
      result = reg.execute('getter', ok('fine'), options);
    }).not.toThrow();
    expect(await (result as ReturnType<typeof reg.execute>)).toMatchObject({ success: true, data: 'fine' });
    expect(reads).toBe(1);
  });

  it('the cacheKey that was checked is the cacheKey used', async () => {
    let reads = 0;
    const options = {
      get cacheKey() {
        return reads++ === 0 ? 'k' : (42 as unknown as string);
      },
    };
    reg.configure('getter', { failureThreshold: 1 });
    await reg.execute('getter', ok('cached under k'), options);
    reg.openCircuit('getter');
    const answer = await reg.execute('getter', ok('not called'), { cacheKey: 'k' });
    expect(answer).toMatchObject({ success: true, fromCache: true, data: 'cached under k' });
  });
});

describe('no bad call, in any state, changes anything', () => {
  /** Every kind of bad call there is, none of which may change a breaker, a counter or a listener. */
  async function everyBadCall(target: CircuitBreakerRegistry): Promise<void> {
    const loose = target as unknown as Record<string, AnyFn>;
    const rejections = [
      loose.execute!('', ok()),
      loose.execute!('svc', null),
      loose.execute!('svc', ok(), { retries: 1 }),
      loose.execute!('svc', ok(), { signal: 'x' }),
      loose.execute!('svc', ok(), { cacheKey: 1 }),
      loose.execute!('svc', ok(), 'options'),
    ];
    for (const p of rejections) await expect(p as Promise<unknown>).rejects.toBeInstanceOf(TypeError);
    const throwing: Array<() => unknown> = [
      () => loose.configure!('svc', { failureThreshold: 0 }),
      () => loose.configure!('svc', { successThreshold: 9, resetTimeout: -1 }),
      () => loose.configure!(null, {}),
      () => loose.openCircuit!(''),
      () => loose.closeCircuit!(7),
      () => loose.reset!({}),
      () => loose.getState!(undefined),
      () => loose.getStats!(false),
      () => loose.on!('circuit:open', () => {}),
      () => loose.on!('circuit:opened', 'listener'),
      () => loose.off!('nope', () => {}),
      () => loose.formatStats!({ state: 'CLOSED' }),
      () => createRegistry({ defaults: { failureWindow: 0 } }),
      () => createRegistry({ clock: {} } as never),
    ];
    for (const attempt of throwing) expect(attempt).toThrow();
  }

  it.each([
    ['CLOSED with a failure in the window', async () => {}],
    ['OPEN on its timer', async () => reg.execute('svc', boom)],
    ['held OPEN by hand', async () => reg.openCircuit('svc')],
    [
      'HALF_OPEN with a probe in flight',
      async () => {
        reg.configure('svc', { successThreshold: 2 });
        await reg.execute('svc', boom);
        await vi.advanceTimersByTimeAsync(1_000);
        void reg.execute('svc', () => new Promise(() => {}));
      },
    ],
  ])('%s: stats, state, executors and listeners are untouched', async (_label, arrange) => {
    await arrange();
    await settle(); // the arming turn of calls already made
    const events: string[] = [];
    for (const event of ALL_EVENTS) reg.on(event, () => events.push(event));
    const before = snapshot(reg);
    const timers = vi.getTimerCount();
    await everyBadCall(reg);
    await settle();
    expect(snapshot(reg)).toEqual(before);
    expect(events).toEqual([]);
    expect(vi.getTimerCount()).toBe(timers);
    // The listeners added before are still there, exactly once each.
    await reg.execute('other', ok());
    expect(events).toEqual(['request:success']);
  });

  it('a programmer error in HALF_OPEN takes no probe slot and is not a rejection', async () => {
    reg.configure('svc', { successThreshold: 1 });
    await reg.execute('svc', boom); // second failure: OPEN
    await vi.advanceTimersByTimeAsync(1_000);
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);
    for (let i = 0; i < 5; i++) {
      await expect(call(reg, 'execute', 'svc', null) as Promise<unknown>).rejects.toBeInstanceOf(TypeError);
    }
    const probe = await reg.execute('svc', ok('probe'));
    expect(probe).toMatchObject({ success: true, rejected: false, circuitState: CircuitState.HALF_OPEN });
    expect(reg.getState('svc')).toBe(CircuitState.CLOSED);
    expect(reg.getStats('svc')!.rejectedRequests).toBe(0);
  });

  it('a refused configure while HALF_OPEN leaves the probe limit as it was', async () => {
    reg.configure('svc', { successThreshold: 1 });
    await reg.execute('svc', boom);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(() => reg.configure('svc', { successThreshold: 3, failureWindow: -1 })).toThrow(RangeError);
    void reg.execute('svc', () => new Promise(() => {})); // takes the only slot
    const second = await reg.execute('svc', ok());
    expect(second).toMatchObject({ rejected: true, circuitState: CircuitState.HALF_OPEN });
  });
});
