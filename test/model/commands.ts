/**
 * The commands the property tests play against the real registry and the reference
 * model, and the fast-check arbitraries that generate them. Commands are plain data, so a
 * failing sequence prints as readable JSON and shrinks like any array.
 *
 * Timing grid. Two things that fall on the same millisecond run in the order their fake
 * timers were created, which the contract does not (and need not) specify. So the
 * generators keep the instants of different kinds apart:
 *   - commands run at multiples of 10 ms (the clock starts at one, `advance` moves by them);
 *   - `requestTimeout` is 3 mod 10, so a call times out at 3 mod 10;
 *   - `resetTimeout` is 5 mod 10, so a circuit half-opens at 5 or 8 mod 10;
 *   - `slowCallDuration` is 7 mod 10, so a call becomes slow at 7 mod 10 (and a circuit
 *     opened then half-opens at 2 mod 10);
 *   - open periods stay 5 mod 10 as they grow (`resetTimeoutMultiplier` odd, `maxResetTimeout`
 *     5 mod 10) and so do the pauses `retryAfter` asks for (ms 5 mod 10, or Dates 5 mod 10).
 * Window and cache ages are compared with the clock, not timed, so their values include
 * exact multiples of the command grid to hit `now - t === span` boundaries.
 */
import fc from 'fast-check';

export const NAMES = ['a', 'b', 'c'] as const;

/** What `fn` does. */
export type FnKind =
  | 'value' // returns a plain value
  | 'throw' // throws an Error synchronously
  | 'throwNonError' // throws a string, number, null, ... synchronously
  | 'resolve' // returns an already resolved promise
  | 'reject' // returns an already rejected promise
  | 'thenable' // returns a non-promise thenable that fulfils
  | 'thenableReject' // returns a non-promise thenable that rejects
  | 'asyncThrow' // an async function that throws
  | 'pending' // returns a promise the test settles later (or never: it hangs and times out)
  | 'scheduled'; // returns a promise fc.scheduler releases in an order of its choosing

/** Non-Error values a fn may throw, reject with, or a caller may abort with. */
export const NON_ERRORS: readonly unknown[] = ['down', 42, null, undefined, { code: 'E' }, 0, false];

export type Command =
  | {
      t: 'call';
      ex: number;
      fn: FnKind;
      /** Whether fn names a parameter (and so gets an AbortSignal). */
      sig: boolean;
      /** Reuse one function object per executor and `sig` across calls, as apps do, instead of a new one. */
      stable: boolean;
      /** 0: no cacheKey; 1..3: cacheKey 'k1'..'k3'. */
      key: number;
      /** The caller's own signal: none, one the test may abort later, or already aborted. */
      abort: 'none' | 'signal' | 'pre';
      /** Picks a non-Error value, an abort reason, or a scheduled outcome; and the markers the policies read. */
      v: number;
      /** options.timeout: an index into CALL_TIMEOUTS. */
      to: number;
    }
  /** `n` pending calls at once, to fill (and overfill) the half-open probe slots. */
  | { t: 'burst'; ex: number; n: number; sig: boolean; key: number }
  /** Settles the `pick`-th pending fn not yet settled (it may already have timed out, been abandoned, or lost its breaker). */
  | { t: 'settle'; pick: number; how: 'resolve' | 'reject' | 'rejectNonError'; v: number }
  /** Aborts the caller signal of the `pick`-th call that has one not yet aborted. */
  | { t: 'abort'; pick: number; v: number }
  /** fc.scheduler releases one scheduled fn of its choosing. */
  | { t: 'release' }
  | { t: 'advance'; ms: number }
  /** One loop turn (advance 0): the deadline timers get armed; then timers are counted. */
  | { t: 'flush' }
  | { t: 'configure'; ex: number; partial: Record<string, unknown> }
  | { t: 'open'; ex: number }
  | { t: 'close'; ex: number }
  | { t: 'reset'; ex: number }
  | { t: 'resetAll' }
  | { t: 'destroy' }
  /** A programmer error: must reject / throw and change nothing. */
  | { t: 'bad'; ex: number; variant: number };

export const BAD_VARIANTS = 7;

/** options.timeout of a call: mostly none. */
export const CALL_TIMEOUTS = [undefined, undefined, undefined, 3, 53, Infinity] as const;

