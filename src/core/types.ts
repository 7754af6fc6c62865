import type { Fallback, RetryOptions } from '../policies/types.js';

/**
 * The state of one executor's circuit.
 *
 * - `CLOSED`: calls pass through; failures are counted in a sliding window.
 * - `OPEN`: calls are rejected without running; after `resetTimeout` the circuit
 *   moves to `HALF_OPEN` by itself (unless it was opened by hand).
 * - `HALF_OPEN`: up to `successThreshold` probe calls run at once to test recovery.
 */
export enum CircuitState {
  /** Calls pass through; failures are counted. */
  CLOSED = 'CLOSED',
  /** Calls are rejected without running. */
  OPEN = 'OPEN',
  /** Up to `successThreshold` probe calls test whether the service has recovered. */
  HALF_OPEN = 'HALF_OPEN',
}

/**
 * Settings of one executor's circuit breaker. Every duration is in milliseconds.
 *
 * | key | default |
 * |---|---|
 * | `failureThreshold` | 5 |
 * | `failureWindow` | 60000 |
 * | `resetTimeout` | 30000 |
 * | `successThreshold` | 2 |
 * | `requestTimeout` | 10000 (`Infinity` turns it off) |
 * | `cacheFallback` | true |
 * | `fallbackMaxAge` | 300000 |
 * | `fallbackMaxEntries` | 100 |
 * | `maxConcurrent` | Infinity (no bulkhead) |
 * | `maxQueue` | 0 |
 * | `retryBudget` | 0.2 |
 * | `fallback` | none |
 * | `retry` | none |
 * | `isFailure` | none: every error counts |
 * | `isResultFailure` | none: every value is a success |
 * | `failureRateThreshold` | none: the rate rule is off |
 * | `minimumRequests` | 10 |
 * | `slowCallDuration` | `Infinity` (off) |
 * | `slowCallRateThreshold` | 1 |
 * | `resetTimeoutMultiplier` | 1 |
 * | `maxResetTimeout` | 600000 |
 * | `resetTimeoutJitter` | 0 |
 * | `retryAfter` | none |
 */
export interface CircuitBreakerConfig {
  /** Failures within `failureWindow` that open the circuit. A positive integer. */
  failureThreshold: number;
  /** How long a failure keeps counting towards `failureThreshold`, in ms. */
  failureWindow: number;
  /** How long the circuit stays OPEN before it lets probes through, in ms. */
  resetTimeout: number;
  /** Probe successes in HALF_OPEN that close the circuit; also the most probes in flight at once. */
  successThreshold: number;
  /** How long one call may run before it fails with a `TimeoutError`, in ms; `Infinity` for no limit. */
  requestTimeout: number;
  /** Whether successful results are kept to answer calls rejected while the circuit is open. */
  cacheFallback: boolean;
  /** How old a kept result may be and still answer a rejected call, in ms. */
  fallbackMaxAge: number;
  /** How many results (one per `cacheKey`) each executor keeps at most. */
  fallbackMaxEntries: number;
  /**
   * The bulkhead: how many calls of the executor run at once (a positive integer, or
   * `Infinity` for no limit). A call that finds every slot taken waits in line if there is
   * room (`maxQueue`), else it is rejected with a `BulkheadRejectedError`.
   */
  maxConcurrent: number;
  /** How many calls may wait for a slot when `maxConcurrent` are running (0, the default: none). */
  maxQueue: number;
  /**
   * Retries allowed over `failureWindow`, as a share of first tries (at least 3 are always
   * allowed); `Infinity` for no budget.
   */
  retryBudget: number;
  /** Answers every call of the executor that would fail (see {@link ExecuteOptions.fallback}). */
  fallback?: Fallback | undefined;
  /** Retries every call of the executor (see {@link ExecuteOptions.retry}). */
  retry?: number | RetryOptions | false | undefined;
  /**
   * Asked for every error `fn` throws or rejects with (as thrown; never for the breaker's
   * own timeouts, which always count). `false` means the service answered and the request
   * was at fault (a 404, a validation error): the caller still gets `success: false`, but
   * the circuit treats it as a healthy answer. A predicate that throws counts the error.
   */
  isFailure?: ((error: unknown) => boolean) | undefined;
  /**
   * Asked for every value `fn` produces. `true` makes the call a failure whose error is a
   * `ResultFailureError` carrying the value; it counts as any failure and is never cached.
   * A predicate that throws leaves the value a success.
   */
  isResultFailure?: ((value: unknown) => boolean) | undefined;
  /**
   * Opens the circuit when, over the last `failureWindow`, at least `minimumRequests` calls
   * have completed and failures / completed reaches this share, in (0, 1]. Off when unset.
   */
  failureRateThreshold?: number | undefined;
  /** Calls the rate rules need to have seen within `failureWindow` before they judge. A positive integer. */
  minimumRequests: number;
  /**
   * A call running this long (ms) is slow, from that moment on even while it still runs;
   * `Infinity` turns the slow-call rule off.
   */
  slowCallDuration: number;
  /** Share of slow calls, in (0, 1], over `failureWindow` (at least `minimumRequests` seen) that opens the circuit. */
  slowCallRateThreshold: number;
  /** Each reopening from HALF_OPEN multiplies the open period by this (>= 1); closing resets it. */
  resetTimeoutMultiplier: number;
  /** The longest an open period grows to, in ms (the cap is never below `resetTimeout`). */
  maxResetTimeout: number;
  /** Each open period is shortened by a random share up to this, in [0, 1), so a fleet does not probe in lockstep. */
  resetTimeoutJitter: number;
  /**
   * For a counted failure, the service's own request to pause (an HTTP `Retry-After`, Slack's
   * `retryAfter`): ms from now, or a Date. An answer opens the circuit at once until then,
   * capped at `max(maxResetTimeout, resetTimeout)`. `undefined`, a time not in the future,
   * or a throw: no request.
   */
  retryAfter?: ((error: unknown) => number | Date | undefined) | undefined;
}

