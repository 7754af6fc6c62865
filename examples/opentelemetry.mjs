// The circuit breakers' metrics through OpenTelemetry: the SDK's MeterProvider, fed by
// `executor-circuit-breaker/opentelemetry`, while Slack (the real client, against the local
// fake) has an outage and recovers.
//
//   node examples/opentelemetry.mjs        (after `npm run build`)
//
// A real deployment would give the MeterProvider an OTLP or Prometheus exporter; here an
// in-memory exporter lets the script print what would be exported.

import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import * as circuitBreaker from 'executor-circuit-breaker';
import { registerOpenTelemetryMetrics } from 'executor-circuit-breaker/opentelemetry';
import { check, createSlackClient, step, waitForHalfOpen } from './clients.mjs';
import { startFlakyService } from './flaky-service.mjs';

const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
const provider = new MeterProvider({ readers: [reader] });
metrics.setGlobalMeterProvider(provider); // set up the SDK first...
const instruments = registerOpenTelemetryMetrics(); // ...then the instruments find it

const service = await startFlakyService();
const slackClient = createSlackClient(service);
circuitBreaker.configure('slack', { failureThreshold: 3, resetTimeout: 1_000, cacheFallback: false });
const post = (text) => circuitBreaker.execute('slack', () => slackClient.chat.postMessage({ channel: '#ops', text }));

/** Collects now and prints each data point of this package's instruments. */
async function collect() {
  exporter.reset();
  await reader.forceFlush();
  const points = {};
  for (const scope of exporter.getMetrics().flatMap((r) => r.scopeMetrics)) {
    for (const metric of scope.metrics) {
      for (const point of metric.dataPoints) {
        const attributes = Object.entries(point.attributes).map(([k, v]) => `${k}=${v}`).join(',');
        const value = typeof point.value === 'number' ? point.value : `count=${point.value.count} sum=${point.value.sum.toFixed(3)}s`;
        const key = `${metric.descriptor.name}{${attributes}}`;
        points[key] = value;
        if (point.value !== 0) console.log(`  ${key} ${value}`);
      }
    }
  }
  return points;
}

step('Slack up, then down: 3 failures open the circuit, 2 calls are rejected');
await post('one');
service.setMode('down', 'slack');
for (let i = 0; i < 5; i++) await post(`alert ${i}`);
let points = await collect();
check(points['circuit_breaker.state{executor=slack}'] === 2, 'circuit_breaker.state is 2 (OPEN)');
check(points['circuit_breaker.requests{executor=slack,outcome=failure}'] === 3, '3 failures');
check(points['circuit_breaker.requests{executor=slack,outcome=rejected}'] === 2, '2 rejected');

step('Slack recovers: two probes close the circuit');
service.setMode('up', 'slack');
await waitForHalfOpen(circuitBreaker, 'slack');
await post('probe 1');
await post('probe 2');
points = await collect();
check(points['circuit_breaker.state{executor=slack}'] === 0, 'circuit_breaker.state is 0 (CLOSED)');
check(points['circuit_breaker.requests{executor=slack,outcome=success}'] === 3, '3 successes in all');
check(points['circuit_breaker.opened{executor=slack}'] === 1, 'opened once');

instruments.detach();
circuitBreaker.destroy();
await provider.shutdown();
await service.close();
console.log('\nopentelemetry: ok');
