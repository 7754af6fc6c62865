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
import { ALL_EVENTS, boom, fakeTimeRegistry, ok, tearDownFakeTimeRegistry } from './helpers.js';

// ---------------------------------------------------------------------------
// Helpers (the shared ones are in helpers.ts)
// ---------------------------------------------------------------------------

type AnyFn = (...args: unknown[]) => unknown;
/** Calls a registry method with arguments TypeScript would refuse. */
const call = (target: object, method: string, ...args: unknown[]): unknown =>
  (target as Record<string, AnyFn>)[method]!(...args);

/** Runs `fn` and returns what it threw (fails the test if it did not throw). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw, but it returned');
}

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

describe('execute: options', () => {
  /** [label, options, expected message] */
  const BAD_OPTIONS: Array<[string, unknown, string]> = [
    ['null', null, 'execute: options must be an object, got null'],
    ['a string', 'fast', 'execute: options must be an object, got "fast"'],
    ['an array', [], 'execute: options must be an object, got an array'],
    ['a number', 5, 'execute: options must be an object, got 5'],
    ['an unknown key', { timeout: 5 }, 'execute: unknown option "timeout" (options: signal, cacheKey)'],
    ['a misspelt key', { cachekey: 'a' }, 'execute: unknown option "cachekey" (options: signal, cacheKey)'],
    ['an unknown key beside good ones', { cacheKey: 'a', retries: 3 }, 'execute: unknown option "retries" (options: signal, cacheKey)'],
    ['signal as a string', { signal: 'abort' }, 'execute: options.signal must be an AbortSignal, got "abort"'],
    ['signal as a plain object', { signal: {} }, 'execute: options.signal must be an AbortSignal, got [object Object]'],
    ['signal null', { signal: null }, 'execute: options.signal must be an AbortSignal, got null'],
    ['signal as an AbortController', { signal: new AbortController() }, 'execute: options.signal must be an AbortSignal, got [object AbortController]'],
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
  // positive integers
  ...(['failureThreshold', 'successThreshold', 'fallbackMaxEntries'] as const).flatMap((key) =>
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

  it('the module configure throws the same and creates nothing', () => {
    const error = thrown(() => circuitBreaker.configure('svc', { failureThreshold: 0 }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe('configure("svc"): failureThreshold must be a positive integer, got 0');
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
