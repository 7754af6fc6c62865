/**
 * Helpers shared by the test suites. Only what several suites use in exactly the same
 * form lives here; a suite that needs a variant (another error, a synchronous throw,
 * concurrent calls, a function that takes the signal) keeps its own next to its tests.
 *
 * Note for new helpers that hand a function to execute(): the library looks at the
 * function's declared parameters (`fn.length`) to decide whether to create an AbortSignal
 * for it, so `() => ...` and `(signal) => ...` are not interchangeable.
 */
import { vi } from 'vitest';
import * as circuitBreaker from '../src/index.js';
import {
  CircuitState,
  createRegistry,
  type CircuitBreakerConfig,
  type CircuitBreakerEventName,
  type CircuitBreakerRegistry,
  type CircuitBreakerStats,
  type ExecutionResult,
  type RegistryOptions,
} from '../src/index.js';

// ---------------------------------------------------------------------------
// Functions to execute
// ---------------------------------------------------------------------------

/** Fails: returns a promise rejected with `Error('boom')`. Takes no signal. */
export const boom = () => Promise.reject(new Error('boom'));

/** Makes a function that succeeds synchronously with `value` (default 'ok'). Takes no signal. */
export const ok = (value: unknown = 'ok') => () => value;

/** Never settles, so the call can only end by timing out or being aborted. Takes no signal. */
export const hang = () => new Promise<never>(() => {});

// ---------------------------------------------------------------------------
// Promises under the test's control
// ---------------------------------------------------------------------------

/** A promise together with the functions that settle it. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/** A promise the test settles when it chooses, e.g. to play a slow call. */
export function deferred<T = string>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Tracks whether a pending execute() has settled yet, and with what, without awaiting it. */
export function track<T>(promise: Promise<ExecutionResult<T>>) {
  const state: { settled: boolean; result: ExecutionResult<T> | undefined } = { settled: false, result: undefined };
  void promise.then((result) => {
    state.settled = true;
    state.result = result;
  });
  return state;
}

// ---------------------------------------------------------------------------
// Calls
// ---------------------------------------------------------------------------

/** Runs `n` failing calls ({@link boom}) on `name`, one after the other. */
export async function failTimes(reg: CircuitBreakerRegistry, name: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await reg.execute(name, boom);
}

// ---------------------------------------------------------------------------
// Events and statistics
// ---------------------------------------------------------------------------

/**
 * Every event name, in the order the docs list them. The tests keep their own list rather
 * than import the one in src, so that a name dropped from src is caught.
 */
export const ALL_EVENTS: readonly CircuitBreakerEventName[] = [
  'circuit:opened',
  'circuit:closed',
  'circuit:half-open',
  'request:success',
  'request:failure',
  'request:rejected',
  'fallback:used',
  'request:retry',
];

/** Records the name of every event `reg` emits into `log` (a new array by default) and returns it. */
export function recordEvents(reg: CircuitBreakerRegistry, log: string[] = []): string[] {
  for (const event of ALL_EVENTS) reg.on(event, () => log.push(event));
  return log;
}

/** The statistics of a breaker that has seen nothing: CLOSED, every counter 0, every date null. */
export function zeroStats(executorName: string): CircuitBreakerStats {
  return {
    executorName,
    state: CircuitState.CLOSED,
    totalRequests: 0,
    successfulRequests: 0,
    failedRequests: 0,
    rejectedRequests: 0,
    ignoredFailures: 0,
    consecutiveFailures: 0,
    consecutiveSuccesses: 0,
    timesOpened: 0,
    timesClosed: 0,
    lastStateChange: null,
    lastFailureTime: null,
    lastSuccessTime: null,
    nextAttemptTime: null,
    avgResponseTime: 0,
    retries: 0,
  };
}

// ---------------------------------------------------------------------------
// Fake time and a registry per test
// ---------------------------------------------------------------------------

/** The fake clock's start in the suites that check absolute times. */
export const T0 = new Date('2030-01-01T00:00:00.000Z').getTime();

/** The executor most tests use. */
export const NAME = 'svc';

// Small settings, so that every timing in a test is easy to follow.
export const FAILURE_THRESHOLD = 3;
export const REQUEST_TIMEOUT = 1_000;
export const RESET_TIMEOUT = 5_000;

/** Registry defaults made of the small settings above. */
export const SMALL_DEFAULTS: Readonly<Partial<CircuitBreakerConfig>> = {
  failureThreshold: FAILURE_THRESHOLD,
  requestTimeout: REQUEST_TIMEOUT,
  resetTimeout: RESET_TIMEOUT,
};

/** Options of {@link fakeTimeRegistry}. */
export interface FakeTimeRegistryOptions {
  /** Where the fake clock starts (ms since the epoch); omitted: the real time now. */
  now?: number;
  /** Passed to createRegistry; omitted: a registry with the built-in defaults. */
  registry?: RegistryOptions;
}

/**
 * Per-test setup, for beforeEach: fakes the timers, then makes a fresh registry (whose
 * default clock is the faked Date.now). Pair it with {@link tearDownFakeTimeRegistry}.
 */
export function fakeTimeRegistry({ now, registry }: FakeTimeRegistryOptions = {}): CircuitBreakerRegistry {
  if (now === undefined) vi.useFakeTimers();
  else vi.useFakeTimers({ now });
  return registry === undefined ? createRegistry() : createRegistry(registry);
}

/** Options of {@link tearDownFakeTimeRegistry}. */
export interface TearDownOptions {
  /** Also destroy the module's default registry, for suites that call `circuitBreaker.*`. */
  destroyDefault?: boolean;
  /** Also `vi.restoreAllMocks()`, last, for suites that spy. */
  restoreMocks?: boolean;
}

/**
 * Per-test teardown, for afterEach, matching {@link fakeTimeRegistry}: destroys `reg` (and
 * the default registry if asked), goes back to real timers, then restores mocks if asked.
 */
export function tearDownFakeTimeRegistry(
  reg: CircuitBreakerRegistry,
  { destroyDefault = false, restoreMocks = false }: TearDownOptions = {},
): void {
  reg.destroy();
  if (destroyDefault) circuitBreaker.destroy();
  vi.useRealTimers();
  if (restoreMocks) vi.restoreAllMocks();
}

/** Runs `promise` to the end on fake timers, moving time as far as it takes. */
export async function settle<T>(promise: Promise<T>): Promise<T> {
  let settled = false;
  const done = () => {
    settled = true;
  };
  promise.then(done, done);
  for (let i = 0; i < 1_000; i++) {
    await vi.advanceTimersByTimeAsync(0);
    if (settled) break;
    await vi.advanceTimersToNextTimerAsync();
  }
  if (!settled) throw new Error('the call never settled');
  // A rejection is the test's to see, not "never settled".
  return promise;
}

/** A fn whose calls the test settles, one deferred per call, in call order. */
export function controlled() {
  const calls: { label: string; d: Deferred<string> }[] = [];
  const make = (label: string) => () => {
    const d = deferred<string>();
    calls.push({ label, d });
    return d.promise;
  };
  return { calls, make, started: () => calls.map((c) => c.label) };
}

/** Runs `fn` and returns what it threw (fails the test if it did not throw). */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw, but it returned');
}
