/**
 * executor-circuit-breaker/opentelemetry: the instruments as the OpenTelemetry SDK
 * collects them, read through the SDK's in-memory exporter.
 */
import type { Attributes } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
  type Histogram,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as circuitBreaker from '../src/index.js';
import { createRegistry, type CircuitBreakerRegistry } from '../src/index.js';
import { METER_NAME, registerOpenTelemetryMetrics, type BreakerSource } from '../src/observability/opentelemetry.js';
import { AFTER_OUTAGE, AFTER_RECOVERY, SUCCESS_SECONDS, outage, recovery } from './outage-scenario.js';

let reg: CircuitBreakerRegistry;
let exporter: InMemoryMetricExporter;
let reader: PeriodicExportingMetricReader;
let provider: MeterProvider;

beforeEach(() => {
  reg = createRegistry();
  exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  provider = new MeterProvider({ readers: [reader] });
});

afterEach(async () => {
  reg.destroy();
  vi.useRealTimers();
  await provider.shutdown();
});

/** Collects now, and returns the metrics of this package's meter by name. */
async function collect(): Promise<Map<string, MetricData>> {
  exporter.reset();
  await reader.forceFlush();
  const scopes = exporter.getMetrics().flatMap((r) => r.scopeMetrics);
  const ours = scopes.filter((s) => s.scope.name === METER_NAME).flatMap((s) => s.metrics);
  return new Map(ours.map((m) => [m.descriptor.name, m]));
}

function point<T>(metric: MetricData | undefined, attributes: Attributes): DataPoint<T> {
  if (!metric) throw new Error('no such metric');
  const found = (metric.dataPoints as DataPoint<T>[]).filter(
    (p) =>
      Object.keys(p.attributes).length === Object.keys(attributes).length &&
      Object.entries(attributes).every(([k, v]) => p.attributes[k] === v),
  );
  if (found.length !== 1) throw new Error(`${found.length} points of ${metric.descriptor.name} ${JSON.stringify(attributes)}`);
  return found[0]!;
}

function counts(metrics: Map<string, MetricData>, executor: string) {
  const requests = metrics.get('circuit_breaker.requests');
  const count = (outcome: string) => point<number>(requests, { executor, outcome }).value;
  return {
    success: count('success'),
    failure: count('failure'),
    timeout: count('timeout'),
    rejected: count('rejected'),
    fallback: count('fallback'),
    opened: point<number>(metrics.get('circuit_breaker.opened'), { executor }).value,
  };
}

const state = (metrics: Map<string, MetricData>, executor: string) =>
  point<number>(metrics.get('circuit_breaker.state'), { executor }).value;
const inState = (metrics: Map<string, MetricData>, executor: string, s: string) =>
  point<number>(metrics.get('circuit_breaker.in_state'), { executor, state: s }).value;

