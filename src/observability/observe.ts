/**
 * What the metrics integrations share: which breakers they watch, and the translation of
 * the public events into per-call outcomes. Internal: not an entry point of its own (each
 * integration entry carries its own copy; it holds no state at module level).
 */
import * as core from '../index.js';
import type { CircuitBreakerRegistry, CircuitBreakerStats } from '../index.js';

/**
 * The breakers an integration reads: a registry from `createRegistry()`, or the package's
 * module namespace (`import * as circuitBreaker from 'executor-circuit-breaker'`), which is
 * the default. Any object with these three methods will do.
 */
export type BreakerSource = Pick<CircuitBreakerRegistry, 'on' | 'off' | 'getAllStats'>;

/** The breakers the health check reads; see {@link BreakerSource}. */
export type StatsSource = Pick<CircuitBreakerRegistry, 'getAllStats'>;

/**
 * How a call to `execute` ended. The five are disjoint, so over one executor they add up
 * to its `totalRequests`:
 *
 * - `success`: `fn` ran and produced a value;
 * - `failure`: `fn` ran and threw or rejected (or the caller aborted it);
 * - `timeout`: `fn` ran longer than `requestTimeout` (or the caller aborted it with a
 *   `TimeoutError`, as `AbortSignal.timeout()` does);
 * - `rejected`: the circuit refused the call and had no cached value for it;
 * - `fallback`: the circuit refused the call and answered it from the fallback cache.
 *
 * `rejected + fallback` is the executor's `rejectedRequests`.
 */
export type Outcome = 'success' | 'failure' | 'timeout' | 'rejected' | 'fallback';

/** Every {@link Outcome}, in a fixed order. */
export const OUTCOMES: readonly Outcome[] = Object.freeze(['success', 'failure', 'timeout', 'rejected', 'fallback']);

/** The outcomes whose duration the events carry: `request:success` and a `TimeoutError`. */
export const TIMED_OUTCOMES: readonly ('success' | 'timeout')[] = Object.freeze(['success', 'timeout']);

/**
 * Default histogram buckets for call durations, in seconds: 5 ms to 10 s (the default
 * `requestTimeout`), the same as prom-client's defaults.
 */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** The seed's numeric encoding of a state: 0 = CLOSED, 1 = HALF_OPEN, 2 = OPEN. */
export const STATE_CODES: Readonly<Record<core.CircuitState, number>> = Object.freeze({
  [core.CircuitState.CLOSED]: 0,
  [core.CircuitState.HALF_OPEN]: 1,
  [core.CircuitState.OPEN]: 2,
});

/** Every state, for the one-series-per-state form. */
export const STATES: readonly core.CircuitState[] = Object.freeze([
  core.CircuitState.CLOSED,
  core.CircuitState.HALF_OPEN,
  core.CircuitState.OPEN,
]);

/** Where {@link observe} reports what happened. */
export interface Sink {
  request(executor: string, outcome: Outcome, count: number): void;
  duration(executor: string, outcome: 'success' | 'timeout', seconds: number): void;
  opened(executor: string): void;
}

/** A running {@link observe}. */
export interface Observation {
  /** Reports the rejections still waiting to learn whether a fallback answered them. */
  flush(): void;
  /** Flushes, then removes every listener it added. Call it once. */
  stop(): void;
}