// ---------------------------------------------------------------------------- policies

type Marked = { ignore?: boolean; explode?: boolean; bad?: boolean; hint?: number | Date; name?: unknown; value?: unknown };
const marked = (x: unknown): Marked | null => (typeof x === 'object' && x !== null ? (x as Marked) : null);

/** Ignores errors marked `ignore`; throws for errors marked `explode`. */
export const IS_FAILURE = (error: unknown): boolean => {
  const m = marked(error);
  if (m?.explode) throw new Error('isFailure exploded');
  return m?.ignore !== true;
};

/** Values marked `bad` are failures; throws for values marked `explode`. */
export const IS_RESULT_FAILURE = (value: unknown): boolean => {
  const m = marked(value);
  if (m?.explode) throw new Error('isResultFailure exploded');
  return m?.bad === true;
};

/** The `hint` of an error, or of a bad value inside its ResultFailureError; throws for `explode`. */
export const RETRY_AFTER = (error: unknown): number | Date | undefined => {
  let m = marked(error);
  if (m?.name === 'ResultFailureError') m = marked(m.value);
  if (m?.explode) throw new Error('retryAfter exploded');
  return m?.hint;
};

/** Puts the markers `v` picks on an error or value the test makes. */
export function mark<T extends object>(target: T, v: number, now: number): T {
  const m = target as Marked;
  if (v % 5 === 1) m.ignore = true;
  if (v % 4 === 3) m.bad = true;
  if (v % 7 === 3) m.explode = true;
  if (v % 5 === 2) m.hint = HINTS[v % HINTS.length] ?? new Date(now + 505);
  return target;
}

/** Pauses in ms (one beyond every cap); undefined stands for a Date 505 ms after the call starts. */
const HINTS = [5, 25, 1_005, 100_000_005, undefined] as const;

const SLOW_DURATIONS = [7, 17, 57, 507] as const;
const MAX_RESET_TIMEOUTS = [5, 55, 505, 30_005, 600_005] as const;

/** The policy keys, each present or not. */
const policyArb = fc.record(
  {
    isFailure: fc.constant(IS_FAILURE),
    isResultFailure: fc.constant(IS_RESULT_FAILURE),
    retryAfter: fc.constant(RETRY_AFTER),
    failureRateThreshold: fc.constantFrom(0.25, 0.5, 1),
    minimumRequests: fc.integer({ min: 1, max: 5 }),
    slowCallDuration: fc.constantFrom(...SLOW_DURATIONS),
    slowCallRateThreshold: fc.constantFrom(0.34, 0.5, 1),
    resetTimeoutMultiplier: fc.constantFrom(1, 3),
  },
  { requiredKeys: [] },
);

// ---------------------------------------------------------------------------- values on the grid

export const FAILURE_WINDOWS = [10, 13, 20, 30, 50, 100, 103, 200, 1_000, 60_000] as const;
export const RESET_TIMEOUTS = [5, 15, 25, 55, 105, 505, 1_005, 30_005] as const;
export const REQUEST_TIMEOUTS = [3, 13, 23, 53, 103, 503, 10_003] as const;
export const MAX_AGES = [10, 20, 50, 100, 500, 1_000, 300_000] as const;

const requestTimeout = fc.oneof(
  { arbitrary: fc.constantFrom(...REQUEST_TIMEOUTS), weight: 9 },
  { arbitrary: fc.constant(Infinity), weight: 1 },
);

/** A whole configuration on the grid: the registry defaults of one run. */
export function defaultsArb(maxThreshold = 4) {
  const seed = fc.record({
    failureThreshold: fc.oneof(
      { arbitrary: fc.integer({ min: 1, max: maxThreshold }), weight: 5 },
      { arbitrary: fc.constant(Infinity), weight: 1 },
    ),
    failureWindow: fc.constantFrom(...FAILURE_WINDOWS),
    resetTimeout: fc.constantFrom(...RESET_TIMEOUTS),
    successThreshold: fc.integer({ min: 1, max: 3 }),
    requestTimeout,
    cacheFallback: fc.boolean(),
    fallbackMaxAge: fc.constantFrom(...MAX_AGES),
    fallbackMaxEntries: fc.integer({ min: 1, max: 3 }),
    maxResetTimeout: fc.constantFrom(...MAX_RESET_TIMEOUTS),
  });
  // A third of the runs keep to the seed's rules; the rest turn policies on at random.
  const policies = fc.oneof({ arbitrary: fc.constant({}), weight: 1 }, { arbitrary: policyArb, weight: 2 });
  return fc.tuple(seed, policies).map(([base, extra]) => ({ ...base, ...extra }));
}