describe('a scripted outage, collected by the SDK', () => {
  it('shows the opening, the rejections and the recovery with the right counts', async () => {
    registerOpenTelemetryMetrics({ meterProvider: provider, breakers: reg });

    vi.useFakeTimers();
    await outage(reg);
    const paused = Date.now();
    vi.useRealTimers();
    let metrics = await collect();
    expect(state(metrics, 'notion')).toBe(2);
    expect(inState(metrics, 'notion', 'OPEN')).toBe(1);
    expect(inState(metrics, 'notion', 'CLOSED')).toBe(0);
    expect(inState(metrics, 'notion', 'HALF_OPEN')).toBe(0);
    expect(counts(metrics, 'notion')).toEqual(AFTER_OUTAGE);
    expect(state(metrics, 'slack')).toBe(0);
    expect(counts(metrics, 'slack')).toEqual({ success: 1, failure: 0, timeout: 0, rejected: 0, fallback: 0, opened: 0 });

    vi.useFakeTimers({ now: paused });
    await recovery(reg);
    vi.useRealTimers();
    metrics = await collect();
    expect(state(metrics, 'notion')).toBe(0);
    expect(inState(metrics, 'notion', 'CLOSED')).toBe(1);
    const after = counts(metrics, 'notion');
    expect(after).toEqual(AFTER_RECOVERY);
    const stats = reg.getStats('notion')!;
    const { opened, ...outcomes } = after;
    expect(Object.values(outcomes).reduce((a, b) => a + b)).toBe(stats.totalRequests);
    expect(opened).toBe(stats.timesOpened);

    const duration = metrics.get('circuit_breaker.request.duration');
    expect(duration?.dataPointType).toBe(DataPointType.HISTOGRAM);
    const success = point<Histogram>(duration, { executor: 'notion', outcome: 'success' }).value;
    expect(success.count).toBe(5);
    expect(success.sum).toBeCloseTo(SUCCESS_SECONDS, 9);
    expect(success.min).toBe(0.01);
    expect(success.max).toBe(0.04);
    // The advised boundaries are used: 0.005, 0.01, 0.025, 0.05, ...
    expect(success.buckets.boundaries.slice(0, 4)).toEqual([0.005, 0.01, 0.025, 0.05]);
    expect(success.buckets.counts.slice(0, 4)).toEqual([0, 3, 0, 2]);
    const timeout = point<Histogram>(duration, { executor: 'notion', outcome: 'timeout' }).value;
    expect({ count: timeout.count, sum: timeout.sum }).toEqual({ count: 1, sum: 0.5 });
  });
});

describe('the instruments', () => {
  it('have OpenTelemetry names, kinds and units, and the attributes of the Prometheus entry point', async () => {
    const handle = registerOpenTelemetryMetrics({ meterProvider: provider, breakers: reg });
    expect(handle.names).toEqual([
      'circuit_breaker.state',
      'circuit_breaker.in_state',
      'circuit_breaker.requests',
      'circuit_breaker.request.duration',
      'circuit_breaker.opened',
    ]);
    await reg.execute('notion', () => 'ok');
    const metrics = await collect();
    const shape = [...metrics.values()].map((m) => ({
      name: m.descriptor.name,
      unit: m.descriptor.unit,
      type: m.dataPointType,
      monotonic: 'isMonotonic' in m ? m.isMonotonic : undefined,
    }));
    expect(shape).toEqual(
      expect.arrayContaining([
        { name: 'circuit_breaker.state', unit: '', type: DataPointType.GAUGE, monotonic: undefined },
        { name: 'circuit_breaker.in_state', unit: '', type: DataPointType.GAUGE, monotonic: undefined },
        { name: 'circuit_breaker.requests', unit: '{request}', type: DataPointType.SUM, monotonic: true },
        { name: 'circuit_breaker.request.duration', unit: 's', type: DataPointType.HISTOGRAM, monotonic: undefined },
        { name: 'circuit_breaker.opened', unit: '{transition}', type: DataPointType.SUM, monotonic: true },
      ]),
    );
    expect(shape).toHaveLength(5);
    // Every outcome of a known executor is there from the first collection, at zero.
    expect(counts(metrics, 'notion')).toEqual({ success: 1, failure: 0, timeout: 0, rejected: 0, fallback: 0, opened: 0 });
  });

  it('use the meter given, and a custom prefix', async () => {
    const meter = provider.getMeter(METER_NAME, '9.9.9');
    registerOpenTelemetryMetrics({ meter, breakers: reg, prefix: 'svc.breaker.' });
    reg.openCircuit('notion');
    const metrics = await collect();
    expect(point<number>(metrics.get('svc.breaker.state'), { executor: 'notion' }).value).toBe(2);
    expect(point<number>(metrics.get('svc.breaker.opened'), { executor: 'notion' }).value).toBe(1);
  });
});

describe('the default breakers', () => {
  afterEach(() => circuitBreaker.destroy());

  it('are the package module functions\' default registry', async () => {
    const handle = registerOpenTelemetryMetrics({ meterProvider: provider });
    circuitBreaker.configure('drive', { failureThreshold: 1, cacheFallback: false });
    await circuitBreaker.execute('drive', () => Promise.reject(new Error('down')));
    await circuitBreaker.execute('drive', () => 'not run');
    const metrics = await collect();
    expect(state(metrics, 'drive')).toBe(2);
    expect(counts(metrics, 'drive')).toEqual({ success: 0, failure: 1, timeout: 0, rejected: 1, fallback: 0, opened: 1 });
    handle.detach();
  });
});