/** Options of one {@link execute} call. */
export interface ExecuteOptions {
  /** The caller's own signal: when it aborts, the call is abandoned and `fn`'s signal aborts too. */
  signal?: AbortSignal;
  /** The fallback cache entry this call reads and writes (default: one entry per executor). */
  cacheKey?: string;
  /**
   * Retries of this call, in place of the executor's `retry`: a number of attempts (the
   * first included), {@link RetryOptions}, or false for none. Each try is a full call
   * through the breaker; a rejection or the caller's abort ends the retries at once.
   */
  retry?: number | RetryOptions | false;
  /**
   * Answers this call, in place of the executor's `fallback`, when it would end with
   * `success: false` (a failure, a timeout, or a rejection the cache could not answer).
   * Not asked once the caller's signal has aborted.
   */
  fallback?: Fallback;
  /** This call's own timeout in ms, in place of the executor's `requestTimeout`; `Infinity` for none. */
  timeout?: number;
}

interface ExecutionResultBase {
  /** Whether the value came from the fallback cache (only ever true on a rejected call). */
  fromCache: boolean;
  /** Whether the circuit refused to run `fn` (OPEN, or HALF_OPEN with every probe slot taken). */
  rejected: boolean;
  /** The state the call was admitted (or rejected) in. */
  circuitState: CircuitState;
  /** How long the call ran, in ms (0 for a rejected call). */
  executionTime: number;
  /** Whether `data` came from a `fallback` function (false everywhere else). */
  fromFallback: boolean;
  /** Tries made through the breaker: 1 without retry. */
  attempts: number;
}

/** A call that produced a value: `fn`'s own, or a cached one when the circuit rejected the call. */
export interface ExecutionSuccess<T> extends ExecutionResultBase {
  /** Always true here. */
  success: true;
  /** What `fn` returned (or the cached value when `fromCache` is true). */
  data: T;
  /** Never set on a success. */
  error?: undefined;
}

/** A call that failed, timed out, or was rejected with no cached value to fall back on. */
export interface ExecutionFailure extends ExecutionResultBase {
  /** Always false here. */
  success: false;
  /** Never set on a failure. */
  data?: undefined;
  /**
   * Why: what `fn` threw (a non-`Error` is wrapped, the original kept as `cause`), a
   * `TimeoutError`, a `CircuitOpenError`, or the caller's abort reason.
   */
  error: Error;
  fromCache: false;
  fromFallback: false;
}