/** A valid partial configuration on the grid. */
const partialArb = fc.record(
  {
    failureThreshold: fc.integer({ min: 1, max: 5 }),
    failureWindow: fc.constantFrom(...FAILURE_WINDOWS),
    resetTimeout: fc.constantFrom(...RESET_TIMEOUTS),
    successThreshold: fc.integer({ min: 1, max: 4 }),
    requestTimeout,
    cacheFallback: fc.boolean(),
    fallbackMaxAge: fc.constantFrom(...MAX_AGES),
    fallbackMaxEntries: fc.integer({ min: 1, max: 3 }),
    isFailure: fc.constantFrom(IS_FAILURE, undefined),
    isResultFailure: fc.constantFrom(IS_RESULT_FAILURE, undefined),
    retryAfter: fc.constantFrom(RETRY_AFTER, undefined),
    failureRateThreshold: fc.constantFrom(0.25, 0.5, 1, undefined),
    minimumRequests: fc.integer({ min: 1, max: 5 }),
    slowCallDuration: fc.constantFrom(...SLOW_DURATIONS, Infinity),
    slowCallRateThreshold: fc.constantFrom(0.34, 0.5, 1),
    resetTimeoutMultiplier: fc.constantFrom(1, 3),
    maxResetTimeout: fc.constantFrom(...MAX_RESET_TIMEOUTS),
  },
  { requiredKeys: [] },
);

/** A partial that must be refused as a whole: a bad value, possibly beside good ones. */
const badPartialArb = fc.oneof(
  fc.constant({ failureThreshold: 0 }),
  fc.constant({ successThreshold: 1.5 }),
  fc.constant({ failureWindow: NaN }),
  fc.constant({ resetTimeout: -5 }),
  fc.constant({ requestTimeout: 0 }),
  fc.constant({ fallbackMaxEntries: Infinity }),
  fc.constant({ cacheFallback: 'yes' }),
  fc.constant({ failureTreshold: 2 }),
  fc.constant({ failureThreshold: 1, resetTimeout: 5, requestTimeout: -3 }),
  fc.constant({ successThreshold: 1, fallbackMaxAge: 0 }),
  fc.constant({ failureRateThreshold: 0 }),
  fc.constant({ minimumRequests: 0, isFailure: IS_FAILURE }),
  fc.constant({ slowCallDuration: 0 }),
  fc.constant({ slowCallRateThreshold: 1.5 }),
  fc.constant({ resetTimeoutMultiplier: 0.5 }),
  fc.constant({ resetTimeoutJitter: 1 }),
  fc.constant({ isResultFailure: true }),
  fc.constant({ retryAfter: 5_000, failureThreshold: Infinity }),
);

// ---------------------------------------------------------------------------- commands

/** How often each kind of command is generated. */
export interface Mix {
  executors: number;
  call: number;
  burst: number;
  settle: number;
  abort: number;
  release: number;
  advance: number;
  flush: number;
  configure: number;
  manual: number;
  destroy: number;
  bad: number;
  /** Which fn kinds calls use. */
  fnKinds: readonly FnKind[];
}

