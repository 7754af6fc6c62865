/**
 * The public option types of the Redis entry, apart from the code that uses them so that
 * its parts (options, leases, share) import them without importing each other.
 */
import type { Cluster, Redis } from 'ioredis';
import type { CircuitBreakerRegistry, ProbeGate } from '../index.js';

/** An ioredis connection: one server (`new Redis()`, also through Sentinel) or a Redis Cluster (`new Cluster()`). */
export type RedisConnection = Redis | Cluster;

/**
 * The breakers to share: a registry from `createRegistry()`, or by default the package's
 * module functions. Any object with these methods will do.
 */
export type SharedBreakers = Pick<
  CircuitBreakerRegistry,
  'on' | 'off' | 'getState' | 'getStats' | 'getConfig' | 'getExecutors' | 'openCircuit' | 'closeCircuit'
> & {
  /** Opens the circuit as if on its own, with probes from `nextAttemptTime` (the core's hook). */
  tripCircuit(executorName: string, nextAttemptTime: Date): void;
  /** Installs or removes the gate asked before each half-open probe (the core's hook). */
  setProbeGate(executorName: string, gate: ProbeGate | null): void;
  /**
   * The time by the breakers' clock, in ms since the epoch (a registry's `now()`); when
   * absent, `Date.now()`. The sharing turns the durations it gets from Redis into times on
   * this clock.
   */
  now?(): number;
};

/**
 * The fleet-wide settings of one executor. Each is read from the executor's own
 * configuration (`getConfig`), so what was given to `configure()` applies fleet-wide as it
 * is; give one here only to make the fleet's value differ from the local one.
 */
export interface FleetSettings {
  /** Failures of the whole fleet within `failureWindow` that open the circuit everywhere (default: the executor's `failureThreshold`). */
  failureThreshold: number;
  /** How long a failure counts in the fleet's count, in ms, on Redis's clock (default: the executor's `failureWindow`). */
  failureWindow: number;
  /** How long a circuit opened by the fleet's count stays OPEN, in ms (default: the executor's `resetTimeout`). */
  resetTimeout: number;
  /**
   * How long the probe lease of a half-open circuit lasts without being renewed, in ms, an
   * integer (default: the executor's `requestTimeout` plus 5 s, or 35 s without a
   * timeout). The holder renews it while its probes run, so a probe may run longer; a
   * prober that crashes or hangs blocks the others for at most this long.
   */
  probeLeaseTtl: number;
}

/** Options of {@link shareCircuitState}. */
export interface ShareCircuitStateOptions {
  /** The breakers to share (default: the package's module functions, i.e. its default registry). */
  breakers?: SharedBreakers;
  /**
   * Prepended to every key and to the channel (default `'circuit-breaker:'`): a non-empty
   * string without `{` or `}` (the keys of one executor carry its name as a Redis Cluster
   * hash tag).
   */
  prefix?: string;
  /**
   * Count failures fleet-wide (default false): every process's failures go into one count
   * in Redis, and the fleet opens once it reaches `failureThreshold` within `failureWindow`.
   * Each breaker still also opens on its own failures, as without sharing.
   */
  countFailuresFleetWide?: boolean;
  /** Fleet-wide settings for every executor, over each executor's own configuration. */
  defaults?: Partial<FleetSettings>;
  /** Fleet-wide settings per executor, over `defaults` and the executor's own configuration. */
  executors?: Record<string, Partial<FleetSettings>>;
  /**
   * How long one Redis command may take before it counts as failed, in ms (default 1000; at
   * most 2147483647, the longest timer Node.js keeps).
   * A failed command is reported as an `'error'` event; callers never wait for one.
   */
  commandTimeout?: number;
  /** This process's name in the records (default `hostname:pid:random`). Must be unique in the fleet. */
  processId?: string;
}

