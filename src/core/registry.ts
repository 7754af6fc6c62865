import { Breaker, type BreakerHost } from './breaker.js';
import { DEFAULT_CONFIG, mergeConfig, show, validateConfig } from './config.js';
import { Events } from './events.js';
import { formatStats, formatSummary } from './format.js';
import { TimerArming } from './timeout.js';
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
  /** Adds a listener; one that throws is reported as a process warning and otherwise ignored. */
  on<E extends keyof CircuitBreakerEvents>(event: E, listener: CircuitBreakerEvents[E]): void;
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

const OPTION_KEYS = new Set(['signal', 'cacheKey']);
const REGISTRY_KEYS = new Set(['defaults', 'clock']);

function checkName(name: unknown, where: string): asserts name is string {
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(`${where}: executorName must be a non-empty string, got ${show(name)}`);
  }
}

function isAbortSignal(value: unknown): value is AbortSignal {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function'
  );
}

/** Validates `options`, reading each one exactly once (a getter may not answer twice alike). */
function readOptions(options: object): ExecuteOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`execute: options must be an object, got ${show(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      throw new TypeError(`execute: unknown option ${JSON.stringify(key)} (options: signal, cacheKey)`);
    }
  }
  const { signal, cacheKey } = options as ExecuteOptions;
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new TypeError(`execute: options.signal must be an AbortSignal, got ${show(signal)}`);
  }
  if (cacheKey !== undefined && typeof cacheKey !== 'string') {
    throw new TypeError(`execute: options.cacheKey must be a string, got ${show(cacheKey)}`);
  }
  return { signal, cacheKey };
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
    let read: ExecuteOptions | undefined;
    try {
      if (breaker === undefined) checkName(executorName, 'execute');
      if (typeof fn !== 'function') throw new TypeError(`execute: fn must be a function, got ${show(fn)}`);
      if (options !== undefined) read = readOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    breaker ??= this.#create(executorName);
    return breaker.execute(
      fn as (signal?: AbortSignal) => unknown,
      read?.cacheKey,
      read?.signal,
    ) as Promise<ExecutionResult<Awaited<T>>>;
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

  on<E extends keyof CircuitBreakerEvents>(event: E, listener: CircuitBreakerEvents[E]): void {
    this.#host.events.on(event, listener);
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
    this.#findOrCreate(executorName, 'tripCircuit').trip(nextAttemptTime.getTime());
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
    this.#findOrCreate(executorName, 'setProbeGate').setGate(gate);
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

  #find(executorName: string, where: string): Breaker | undefined {
    checkName(executorName, where);
    return this.#breakers.get(executorName);
  }

  #findOrCreate(executorName: string, where: string): Breaker {
    return this.#find(executorName, where) ?? this.#create(executorName);
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
  const registry = new Registry(options) as unknown as Record<string, unknown>;
  for (const key of METHODS) {
    registry[key] = (registry[key] as (...args: unknown[]) => unknown).bind(registry);
  }
  return registry as unknown as CircuitBreakerRegistry;
}
