/**
 * Prometheus metrics for circuit breakers, on prom-client: `executor-circuit-breaker/prometheus`.
 *
 * ```ts
 * import { register } from 'prom-client';
 * import { registerPrometheusMetrics } from 'executor-circuit-breaker/prometheus';
 *
 * const metrics = registerPrometheusMetrics({ registry: register });
 * app.get('/metrics', async (req, res) => {
 *   res.set('content-type', register.contentType).send(await register.metrics());
 * });
 * // later, if ever: metrics.detach();
 * ```
 *
 * prom-client (15) is an optional peer dependency: only this entry point loads it.
 *
 * @packageDocumentation
 * @module prometheus
 */
import { Counter, Gauge, Histogram, register as globalRegister } from 'prom-client';
import type { Metric, Registry, RegistryContentType } from 'prom-client';
import {
  OUTCOMES,
  STATE_CODES,
  STATES,
  TIMED_OUTCOMES,
  bucketsOf,
  checkOptions,
  observe,
  prefixOf,
  sourceOf,
  statsReader,
  type BreakerSource,
  type Observation,
} from './observe.js';

export { DEFAULT_DURATION_BUCKETS, type BreakerSource, type Outcome } from './observe.js';

/** Options of {@link registerPrometheusMetrics}. */
export interface PrometheusMetricsOptions {
  /** The prom-client registry to register the metrics in (default: prom-client's global `register`). */
  registry?: Registry<RegistryContentType>;
  /**
   * The breakers to report: a registry from `createRegistry()`, or by default the
   * package's module functions (`import * as circuitBreaker from 'executor-circuit-breaker'`).
   */
  breakers?: BreakerSource;
  /** Prepended to every metric name (default `'circuit_breaker_'`). */
  prefix?: string;
  /** Upper bounds of the duration histogram's buckets, in seconds (default {@link DEFAULT_DURATION_BUCKETS}). */
  buckets?: readonly number[];
}

/** What {@link registerPrometheusMetrics} returns. */
export interface PrometheusMetrics {
  /** The names of the registered metrics, prefix included. */
  readonly names: readonly string[];
  /** Whether the metrics are still registered and counting. */
  readonly attached: boolean;
  /**
   * Removes the metrics from the prom-client registry and every listener from the breakers.
   * Calling it again does nothing.
   */
  detach(): void;
}

interface Attachment {
  readonly source: BreakerSource;
  /** One of its metrics, to tell whether the registry still holds them. */
  readonly probe: Metric<string>;
  readonly handle: PrometheusMetrics;
}

/** Live attachments, per prom-client registry and prefix. */
const attachments = new WeakMap<Registry<RegistryContentType>, Map<string, Attachment>>();

const OPTION_KEYS = ['registry', 'breakers', 'prefix', 'buckets'];
/** The metric names, after the prefix, in the order of registration. */
const SUFFIXES = ['state', 'in_state', 'requests_total', 'request_duration_seconds', 'opened_total'];
const REQUESTS_HELP =
  'Calls to execute() by outcome: success, failure, timeout, ' +
  'rejected (no cached value), fallback (answered from the cache).';

/**
 * Registers the circuit breakers' metrics in a prom-client registry. With the default
 * prefix:
 *
 * | metric | type | labels | value |
 * |---|---|---|---|
 * | `circuit_breaker_state` | gauge | `executor` | 0 = CLOSED, 1 = HALF_OPEN, 2 = OPEN |
 * | `circuit_breaker_in_state` | gauge | `executor`, `state` | 1 for the current state, 0 for the two others |
 * | `circuit_breaker_requests_total` | counter | `executor`, `outcome` | calls by {@link Outcome} |
 * | `circuit_breaker_request_duration_seconds` | histogram | `executor`, `outcome` | calls that succeeded or timed out |
 * | `circuit_breaker_opened_total` | counter | `executor` | transitions into OPEN |
 *
 * The outcomes are disjoint: `rejected` counts the refused calls that had no cached value,
 * `fallback` the refused calls the cache answered. The gauges are read from the breakers'
 * statistics at each scrape; the counters count from the moment of registration.
 *
 * Registering the same breakers in the same registry again replaces the first
 * registration (which is detached) instead of failing as a duplicate: do it after
 * `destroy()`, which removes every listener, the metrics' too. Other breakers need another
 * `prefix` (or a `detach()` first). Throws a `TypeError` for bad options, and an `Error`,
 * registering nothing, when one of the names is already taken by another metric.
 */
