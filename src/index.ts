/**
 * In-process circuit breakers, one per executor name, for apps that call flaky external
 * services.
 *
 * ```ts
 * import * as circuitBreaker from 'executor-circuit-breaker';
 *
 * const result = await circuitBreaker.execute('notion', (signal) => fetch(url, { signal }));
 * if (result.success) use(result.data);
 * ```
 *
 * The functions below act on one default registry, made on first use. For isolated
 * breakers (tests, tenants), {@link createRegistry} gives the same API on a new registry.
 *
 * @packageDocumentation
 */
import { formatStats as format } from './core/format.js';
import { createRegistry, type CircuitBreakerRegistry } from './core/registry.js';
import type {
  CircuitBreakerConfig,
  CircuitBreakerEvents,
  CircuitBreakerStats,
  CircuitState,
  ExecuteOptions,
  ExecutionResult,
  ProbeGate,
} from './core/types.js';
import type { WrapOptions } from './policies/wrap.js';
import type { WrapClientOptions } from './policies/wrap-client.js';

export { DEFAULT_CONFIG } from './core/config.js';
export { BulkheadRejectedError } from './policies/bulkhead.js';
export type { Fallback, RetryOptions } from './policies/types.js';
export type { WrapOptions } from './policies/wrap.js';
export type { WrapClientOptions } from './policies/wrap-client.js';
export { CircuitOpenError, TimeoutError } from './core/errors.js';
export { ResultFailureError } from './policies/outcome.js';
export { createRegistry, type CircuitBreakerRegistry } from './core/registry.js';
export {
  CircuitState,
  type CircuitBreakerConfig,
  type CircuitBreakerEventName,
  type CircuitBreakerEvents,
  type CircuitBreakerStats,
  type Clock,
  type ExecuteOptions,
  type ExecutionFailure,
  type ExecutionResult,
  type ExecutionSuccess,
  type ProbeGate,
  type RegistryOptions,
} from './core/types.js';

let fallbackRegistry: CircuitBreakerRegistry | undefined;

/** The registry behind the module functions, made on first use. */
function registry(): CircuitBreakerRegistry {
  return (fallbackRegistry ??= createRegistry());
}

/**
 * Runs `fn` under the circuit of `executorName`, creating the breaker on first use.
 *
 * `fn` is called as `fn(signal)`: the signal aborts when the call times out or when
 * `options.signal` aborts. Only a function that declares a parameter (`fn.length > 0`,
 * such as `(signal) => fetch(url, { signal })`) gets it; `async () => ...` is called
 * without one, which saves creating it.
 *
 * Never rejects because of `fn`: success, failure, timeout and rejection all resolve to an
 * {@link ExecutionResult}. Rejects with a `TypeError`, changing nothing, only for a bad
 * name, a `fn` that is not a function, or bad options.
 *
 * @example
 * ```ts
 * const result = await circuitBreaker.execute('notion', () => notion.pages.create(page));
 * if (result.success) return result.data;
 * if (result.rejected) console.log('Notion is down; next attempt at', result.error.nextAttemptTime);
 * ```
 */
export function execute<T>(
  executorName: string,
  fn: (signal: AbortSignal) => T | PromiseLike<T>,
  options?: ExecuteOptions,
): Promise<ExecutionResult<Awaited<T>>> {
  return registry().execute(executorName, fn, options);
}

/**
 * Merges `config` into the executor's configuration, creating its breaker; the circuit's
 * state and counters are kept. Throws a `TypeError` or `RangeError` naming the key and
 * value for an unknown key or a bad value, and then changes nothing.
 */
export function configure(executorName: string, config: Partial<CircuitBreakerConfig>): void {
  registry().configure(executorName, config);
}

/**
 * A frozen copy of the executor's configuration (every key, defaults filled in), or null if
 * it has no breaker. Later {@link configure} calls do not change a copy already taken.
 *
 * @example
 * ```ts
 * circuitBreaker.configure('notion', { failureThreshold: 3 });
 * circuitBreaker.getConfig('notion')?.failureThreshold; // 3
 * circuitBreaker.getConfig('never-used'); // null
 * ```
 */
export function getConfig(executorName: string): Readonly<CircuitBreakerConfig> | null {
  return registry().getConfig(executorName);
}

/**
 * Runs `fn` as {@link execute} does, and resolves to the data (fresh, cached or from a
 * fallback) or rejects with the result's `error`: for code that prefers `try`/`catch`.
 *
 * @example
 * ```ts
 * try {
 *   const page = await circuitBreaker.executeOrThrow('notion', () => notion.pages.retrieve({ page_id }));
 * } catch (error) {
 *   if (error instanceof circuitBreaker.CircuitOpenError) showBanner('Notion is down');
 * }
 * ```
 */
export function executeOrThrow<T>(
  executorName: string,
  fn: (signal: AbortSignal) => T | PromiseLike<T>,
  options?: ExecuteOptions,
): Promise<Awaited<T>> {
  return registry().executeOrThrow(executorName, fn, options);
}

