import { Breaker, type BreakerHost } from './breaker.js';
import { DEFAULT_CONFIG, MAX_DELAY, mergeConfig, show, validateConfig } from './config.js';
import { Events } from './events.js';
import { formatStats, formatSummary } from './format.js';
import { TimerArming } from './timeout.js';
import { runComposed, type CallPolicies } from '../policies/compose.js';
import { normalizeRetry } from '../policies/retry-options.js';
import { unwrap, wrapFunction, type WrapOptions } from '../policies/wrap.js';
import { proxyClient, type WrapClientOptions } from '../policies/wrap-client.js';
import {
  CircuitState,
  type CircuitBreakerConfig,
  type CircuitBreakerEvents,
  type CircuitBreakerStats,
  type ExecuteOptions,
  type ExecutionResult,
  type ProbeGate,
  type RegistryOptions,
} from './types.js';

/**
 * A set of circuit breakers, one per executor name, with its own events and defaults.
 * The package's module functions act on one default registry; {@link createRegistry}
 * makes more, isolated from it and from each other. Methods are bound, so they may be
 * passed around or destructured.
 */
export interface CircuitBreakerRegistry {
  /**
   * Runs `fn` under the circuit of `executorName`, creating the breaker on first use.
   *
   * `fn` is called as `fn(signal)`: the signal aborts when the call times out or when
   * `options.signal` aborts. Only a function that declares a parameter (`fn.length > 0`,
   * such as `(signal) => fetch(url, { signal })`) gets it; `async () => ...` is called
   * without one, which saves creating it.
   *
   * Never rejects because of `fn`: success, failure, timeout and rejection all resolve to
   * an {@link ExecutionResult}. Rejects with a `TypeError`, changing nothing, only for a bad
   * name, a `fn` that is not a function, or bad options.
   */
  execute<T>(
    executorName: string,
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    options?: ExecuteOptions,
  ): Promise<ExecutionResult<Awaited<T>>>;
  /** Merges `config` into the executor's configuration (creating its breaker); state is kept. */
  configure(executorName: string, config: Partial<CircuitBreakerConfig>): void;
  /**
   * A frozen copy of the executor's configuration (every key, defaults filled in), or null
   * if it has no breaker. Later {@link CircuitBreakerRegistry.configure} calls do not change
   * a copy already taken.
   */
  getConfig(executorName: string): Readonly<CircuitBreakerConfig> | null;
  /**
   * Runs `fn` as {@link CircuitBreakerRegistry.execute} does, and resolves to the data
   * (fresh, cached or from a fallback) or rejects with the result's `error`: for code that
   * prefers `try`/`catch`.
   */
  executeOrThrow<T>(
    executorName: string,
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    options?: ExecuteOptions,
  ): Promise<Awaited<T>>;
  /**
   * A function with `fn`'s parameters that runs `fn` through
   * {@link CircuitBreakerRegistry.execute} under `executorName` and resolves to its
   * {@link ExecutionResult}. `this` and the arguments reach `fn` as given. `fn` reaches the
   * call's AbortSignal by declaring one more parameter than its callers pass, last:
   * `wrap('notion', (id: string, signal?: AbortSignal) => ...)`, called as `get(id)`.
   * `options.cacheKey` may be a function of the arguments. Options are checked here, once.
   */
  wrap<A extends unknown[], R>(
    executorName: string,
    fn: (...args: A) => R | PromiseLike<R>,
    options?: WrapOptions<A>,
  ): (...args: A) => Promise<ExecutionResult<Awaited<R>>>;
  /**
   * A proxy of an SDK client whose methods, at any depth (`notion.pages.create`,
   * `slack.chat.postMessage`), run through {@link CircuitBreakerRegistry.executeOrThrow}
   * under `executorName`, on the real objects (`this` intact). Other properties, event
   * emitter methods and `paginate` pass through. No answer comes from the fallback cache
   * unless `options.cacheable(path)` says that method is a read; a read is cached under its
   * path and a stable serialization of its arguments.
   */
  wrapClient<C extends object>(executorName: string, client: C, options?: WrapClientOptions): C;
  /**
   * Adds a listener; one that throws is reported as a process warning and otherwise ignored.
   * Returns a function that removes this registration.
   */
  on<E extends keyof CircuitBreakerEvents>(event: E, listener: CircuitBreakerEvents[E]): () => void;
  /** Removes a listener added with {@link CircuitBreakerRegistry.on}. */
  off<E extends keyof CircuitBreakerEvents>(event: E, listener: CircuitBreakerEvents[E]): void;
  /** The executor's state, or null if it has no breaker. */
  getState(executorName: string): CircuitState | null;
  /** A fresh copy of the executor's statistics, or null if it has no breaker. */
  getStats(executorName: string): CircuitBreakerStats | null;
  /** Fresh statistics of every executor, by name, in creation order. */
  getAllStats(): Map<string, CircuitBreakerStats>;
  /** Returns the executor to CLOSED with every counter zero and an empty cache; keeps its configuration. */
  reset(executorName: string): void;
  /** {@link CircuitBreakerRegistry.reset} for every executor. */
  resetAll(): void;
  /** Forces the circuit OPEN and holds it there (no automatic half-open) until closed or reset. */
  openCircuit(executorName: string): void;
  /** Forces the circuit CLOSED and forgets the failures in its window. */
  closeCircuit(executorName: string): void;
  /**
   * Opens the circuit as if it had opened on its own, letting probes through from
   * `nextAttemptTime` (creating the breaker). For keeping breakers of several processes in
   * step: on a circuit already OPEN on its timer it only moves that time, and one held open
   * by {@link CircuitBreakerRegistry.openCircuit} stays held.
   */
  tripCircuit(executorName: string, nextAttemptTime: Date): void;
  /**
   * Installs (or, with null, removes) a gate that a HALF_OPEN circuit asks before each
   * probe, after its own slot check (creating the breaker). For limiting probes across
   * several processes; a refusal rejects the call as a full half-open circuit does.
   */
  setProbeGate(executorName: string, gate: ProbeGate | null): void;
  /**
   * The time by the registry's clock, in ms since the epoch (`Date.now()` unless
   * `createRegistry({ clock })`): the clock every `nextAttemptTime` of this registry is on.
   * For coordinating breakers beyond one process, which hand each other durations.
   */
  now(): number;
  /** Whether the executor's circuit is OPEN (false if it has no breaker). */
  isOpen(executorName: string): boolean;
  /** Whether the executor's circuit is CLOSED (false if it has no breaker). */
  isClosed(executorName: string): boolean;
  /** Whether the executor's circuit is HALF_OPEN (false if it has no breaker). */
  isHalfOpen(executorName: string): boolean;
  /** The names of every executor with a breaker, in creation order. */
  getExecutors(): string[];
  /** One executor's statistics as text (see the package's `formatStats`). */
  formatStats(stats: CircuitBreakerStats): string;
  /** A table of every executor's state, requests, success rate and rejections. */
  getSummary(): string;
  /**
   * Removes every breaker (with its configuration), listener and timer. The registry stays
   * usable. Calls still running settle with their own outcome but no longer time out.
   */
  destroy(): void;
}