/**
 * What {@link execute} resolves to. `success` tells the two shapes apart, so after
 * `if (result.success)` TypeScript knows `data` is there, and otherwise `error` is.
 */
export type ExecutionResult<T> = ExecutionSuccess<T> | ExecutionFailure;

/** A snapshot of one executor's circuit and counters. Every call returns a fresh copy. */
export interface CircuitBreakerStats {
  /** The executor these statistics belong to. */
  executorName: string;
  /** The circuit's state when the snapshot was taken. */
  state: CircuitState;
  /** Always `successfulRequests + failedRequests + rejectedRequests`. */
  totalRequests: number;
  /** Calls whose `fn` produced a value. */
  successfulRequests: number;
  /** Calls whose `fn` threw, rejected or timed out (or that the caller aborted). */
  failedRequests: number;
  /** Calls the circuit refused to run, including those answered from the cache. */
  rejectedRequests: number;
  /** Failed calls that `isFailure` said not to count against the circuit (also in `failedRequests`). */
  ignoredFailures: number;
  /** Failures since the last success. */
  consecutiveFailures: number;
  /** Successes since the last failure. */
  consecutiveSuccesses: number;
  /** Transitions into OPEN. */
  timesOpened: number;
  /** Transitions into CLOSED. */
  timesClosed: number;
  /** When the circuit last changed state; null if it never has. */
  lastStateChange: Date | null;
  /** When the last failure was recorded; null if none was. */
  lastFailureTime: Date | null;
  /** When the last success was recorded; null if none was. */
  lastSuccessTime: Date | null;
  /** When the circuit will let probes through; null unless OPEN on its own timer. */
  nextAttemptTime: Date | null;
  /** Mean `executionTime` of the calls that ran (rejected calls excluded), in ms. */
  avgResponseTime: number;
  /** Retries made (each also counted as a request). */
  retries: number;
}

/** Every event and its listener's signature. */
export interface CircuitBreakerEvents {
  /** The circuit went OPEN (on failures, or by `openCircuit`); `stats` already show it. */
  'circuit:opened': (executorName: string, stats: CircuitBreakerStats) => void;
  /** The circuit went CLOSED (probes succeeded, `closeCircuit`, or `reset` of an open circuit). */
  'circuit:closed': (executorName: string, stats: CircuitBreakerStats) => void;
  /** The circuit went HALF_OPEN: `resetTimeout` elapsed and probes may run. */
  'circuit:half-open': (executorName: string, stats: CircuitBreakerStats) => void;
  /** A call succeeded after `executionTime` ms. */
  'request:success': (executorName: string, executionTime: number) => void;
  /** A call failed; a timeout's `error.name` is `'TimeoutError'`. */
  'request:failure': (executorName: string, error: Error) => void;
  /** The circuit refused a call (OPEN, or HALF_OPEN with every probe slot taken). */
  'request:rejected': (executorName: string) => void;
  /** A refused call was answered from the fallback cache (after its `request:rejected`). */
  'fallback:used': (executorName: string) => void;
  /**
   * A try failed and try number `attempt` (2 for the first retry) starts after `delayMs`;
   * `error` is why the last try failed.
   */
  'request:retry': (executorName: string, attempt: number, error: Error, delayMs: number) => void;
}

/** The name of an event in {@link CircuitBreakerEvents}. */
export type CircuitBreakerEventName = keyof CircuitBreakerEvents;

/**
 * A gate on half-open probes, for coordinating breakers beyond one process (see
 * `setProbeGate`): a HALF_OPEN circuit asks it before admitting each probe, after its own
 * slot check, and hands every granted probe back when that call settles.
 */
export interface ProbeGate {
  /** Whether one more probe may run now; false rejects the call as a full half-open would. */
  tryAcquire(): boolean;
  /** Called exactly once for every granted probe, when its call settles (whatever the outcome). */
  release(): void;
}

/** Where a registry reads the time from, in ms since the epoch. */
export interface Clock {
  /** The current time, in ms since the epoch. */
  now(): number;
}

/** Options of {@link createRegistry}. */
export interface RegistryOptions {
  /** Configuration every breaker of the registry starts from (merged over the built-in defaults). */
  defaults?: Partial<CircuitBreakerConfig>;
  /** The clock (default `Date.now`, so fake timers drive it). */
  clock?: Clock;
}