/** What a value is, for error messages. */
function kind(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

/** Checks that `options` is an object (or undefined) with no key but `keys`. */
export function checkOptions<T extends object>(options: T | undefined, keys: readonly string[], where: string): T {
  if (options === undefined) return {} as T;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object, got ${kind(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!keys.includes(key)) {
      throw new TypeError(`${where}: unknown option ${JSON.stringify(key)} (options: ${keys.join(', ')})`);
    }
  }
  return options;
}

/**
 * The breakers to read: `source`, or when undefined the package's default registry (the
 * module functions). Throws a `TypeError` naming the caller when one of `methods` is missing.
 */
export function sourceOf<S extends StatsSource>(source: S | undefined, methods: readonly string[], where: string): S {
  if (source === undefined) return core as unknown as S;
  const missing =
    typeof source !== 'object' || source === null
      ? methods
      : methods.filter((m) => typeof (source as unknown as Record<string, unknown>)[m] !== 'function');
  if (missing.length > 0) {
    throw new TypeError(
      `${where}: breakers must be a circuit breaker registry ` +
        `(an object with ${methods.join(', ')}), got ${kind(source)}`,
    );
  }
  return source;
}

/** Checks a name prefix; `fallback` when undefined. */
export function prefixOf(prefix: string | undefined, fallback: string, where: string): string {
  if (prefix === undefined) return fallback;
  if (typeof prefix !== 'string') throw new TypeError(`${where}: prefix must be a string, got ${kind(prefix)}`);
  return prefix;
}

/** A copy of histogram bucket bounds (seconds), checked; the defaults when undefined. */
export function bucketsOf(buckets: readonly number[] | undefined, where: string): number[] {
  if (buckets === undefined) return [...DEFAULT_DURATION_BUCKETS];
  const valid = (b: unknown): boolean => typeof b === 'number' && b > 0 && b < Infinity;
  if (!Array.isArray(buckets) || buckets.length === 0 || !buckets.every(valid)) {
    throw new TypeError(`${where}: buckets must be a non-empty array of positive finite numbers (seconds)`);
  }
  return [...buckets];
}

/**
 * Listens to `source`'s events and reports each call's outcome to `sink`.
 *
 * A rejected call fires `request:rejected`, and then `fallback:used` when the cache answers
 * it; both fire synchronously inside `execute`. So a rejection is held until the end of the
 * current microtask (or the next {@link Observation.flush}) and then counted either as
 * `fallback` or as `rejected`, never as both.
 */
export function observe(source: BreakerSource, sink: Sink): Observation {
  const pending = new Map<string, number>();
  let scheduled = false;

  const flush = (): void => {
    scheduled = false;
    if (pending.size === 0) return;
    const rejected = [...pending];
    pending.clear();
    for (const [name, count] of rejected) sink.request(name, 'rejected', count);
  };

  const onSuccess = (name: string, executionTime: number): void => {
    sink.request(name, 'success', 1);
    sink.duration(name, 'success', executionTime / 1000);
  };
  const onFailure = (name: string, error: Error): void => {
    if (error.name !== 'TimeoutError') {
      sink.request(name, 'failure', 1);
      return;
    }
    sink.request(name, 'timeout', 1);
    // The package's TimeoutError carries its limit; a caller's own timeout (AbortSignal.timeout) does not.
    const limit = (error as Error & { timeout?: unknown }).timeout;
    if (typeof limit === 'number' && Number.isFinite(limit)) sink.duration(name, 'timeout', limit / 1000);
  };
  const onRejected = (name: string): void => {
    pending.set(name, (pending.get(name) ?? 0) + 1);
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(flush);
    }
  };
  const onFallback = (name: string): void => {
    const waiting = pending.get(name) ?? 0;
    if (waiting > 1) pending.set(name, waiting - 1);
    else pending.delete(name);
    sink.request(name, 'fallback', 1);
  };
  const onOpened = (name: string): void => sink.opened(name);

  source.on('request:success', onSuccess);
  source.on('request:failure', onFailure);
  source.on('request:rejected', onRejected);
  source.on('fallback:used', onFallback);
  source.on('circuit:opened', onOpened);

  return {
    flush,
    stop() {
      flush();
      source.off('request:success', onSuccess);
      source.off('request:failure', onFailure);
      source.off('request:rejected', onRejected);
      source.off('fallback:used', onFallback);
      source.off('circuit:opened', onOpened);
    },
  };
}

/**
 * `source.getAllStats()`, taken at most once per microtask: one scrape reads several
 * metrics, and each would otherwise snapshot every breaker again.
 */
export function statsReader(source: StatsSource): () => Map<string, CircuitBreakerStats> {
  let cached: Map<string, CircuitBreakerStats> | null = null;
  return () => {
    if (cached === null) {
      cached = source.getAllStats();
      queueMicrotask(() => {
        cached = null;
      });
    }
    return cached;
  };
}
