/**
 * OpenTelemetry metrics for circuit breakers, on `@opentelemetry/api`:
 * `executor-circuit-breaker/opentelemetry`.
 *
 * ```ts
 * import { registerOpenTelemetryMetrics } from 'executor-circuit-breaker/opentelemetry';
 *
 * // After the SDK's MeterProvider is set up (or pass `meterProvider` / `meter`):
 * const metrics = registerOpenTelemetryMetrics();
 * // later, if ever: metrics.detach();
 * ```
 *
 * `@opentelemetry/api` (1.7 or later) is an optional peer dependency: only this entry point
 * loads it.
 *
 * @packageDocumentation
 * @module opentelemetry
 */
import { metrics as globalMetrics, ValueType } from '@opentelemetry/api';
import type { Attributes, BatchObservableResult, Meter, MeterProvider } from '@opentelemetry/api';
import {
  OUTCOMES,
  STATE_CODES,
  STATES,
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

/** The instrumentation scope name of the default meter. */
export const METER_NAME = 'executor-circuit-breaker';

/** Options of {@link registerOpenTelemetryMetrics}. */
export interface OpenTelemetryMetricsOptions {
  /** The meter that creates the instruments (default: `meterProvider.getMeter('executor-circuit-breaker')`). */
  meter?: Meter;
  /** Where the default meter comes from (default: the global provider, `metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider;
  /**
   * The breakers to report: a registry from `createRegistry()`, or by default the
   * package's module functions (`import * as circuitBreaker from 'executor-circuit-breaker'`).
   */
  breakers?: BreakerSource;
  /** Prepended to every instrument name (default `'circuit_breaker.'`). */
  prefix?: string;
  /** Bucket boundaries advised for the duration histogram, in seconds (default {@link DEFAULT_DURATION_BUCKETS}). */
  buckets?: readonly number[];
}

/** What {@link registerOpenTelemetryMetrics} returns. */
export interface OpenTelemetryMetrics {
  /** The names of the instruments, prefix included. */
  readonly names: readonly string[];
  /** Whether the instruments are still being fed. */
  readonly attached: boolean;
  /**
   * Stops feeding the instruments: removes every listener from the breakers and the
   * gauges' callback from the meter. Calling it again does nothing. (OpenTelemetry has no
   * way to delete an instrument; the counters keep their last values.)
   */
  detach(): void;
}

interface Attachment {
  readonly source: BreakerSource;
  readonly handle: OpenTelemetryMetrics;
}

/** Live attachments, per meter and prefix. */
const attachments = new WeakMap<Meter, Map<string, Attachment>>();

const OPTION_KEYS = ['meter', 'meterProvider', 'breakers', 'prefix', 'buckets'];

/**
 * Creates the circuit breakers' instruments on an OpenTelemetry meter and feeds them.
 * With the default prefix:
 *
 * | instrument | kind | unit | attributes | value |
 * |---|---|---|---|---|
 * | `circuit_breaker.state` | observable gauge | | `executor` | 0 = CLOSED, 1 = HALF_OPEN, 2 = OPEN |
 * | `circuit_breaker.in_state` | observable gauge | | `executor`, `state` | 1 for the current state, else 0 |
 * | `circuit_breaker.requests` | counter | `{request}` | `executor`, `outcome` | calls by {@link Outcome} |
 * | `circuit_breaker.request.duration` | histogram | `s` | `executor`, `outcome` | calls that succeeded or timed out |
 * | `circuit_breaker.opened` | counter | `{transition}` | `executor` | transitions into OPEN |
 *
 * The attribute names are those of the Prometheus entry point, so an OpenTelemetry
 * Prometheus exporter produces the same series (`circuit_breaker_requests_total`, ...).
 *
 * Registering the same breakers on the same meter again replaces the first registration
 * (which is detached) instead of counting twice: do it after `destroy()`, which removes
 * every listener, the instruments' too. Other breakers need another `prefix` (or a
 * `detach()` first). With no
 * meter provider set up, the global API hands out a no-op meter: set up the SDK first, or
 * pass `meterProvider` or `meter`. Throws a `TypeError` for bad options.
 */
export function registerOpenTelemetryMetrics(options: OpenTelemetryMetricsOptions = {}): OpenTelemetryMetrics {
  const where = 'registerOpenTelemetryMetrics';
  checkOptions(options, OPTION_KEYS, where);
  if (options.meter !== undefined && options.meterProvider !== undefined) {
    throw new TypeError(`${where}: pass meter or meterProvider, not both`);
  }
  const provider = options.meterProvider === undefined ? globalMetrics.getMeterProvider() : options.meterProvider;
  if (options.meter === undefined && (typeof provider !== 'object' || typeof provider?.getMeter !== 'function')) {
    throw new TypeError(`${where}: meterProvider must be an OpenTelemetry MeterProvider`);
  }
  const meter = options.meter === undefined ? provider.getMeter(METER_NAME) : options.meter;
  if (typeof meter !== 'object' || meter === null || typeof meter.createCounter !== 'function') {
    throw new TypeError(`${where}: meter must be an OpenTelemetry Meter`);
  }
  const source = sourceOf(options.breakers, ['on', 'off', 'getAllStats'], where);
  const prefix = prefixOf(options.prefix, 'circuit_breaker.', where);
  const buckets = bucketsOf(options.buckets, where);

  let byPrefix = attachments.get(meter);
  const existing = byPrefix?.get(prefix);
  if (existing) {
    if (existing.source !== source) {
      throw new Error(
        `${where}: instruments named ${prefix}* are already fed by other breakers; ` +
          `detach() them first or pass another prefix`,
      );
    }
    // The same breakers again: start afresh. The old listeners may be gone (destroy()).
    existing.handle.detach();
  }

  const name = (suffix: string): string => prefix + suffix;
  const names = ['state', 'in_state', 'requests', 'request.duration', 'opened'].map(name);
  const state = meter.createObservableGauge(name('state'), {
    description: 'State of the circuit per executor: 0 = CLOSED, 1 = HALF_OPEN, 2 = OPEN.',
    valueType: ValueType.INT,
  });
  const inState = meter.createObservableGauge(name('in_state'), {
    description: 'Whether the circuit is in the state of the attribute: 1 for the current state, 0 otherwise.',
    valueType: ValueType.INT,
  });
  const requests = meter.createCounter(name('requests'), {
    description:
      'Calls to execute() by outcome: success, failure, timeout, ' +
      'rejected (no cached value), fallback (answered from the cache).',
    unit: '{request}',
    valueType: ValueType.INT,
  });
  const duration = meter.createHistogram(name('request.duration'), {
    description: 'Duration of the calls that succeeded (outcome success) and of those that timed out (their timeout).',
    unit: 's',
    advice: { explicitBucketBoundaries: buckets },
  });
  const opened = meter.createCounter(name('opened'), {
    description: 'Transitions of the circuit into OPEN.',
    unit: '{transition}',
    valueType: ValueType.INT,
  });

  const stats = statsReader(source);
  let observation: Observation | null = null;
  const observeStates = (result: BatchObservableResult): void => {
    observation?.flush();
    for (const [executor, s] of stats()) {
      result.observe(state, STATE_CODES[s.state], { executor });
      for (const value of STATES) result.observe(inState, s.state === value ? 1 : 0, { executor, state: value });
      // Every series from the first collection on, at zero, so rates and alerts see them at once.
      for (const outcome of OUTCOMES) requests.add(0, { executor, outcome });
      opened.add(0, { executor });
    }
  };
  meter.addBatchObservableCallback(observeStates, [state, inState]);

  const attributes = (executor: string, outcome: string): Attributes => ({ executor, outcome });
  observation = observe(source, {
    request: (executor, outcome, count) => requests.add(count, attributes(executor, outcome)),
    duration: (executor, outcome, seconds) => duration.record(seconds, attributes(executor, outcome)),
    opened: (executor) => opened.add(1, { executor }),
  });

  let attached = true;
  const handle: OpenTelemetryMetrics = {
    names: Object.freeze(names),
    get attached() {
      return attached;
    },
    detach() {
      if (!attached) return;
      attached = false;
      observation?.stop();
      meter.removeBatchObservableCallback(observeStates, [state, inState]);
      if (byPrefix?.get(prefix)?.handle === handle) byPrefix.delete(prefix);
    },
  };
  if (!byPrefix) attachments.set(meter, (byPrefix = new Map()));
  byPrefix.set(prefix, { source, handle });
  return handle;
}