/**
 * A function with `fn`'s parameters that runs `fn` through {@link execute} under
 * `executorName` and resolves to its {@link ExecutionResult}. `this` and the arguments reach
 * `fn` as given. `fn` reaches the call's AbortSignal by declaring one more parameter than its
 * callers pass, last. `options.cacheKey` may be a function of the arguments.
 *
 * @example
 * ```ts
 * const getPage = circuitBreaker.wrap('notion', (id: string, signal?: AbortSignal) =>
 *   fetch(`${api}/pages/${id}`, { signal }).then((r) => r.json()), { cacheKey: (id) => id });
 * const result = await getPage('p1');
 * ```
 */
export function wrap<A extends unknown[], R>(
  executorName: string,
  fn: (...args: A) => R | PromiseLike<R>,
  options?: WrapOptions<A>,
): (...args: A) => Promise<ExecutionResult<Awaited<R>>> {
  return registry().wrap(executorName, fn, options);
}

/**
 * A proxy of an SDK client (`@notionhq/client`, `@slack/web-api`, ...) whose methods, at any
 * depth, run through {@link executeOrThrow} under `executorName`, with `this` intact; other
 * properties pass through. Only methods that `options.cacheable(path)` calls reads are ever
 * answered from the fallback cache, each under its path and its arguments.
 *
 * @example
 * ```ts
 * const notion = circuitBreaker.wrapClient('notion', new Client({ auth }), {
 *   cacheable: (path) => path.endsWith('.retrieve') || path.endsWith('.query'),
 * });
 * await notion.pages.create({ parent, properties }); // through the breaker, never cached
 * ```
 */
export function wrapClient<C extends object>(executorName: string, client: C, options?: WrapClientOptions): C {
  return registry().wrapClient(executorName, client, options);
}

/**
 * Adds a listener. One that throws is reported as a process warning and otherwise ignored.
 * Returns a function that removes this registration.
 */
export function on<E extends keyof CircuitBreakerEvents>(event: E, listener: CircuitBreakerEvents[E]): () => void {
  return registry().on(event, listener);
}

/** Removes a listener added with {@link on}. */
export function off<E extends keyof CircuitBreakerEvents>(event: E, listener: CircuitBreakerEvents[E]): void {
  registry().off(event, listener);
}

/** The executor's state (after any transition that is due), or null if it has no breaker. */
export function getState(executorName: string): CircuitState | null {
  return registry().getState(executorName);
}

/** A fresh copy of the executor's statistics, or null if it has no breaker. */
export function getStats(executorName: string): CircuitBreakerStats | null {
  return registry().getStats(executorName);
}

/** Fresh statistics of every executor, by name, in creation order. */
export function getAllStats(): Map<string, CircuitBreakerStats> {
  return registry().getAllStats();
}

/** Returns the executor to CLOSED with every counter zero and an empty cache; keeps its configuration. */
export function reset(executorName: string): void {
  registry().reset(executorName);
}

/** {@link reset} for every executor. */
export function resetAll(): void {
  registry().resetAll();
}

/** Forces the circuit OPEN and holds it there (no automatic half-open) until closed or reset. */
export function openCircuit(executorName: string): void {
  registry().openCircuit(executorName);
}

/** Forces the circuit CLOSED and forgets the failures in its window. */
export function closeCircuit(executorName: string): void {
  registry().closeCircuit(executorName);
}

/**
 * Opens the circuit as if it had opened on its own, letting probes through from
 * `nextAttemptTime` (creating the breaker). For keeping breakers of several processes in
 * step: on a circuit already OPEN on its timer it only moves that time, and one held open by
 * {@link openCircuit} stays held.
 */
export function tripCircuit(executorName: string, nextAttemptTime: Date): void {
  registry().tripCircuit(executorName, nextAttemptTime);
}

/**
 * Installs (or, with null, removes) a gate that a HALF_OPEN circuit asks before each probe,
 * after its own slot check (creating the breaker). For limiting probes across several
 * processes; a refusal rejects the call as a full half-open circuit does.
 */
export function setProbeGate(executorName: string, gate: ProbeGate | null): void {
  registry().setProbeGate(executorName, gate);
}

/** Whether the executor's circuit is OPEN (false if it has no breaker). */
export function isOpen(executorName: string): boolean {
  return registry().isOpen(executorName);
}

/** Whether the executor's circuit is CLOSED (false if it has no breaker). */
export function isClosed(executorName: string): boolean {
  return registry().isClosed(executorName);
}

/** Whether the executor's circuit is HALF_OPEN (false if it has no breaker). */
export function isHalfOpen(executorName: string): boolean {
  return registry().isHalfOpen(executorName);
}

/** The names of every executor with a breaker, in creation order. */
export function getExecutors(): string[] {
  return registry().getExecutors();
}

/**
 * One executor's statistics as a block of text:
 *
 * ```text
 * === Circuit Breaker: notion ===
 * State: CLOSED
 *
 * Requests:
 *   Total: 150
 *   Successful: 145 (96.7%)
 *   Failed: 5
 *   Rejected: 0 (0.0%)
 * ...
 * ```
 */
export function formatStats(stats: CircuitBreakerStats): string {
  return format(stats);
}

/** A table of every executor's state, requests, success rate and rejections. */
export function getSummary(): string {
  return registry().getSummary();
}

/**
 * Removes every breaker (with its configuration), listener and timer, so the process can
 * exit at once. The module stays usable. Calls still running settle with their own outcome
 * but no longer time out.
 */
export function destroy(): void {
  fallbackRegistry?.destroy();
}