export function commandArb(mix: Mix): fc.Arbitrary<Command> {
  const ex = fc.integer({ min: 0, max: mix.executors - 1 });
  const v = fc.nat({ max: 20 });
  const call = fc.record({
    t: fc.constant('call' as const),
    ex,
    fn: fc.constantFrom(...mix.fnKinds),
    sig: fc.boolean(),
    stable: fc.boolean(),
    key: fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: fc.integer({ min: 1, max: 3 }), weight: 1 }),
    abort: fc.oneof(
      { arbitrary: fc.constant('none' as const), weight: 8 },
      { arbitrary: fc.constant('signal' as const), weight: 2 },
      { arbitrary: fc.constant('pre' as const), weight: 1 },
    ),
    v,
    to: fc.nat({ max: CALL_TIMEOUTS.length - 1 }),
  });
  const burst = fc.record({
    t: fc.constant('burst' as const),
    ex,
    n: fc.integer({ min: 2, max: 8 }),
    sig: fc.boolean(),
    key: fc.integer({ min: 0, max: 3 }),
  });
  const settle = fc.record({
    t: fc.constant('settle' as const),
    pick: fc.nat({ max: 50 }),
    how: fc.constantFrom('resolve' as const, 'resolve' as const, 'resolve' as const, 'reject' as const, 'rejectNonError' as const),
    v,
  });
  const abort = fc.record({ t: fc.constant('abort' as const), pick: fc.nat({ max: 50 }), v });
  const advance = fc.record({
    t: fc.constant('advance' as const),
    ms: fc.oneof(
      { arbitrary: fc.integer({ min: 0, max: 12 }).map((n) => n * 10), weight: 6 },
      { arbitrary: fc.integer({ min: 0, max: 120 }).map((n) => n * 10), weight: 3 },
      // long idle gaps: a minute, an hour, a day, a month
      { arbitrary: fc.constantFrom(60_000, 3_600_000, 86_400_000, 2_592_000_000), weight: 1 },
    ),
  });
  const configure = fc.record({
    t: fc.constant('configure' as const),
    ex,
    partial: fc.oneof({ arbitrary: partialArb, weight: 4 }, { arbitrary: badPartialArb, weight: 1 }),
  });
  const manual = fc.oneof(
    fc.record({ t: fc.constant('open' as const), ex }),
    fc.record({ t: fc.constant('close' as const), ex }),
    fc.record({ t: fc.constant('reset' as const), ex }),
    fc.record({ t: fc.constant('resetAll' as const) }),
  );
  const arbs: Array<{ arbitrary: fc.Arbitrary<Command>; weight: number }> = [
    { arbitrary: call, weight: mix.call },
    { arbitrary: burst, weight: mix.burst },
    { arbitrary: settle, weight: mix.settle },
    { arbitrary: abort, weight: mix.abort },
    { arbitrary: fc.constant({ t: 'release' as const }), weight: mix.release },
    { arbitrary: advance, weight: mix.advance },
    { arbitrary: fc.constant({ t: 'flush' as const }), weight: mix.flush },
    { arbitrary: configure, weight: mix.configure },
    { arbitrary: manual, weight: mix.manual },
    { arbitrary: fc.constant({ t: 'destroy' as const }), weight: mix.destroy },
    {
      arbitrary: fc.record({ t: fc.constant('bad' as const), ex, variant: fc.nat({ max: BAD_VARIANTS - 1 }) }),
      weight: mix.bad,
    },
  ];
  return fc.oneof(...arbs.filter((a) => a.weight > 0));
}

// ---------------------------------------------------------------------------- the three mixes

/** Every fn kind but 'scheduled', successes and slow calls weighted up. */
const ALL_KINDS: readonly FnKind[] = [
  'value',
  'value',
  'value',
  'resolve',
  'thenable',
  'throw',
  'throwNonError',
  'reject',
  'thenableReject',
  'asyncThrow',
  'pending',
  'pending',
  'pending',
  'pending',
];

export const MIXES = {
  /** One executor, deep into its state machine. */
  single: {
    executors: 1,
    call: 12,
    burst: 2,
    settle: 7,
    abort: 1,
    release: 0,
    advance: 6,
    flush: 1,
    configure: 2,
    manual: 1,
    destroy: 0,
    bad: 1,
    fnKinds: ALL_KINDS,
  },
  /** Three executors, manual control, reset, resetAll and destroy in between. */
  several: {
    executors: 3,
    call: 12,
    burst: 2,
    settle: 6,
    abort: 1,
    release: 0,
    advance: 5,
    flush: 1,
    configure: 2,
    manual: 3,
    destroy: 1,
    bad: 1,
    fnKinds: ALL_KINDS,
  },
  /** Bursts of calls that fc.scheduler settles in the order it picks. */
  interleaved: {
    executors: 2,
    call: 5,
    burst: 4,
    settle: 0,
    abort: 1,
    release: 10,
    advance: 4,
    flush: 1,
    configure: 1,
    manual: 1,
    destroy: 0,
    bad: 0,
    fnKinds: ['scheduled', 'scheduled', 'scheduled', 'value', 'value', 'throw', 'resolve', 'reject'],
  },
} as const satisfies Record<string, Mix>;