const OPTION_KEYS = new Set(['signal', 'cacheKey', 'timeout', 'retry', 'fallback']);
const REGISTRY_KEYS = new Set(['defaults', 'clock']);

function checkName(name: unknown, where: string): asserts name is string {
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(`${where}: executorName must be a non-empty string, got ${show(name)}`);
  }
}

/**
 * Whether `value` can serve as a call's signal. removeEventListener is asked for too: a call
 * that settles stops listening, and a look-alike without it would leave the call unsettled.
 */
function isAbortSignal(value: unknown): value is AbortSignal {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function' &&
    typeof (value as AbortSignal).removeEventListener === 'function'
  );
}

/** Options once read: a null `cacheKey` keeps the call away from the fallback cache. */
interface ReadOptions {
  signal?: AbortSignal | undefined;
  cacheKey?: string | null | undefined;
  /** This call's own timeout, in place of `requestTimeout`. */
  timeout?: number | undefined;
  /** Set only when the call sets its own retry or fallback. */
  policies?: CallPolicies | undefined;
}

/**
 * Validates `options`, reading each one exactly once (a getter may not answer twice alike).
 * `extra` are further keys the caller (`wrap`, `wrapClient`) reads itself.
 */
function readOptions(options: object, where = 'execute', extra: readonly string[] = []): ReadOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object, got ${show(options)}`);
  }
  // The wrappers read cacheKey their own way, or not at all.
  const known = extra.length === 0 ? [...OPTION_KEYS] : ['signal', 'timeout', 'retry', 'fallback', ...extra];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`${where}: unknown option ${JSON.stringify(key)} (options: ${known.join(', ')})`);
    }
  }
  const { signal, cacheKey, timeout, retry, fallback } = options as ExecuteOptions;
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new TypeError(`${where}: options.signal must be an AbortSignal, got ${show(signal)}`);
  }
  if (cacheKey !== undefined && typeof cacheKey !== 'string' && !extra.includes('cacheKey')) {
    throw new TypeError(`${where}: options.cacheKey must be a string, got ${show(cacheKey)}`);
  }
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout === Infinity || (timeout > 0 && timeout <= MAX_DELAY)))) {
    // A TypeError like every bad option: execute documents one kind of programmer error.
    throw new TypeError(
      `${where}: options.timeout must be a number of ms above 0 and at most ${MAX_DELAY}, or Infinity for no timeout, got ${show(timeout)}`,
    );
  }
  if (fallback !== undefined && typeof fallback !== 'function') {
    throw new TypeError(`${where}: options.fallback must be a function, got ${show(fallback)}`);
  }
  const read: ReadOptions = { signal, cacheKey: extra.includes('cacheKey') ? undefined : cacheKey, timeout };
  if (retry !== undefined || fallback !== undefined) {
    read.policies = {
      retry: retry === undefined ? undefined : normalizeRetry(retry, `${where}: options.retry`),
      fallback,
    };
  }
  return read;
}

class Registry implements CircuitBreakerRegistry {
  readonly #breakers = new Map<string, Breaker>();
  readonly #defaults: Readonly<CircuitBreakerConfig>;
  readonly #host: BreakerHost;

  constructor(options: RegistryOptions = {}) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new TypeError(`createRegistry: options must be an object, got ${show(options)}`);
    }
    for (const key of Object.keys(options)) {
      if (!REGISTRY_KEYS.has(key)) {
        throw new TypeError(`createRegistry: unknown option ${JSON.stringify(key)} (options: defaults, clock)`);
      }
    }
    const { defaults = {}, clock } = options;
    this.#defaults = mergeConfig(DEFAULT_CONFIG, validateConfig(defaults, 'createRegistry: defaults'));
    if (clock !== undefined && (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function')) {
      throw new TypeError(`createRegistry: clock must be an object with a now() method, got ${show(clock)}`);
    }
    this.#host = {
      // Date.now is looked up on each call so that fake timers installed later still apply.
      now: clock ? () => clock.now() : () => Date.now(),
      events: new Events(),
      arming: new TimerArming(),
    };
  }

  execute<T>(
    executorName: string,
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    options?: ExecuteOptions,
  ): Promise<ExecutionResult<Awaited<T>>> {
    let breaker = this.#breakers.get(executorName);
    let read: ReadOptions | undefined;
    try {
      if (breaker === undefined) checkName(executorName, 'execute');
      if (typeof fn !== 'function') throw new TypeError(`execute: fn must be a function, got ${show(fn)}`);
      if (options !== undefined) read = readOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    breaker ??= this.#create(executorName);
    if (breaker.policies !== null || read?.policies !== undefined) {
      return this.#composed(breaker, fn as (signal?: AbortSignal) => unknown, read) as Promise<ExecutionResult<Awaited<T>>>;
    }
    return breaker.execute(
      fn as (signal?: AbortSignal) => unknown,
      read?.cacheKey,
      read?.signal,
      read?.timeout,
    ) as Promise<ExecutionResult<Awaited<T>>>;
  }

  executeOrThrow<T>(
    executorName: string,
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    options?: ExecuteOptions,
  ): Promise<Awaited<T>> {
    return this.execute(executorName, fn, options).then(unwrap);
  }

  wrap<A extends unknown[], R>(
    executorName: string,
    fn: (...args: A) => R | PromiseLike<R>,
    options?: WrapOptions<A>,
  ): (...args: A) => Promise<ExecutionResult<Awaited<R>>> {
    checkName(executorName, 'wrap');
    if (typeof fn !== 'function') throw new TypeError(`wrap: fn must be a function, got ${show(fn)}`);
    const read = options === undefined ? {} : readOptions(options, 'wrap', ['cacheKey']);
    const cacheKey = options?.cacheKey;
    if (cacheKey !== undefined && typeof cacheKey !== 'string' && typeof cacheKey !== 'function') {
      throw new TypeError(`wrap: options.cacheKey must be a string or a function, got ${show(cacheKey)}`);
    }
    return wrapFunction(fn, cacheKey, (call, key) => this.#run(executorName, call, read, key));
  }

  wrapClient<C extends object>(executorName: string, client: C, options?: WrapClientOptions): C {
    checkName(executorName, 'wrapClient');
    if ((typeof client !== 'object' && typeof client !== 'function') || client === null) {
      throw new TypeError(`wrapClient: client must be an object, got ${show(client)}`);
    }
    const read = options === undefined ? {} : readOptions(options, 'wrapClient', ['cacheable']);
    const cacheable = options?.cacheable;
    if (cacheable !== undefined && typeof cacheable !== 'function') {
      throw new TypeError(`wrapClient: options.cacheable must be a function, got ${show(cacheable)}`);
    }
    return proxyClient(client, cacheable, (call, key) => this.#run(executorName, call, read, key).then(unwrap));
  }

  configure(executorName: string, config: Partial<CircuitBreakerConfig>): void {
    checkName(executorName, 'configure');
    const clean = validateConfig(config, `configure("${executorName}")`);
    const breaker = this.#breakers.get(executorName);
    if (breaker) breaker.configure(clean);
    else this.#create(executorName, clean);
  }

  getConfig(executorName: string): Readonly<CircuitBreakerConfig> | null {
    const breaker = this.#find(executorName, 'getConfig');
    return breaker === undefined ? null : Object.freeze({ ...breaker.config() });
  }

  on<E extends keyof CircuitBreakerEvents>(event: E, listener: CircuitBreakerEvents[E]): () => void {
    return this.#host.events.on(event, listener);
  }

  off<E extends keyof CircuitBreakerEvents>(event: E, listener: CircuitBreakerEvents[E]): void {
    this.#host.events.off(event, listener);
  }

  getState(executorName: string): CircuitState | null {
    return this.#find(executorName, 'getState')?.state() ?? null;
  }

  getStats(executorName: string): CircuitBreakerStats | null {
    return this.#find(executorName, 'getStats')?.stats() ?? null;
  }

  getAllStats(): Map<string, CircuitBreakerStats> {
    const all = new Map<string, CircuitBreakerStats>();
    for (const [name, breaker] of this.#breakers) all.set(name, breaker.stats());
    return all;
  }

  reset(executorName: string): void {
    this.#find(executorName, 'reset')?.reset();
  }

  resetAll(): void {
    for (const breaker of this.#breakers.values()) breaker.reset();
  }

  openCircuit(executorName: string): void {
    this.#findOrCreate(executorName, 'openCircuit').open();
  }

  closeCircuit(executorName: string): void {
    this.#findOrCreate(executorName, 'closeCircuit').close();
  }

  tripCircuit(executorName: string, nextAttemptTime: Date): void {
    checkName(executorName, 'tripCircuit');
    if (!(nextAttemptTime instanceof Date) || Number.isNaN(nextAttemptTime.getTime())) {
      throw new TypeError(`tripCircuit: nextAttemptTime must be a valid Date, got ${show(nextAttemptTime)}`);
    }
    this.#breaker(executorName).trip(nextAttemptTime.getTime());
  }

  setProbeGate(executorName: string, gate: ProbeGate | null): void {
    checkName(executorName, 'setProbeGate');
    if (
      gate !== null &&
      (typeof gate !== 'object' || typeof gate.tryAcquire !== 'function' || typeof gate.release !== 'function')
    ) {
      throw new TypeError(
        `setProbeGate: gate must be null or an object with tryAcquire() and release() methods, got ${show(gate)}`,
      );
    }
    this.#breaker(executorName).setGate(gate);
  }

  now(): number {
    return this.#host.now();
  }

  isOpen(executorName: string): boolean {
    return this.#find(executorName, 'isOpen')?.state() === CircuitState.OPEN;
  }

  isClosed(executorName: string): boolean {
    return this.#find(executorName, 'isClosed')?.state() === CircuitState.CLOSED;
  }

  isHalfOpen(executorName: string): boolean {
    return this.#find(executorName, 'isHalfOpen')?.state() === CircuitState.HALF_OPEN;
  }

  getExecutors(): string[] {
    return [...this.#breakers.keys()];
  }

  formatStats(stats: CircuitBreakerStats): string {
    return formatStats(stats);
  }

  getSummary(): string {
    return formatSummary(this.getAllStats().values());
  }

  destroy(): void {
    for (const breaker of this.#breakers.values()) breaker.destroy();
    this.#breakers.clear();
    this.#host.events.clear();
    this.#host.arming.cancel();
  }

  /** execute() after its checks, for wrappers whose options were read once, up front. */
  #run(
    executorName: string,
    fn: (signal?: AbortSignal) => unknown,
    read: ReadOptions,
    cacheKey: string | null | undefined,
  ): Promise<ExecutionResult<unknown>> {
    const breaker = this.#breakers.get(executorName) ?? this.#create(executorName);
    if (breaker.policies !== null || read.policies !== undefined) {
      return runComposed(breaker, breaker.policies, fn, cacheKey, read.signal, read.policies, read.timeout);
    }
    return breaker.execute(fn, cacheKey, read.signal, read.timeout);
  }

  /** A call with retry or fallback (src/policies/compose.ts). */
  #composed(
    breaker: Breaker,
    fn: (signal?: AbortSignal) => unknown,
    read: ReadOptions | undefined,
  ): Promise<ExecutionResult<unknown>> {
    return runComposed(breaker, breaker.policies, fn, read?.cacheKey, read?.signal, read?.policies, read?.timeout);
  }

  #find(executorName: string, where: string): Breaker | undefined {
    checkName(executorName, where);
    return this.#breakers.get(executorName);
  }

  #findOrCreate(executorName: string, where: string): Breaker {
    checkName(executorName, where);
    return this.#breaker(executorName);
  }

  /** The executor's breaker, made on first use; for a name already checked. */
  #breaker(executorName: string): Breaker {
    return this.#breakers.get(executorName) ?? this.#create(executorName);
  }

  #create(executorName: string, config?: Partial<CircuitBreakerConfig>): Breaker {
    // Breakers on the defaults share the registry's frozen defaults object.
    const merged = config === undefined ? this.#defaults : mergeConfig(this.#defaults, config);
    const breaker = new Breaker(executorName, merged, this.#host);
    this.#breakers.set(executorName, breaker);
    return breaker;
  }
}

const METHODS = Object.getOwnPropertyNames(Registry.prototype).filter((key) => key !== 'constructor');

/**
 * Makes a registry of circuit breakers isolated from the default one: for tests, and for
 * apps that keep tenants apart. `options.defaults` is laid over the built-in configuration
 * of each of its breakers; `options.clock` replaces `Date.now`.
 */
export function createRegistry(options?: RegistryOptions): CircuitBreakerRegistry {
  const registry = new Registry(options) as unknown as Record<string, (...args: unknown[]) => unknown>;
  // The bound methods go on a plain object of their own: added to the instance, beside its
  // private fields, they tipped V8 into slow (dictionary) properties, and every call through
  // the registry paid a hash lookup for `execute`.
  return Object.fromEntries(METHODS.map((key) => [key, registry[key]!.bind(registry)])) as unknown as CircuitBreakerRegistry;
}