describe('detach and attaching again', () => {
  function counting(target: CircuitBreakerRegistry) {
    const tally = { on: 0, off: 0 };
    const source: BreakerSource = {
      on: (event, listener) => {
        tally.on++;
        return target.on(event, listener);
      },
      off: (event, listener) => {
        tally.off++;
        target.off(event, listener);
      },
      getAllStats: () => target.getAllStats(),
    };
    return { source, tally };
  }

  it('detach() removes every listener and the gauges\' callback; counters stop counting', async () => {
    const { source, tally } = counting(reg);
    const handle = registerOpenTelemetryMetrics({ meterProvider: provider, breakers: source });
    await reg.execute('notion', () => 'ok');
    handle.detach();
    expect(handle.attached).toBe(false);
    expect(tally.off).toBe(tally.on);
    await reg.execute('notion', () => 'ok');
    const metrics = await collect();
    expect(metrics.get('circuit_breaker.state')?.dataPoints ?? []).toEqual([]);
    expect(point<number>(metrics.get('circuit_breaker.requests'), { executor: 'notion', outcome: 'success' }).value).toBe(1);
    handle.detach();
    expect(tally.off).toBe(tally.on);
  });

  it('attaching the same breakers twice replaces the first registration and counts once', async () => {
    const first = registerOpenTelemetryMetrics({ meterProvider: provider, breakers: reg });
    const second = registerOpenTelemetryMetrics({ meterProvider: provider, breakers: reg });
    expect([first.attached, second.attached]).toEqual([false, true]);
    await reg.execute('notion', () => 'ok');
    const metrics = await collect();
    expect(counts(metrics, 'notion').success).toBe(1);
    expect(metrics.get('circuit_breaker.state')?.dataPoints).toHaveLength(1); // one callback
  });

  it('after destroy() (which removes every listener), attaching again makes the instruments count again', async () => {
    registerOpenTelemetryMetrics({ meterProvider: provider, breakers: reg });
    reg.destroy();
    await reg.execute('notion', () => 'lost');
    registerOpenTelemetryMetrics({ meterProvider: provider, breakers: reg });
    await reg.execute('notion', () => 'ok');
    expect(counts(await collect(), 'notion').success).toBe(1);
  });

  it('attaches again after detach(), and the counters go on from where they were', async () => {
    registerOpenTelemetryMetrics({ meterProvider: provider, breakers: reg }).detach();
    const again = registerOpenTelemetryMetrics({ meterProvider: provider, breakers: reg });
    await reg.execute('notion', () => 'ok');
    await reg.execute('notion', () => 'ok');
    const metrics = await collect();
    expect(counts(metrics, 'notion').success).toBe(2);
    expect(state(metrics, 'notion')).toBe(0);
    again.detach();
  });

  it('other breakers on the same meter need another prefix', () => {
    const other = createRegistry();
    registerOpenTelemetryMetrics({ meterProvider: provider, breakers: reg });
    expect(() => registerOpenTelemetryMetrics({ meterProvider: provider, breakers: other })).toThrow(/other breakers/);
    expect(() => registerOpenTelemetryMetrics({ meterProvider: provider, breakers: other, prefix: 'b.' }).detach()).not.toThrow();
    other.destroy();
  });
});

describe('bad options', () => {
  it.each([
    ['not an object', 1],
    ['an unknown key', { meterprovider: {} }],
    ['both meter and meterProvider', { meter: {}, meterProvider: {} }],
    ['a meter that is not one', { meter: {} }],
    ['a meterProvider that is not one', { meterProvider: {} }],
    ['breakers without getAllStats', { breakers: { on() {}, off() {} } }],
    ['empty buckets', { buckets: [] }],
  ])('throws a TypeError for %s', (_name, options) => {
    expect(() => registerOpenTelemetryMetrics(options as never)).toThrow(TypeError);
  });
});