export function registerPrometheusMetrics(options: PrometheusMetricsOptions = {}): PrometheusMetrics {
  const where = 'registerPrometheusMetrics';
  checkOptions(options, OPTION_KEYS, where);
  const registry: Registry<RegistryContentType> = options.registry === undefined ? globalRegister : options.registry;
  if (typeof registry !== 'object' || registry === null || typeof registry.registerMetric !== 'function') {
    throw new TypeError(`${where}: registry must be a prom-client Registry`);
  }
  const source = sourceOf(options.breakers, ['on', 'off', 'getAllStats'], where);
  const prefix = prefixOf(options.prefix, 'circuit_breaker_', where);
  const buckets = bucketsOf(options.buckets, where);

  let byPrefix = attachments.get(registry);
  const existing = byPrefix?.get(prefix);
  if (existing) {
    // Still registered (nobody cleared the registry behind our back), for other breakers?
    if (existing.source !== source && registry.getSingleMetric(`${prefix}state`) === existing.probe) {
      throw new Error(
        `${where}: metrics named ${prefix}* are already registered for other breakers; ` +
          `detach() them first or pass another prefix`,
      );
    }
    // The same breakers again: start afresh. The old listeners may be gone (destroy()).
    existing.handle.detach();
  }

  const stats = statsReader(source);
  /** Histogram series that exist, as `outcome NUL executor`. */
  const timed = new Set<string>();
  let observation: Observation | null = null;
  const flush = (): void => observation?.flush();

  // Executors seen at a scrape get every series, at zero, so rate() and alerts see them at once.
  const seed = (): void => {
    flush();
    for (const executor of stats().keys()) {
      for (const outcome of OUTCOMES) requests.inc({ executor, outcome }, 0);
      opened.inc({ executor }, 0);
    }
  };

  const state = new Gauge({
    name: `${prefix}state`,
    help: 'State of the circuit per executor: 0 = CLOSED, 1 = HALF_OPEN, 2 = OPEN.',
    labelNames: ['executor'],
    registers: [],
    collect() {
      this.reset();
      for (const [executor, s] of stats()) this.set({ executor }, STATE_CODES[s.state]);
    },
  });
  const inState = new Gauge({
    name: `${prefix}in_state`,
    help: 'Whether the circuit of the executor is in the state of the label: 1 for the current state, 0 otherwise.',
    labelNames: ['executor', 'state'],
    registers: [],
    collect() {
      this.reset();
      for (const [executor, s] of stats()) {
        for (const value of STATES) this.set({ executor, state: value }, s.state === value ? 1 : 0);
      }
    },
  });
  const requests = new Counter({
    name: `${prefix}requests_total`,
    help: REQUESTS_HELP,
    labelNames: ['executor', 'outcome'],
    registers: [],
    collect: seed,
  });
  const duration = new Histogram({
    name: `${prefix}request_duration_seconds`,
    help: 'Duration in seconds of the calls that succeeded (outcome success) and of those that timed out (their timeout).',
    labelNames: ['executor', 'outcome'],
    buckets,
    registers: [],
    collect() {
      // zero() would also wipe a series that has observations: only for new ones.
      for (const executor of stats().keys()) {
        for (const outcome of TIMED_OUTCOMES) {
          const key = `${outcome}\u0000${executor}`;
          if (timed.has(key)) continue;
          timed.add(key);
          this.zero({ executor, outcome });
        }
      }
    },
  });
  const opened = new Counter({
    name: `${prefix}opened_total`,
    help: 'Transitions of the circuit into OPEN.',
    labelNames: ['executor'],
    registers: [],
    collect: seed,
  });

  const metrics: Metric<string>[] = [state, inState, requests, duration, opened];
  const names = SUFFIXES.map((suffix) => prefix + suffix);
  const taken = names.filter((name) => registry.getSingleMetric(name) !== undefined);
  if (taken.length > 0) {
    throw new Error(`${where}: the registry already has metrics named ${taken.join(', ')}; pass another prefix`);
  }
  for (const metric of metrics) registry.registerMetric(metric);

  observation = observe(source, {
    request: (executor, outcome, count) => requests.inc({ executor, outcome }, count),
    duration: (executor, outcome, seconds) => {
      timed.add(`${outcome}\u0000${executor}`);
      duration.observe({ executor, outcome }, seconds);
    },
    opened: (executor) => opened.inc({ executor }),
  });

  let attached = true;
  const handle: PrometheusMetrics = {
    names: Object.freeze(names),
    get attached() {
      return attached;
    },
    detach() {
      if (!attached) return;
      attached = false;
      observation?.stop();
      for (const [i, metric] of metrics.entries()) {
        if (registry.getSingleMetric(names[i]!) === metric) registry.removeSingleMetric(names[i]!);
      }
      if (byPrefix?.get(prefix)?.handle === handle) byPrefix.delete(prefix);
    },
  };
  if (!byPrefix) attachments.set(registry, (byPrefix = new Map()));
  byPrefix.set(prefix, { source, probe: state, handle });
  return handle;
}
