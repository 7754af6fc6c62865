/**
 * executor-circuit-breaker/prometheus: the metrics a Prometheus server would scrape, read
 * from prom-client's real text exposition (served over HTTP on 127.0.0.1 for the outage).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as circuitBreaker from '../src/index.js';
import { createRegistry, type CircuitBreakerRegistry } from '../src/index.js';
import { registerPrometheusMetrics, type BreakerSource } from '../src/observability/prometheus.js';
import { AFTER_OUTAGE, AFTER_RECOVERY, SUCCESS_SECONDS, outage, recovery } from './outage-scenario.js';

/** One sample line of the exposition: `name{a="1",b="2"} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample named `name` whose labels include `labels`. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return found[0]!.value;
}

function requests(samples: Sample[], executor: string) {
  const count = (outcome: string) => value(samples, 'circuit_breaker_requests_total', { executor, outcome });
  return {
    success: count('success'),
    failure: count('failure'),
    timeout: count('timeout'),
    rejected: count('rejected'),
    fallback: count('fallback'),
    opened: value(samples, 'circuit_breaker_opened_total', { executor }),
  };
}

/** Wraps a registry to count the listeners added and removed through it. */
function counting(reg: CircuitBreakerRegistry) {
  const tally = { on: 0, off: 0 };
  const source: BreakerSource = {
    on: (event, listener) => {
      tally.on++;
      return reg.on(event, listener);
    },
    off: (event, listener) => {
      tally.off++;
      reg.off(event, listener);
    },
    getAllStats: () => reg.getAllStats(),
  };
  return { source, tally };
}

let reg: CircuitBreakerRegistry;
let prom: Registry;

beforeEach(() => {
  reg = createRegistry();
  prom = new Registry();
});

afterEach(() => {
  reg.destroy();
  vi.useRealTimers();
});

describe('a scripted outage, scraped over HTTP', () => {
  it('shows the opening, the rejections and the recovery with the right counts', async () => {
    registerPrometheusMetrics({ registry: prom, breakers: reg });
    const server = http.createServer(async (_req, res) => {
      res.writeHead(200, { 'content-type': prom.contentType }).end(await prom.metrics());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    // node:http rather than fetch: the scenario fakes the timers, and fetch's pool keeps some.
    const scrape = () =>
      new Promise<Sample[]>((resolve, reject) => {
        http.get(url, { agent: false }, (res) => {
          expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve(parse(text)));
        }).on('error', reject);
      });

    try {
      vi.useFakeTimers();
      await outage(reg);
      const paused = Date.now(); // fake time, picked up again after the scrape
      vi.useRealTimers();
      let samples = await scrape();
      expect(value(samples, 'circuit_breaker_state', { executor: 'notion' })).toBe(2);
      expect(value(samples, 'circuit_breaker_in_state', { executor: 'notion', state: 'OPEN' })).toBe(1);
      expect(value(samples, 'circuit_breaker_in_state', { executor: 'notion', state: 'CLOSED' })).toBe(0);
      expect(value(samples, 'circuit_breaker_in_state', { executor: 'notion', state: 'HALF_OPEN' })).toBe(0);
      expect(requests(samples, 'notion')).toEqual(AFTER_OUTAGE);
      expect(value(samples, 'circuit_breaker_state', { executor: 'slack' })).toBe(0);
      expect(requests(samples, 'slack')).toEqual({ success: 1, failure: 0, timeout: 0, rejected: 0, fallback: 0, opened: 0 });

      vi.useFakeTimers({ now: paused });
      await recovery(reg);
      vi.useRealTimers();
      samples = await scrape();
      expect(value(samples, 'circuit_breaker_state', { executor: 'notion' })).toBe(0);
      expect(value(samples, 'circuit_breaker_in_state', { executor: 'notion', state: 'CLOSED' })).toBe(1);
      expect(value(samples, 'circuit_breaker_in_state', { executor: 'notion', state: 'OPEN' })).toBe(0);
      const counts = requests(samples, 'notion');
      expect(counts).toEqual(AFTER_RECOVERY);

      // The outcomes are disjoint and add up to the breaker's own statistics.
      const stats = reg.getStats('notion')!;
      const { opened, ...outcomes } = counts;
      expect(Object.values(outcomes).reduce((a, b) => a + b)).toBe(stats.totalRequests);
      expect(counts.rejected + counts.fallback).toBe(stats.rejectedRequests);
      expect(opened).toBe(stats.timesOpened);

      // Durations, in seconds: the successes (40, 40, 10, 10, 10 ms) and the timeout (500 ms).
      const hist = (suffix: string, labels: Record<string, string>) =>
        value(samples, `circuit_breaker_request_duration_seconds_${suffix}`, { executor: 'notion', ...labels });
      expect(hist('count', { outcome: 'success' })).toBe(5);
      expect(hist('sum', { outcome: 'success' })).toBeCloseTo(SUCCESS_SECONDS, 9);
      expect(hist('bucket', { outcome: 'success', le: '0.005' })).toBe(0);
      expect(hist('bucket', { outcome: 'success', le: '0.01' })).toBe(3);
      expect(hist('bucket', { outcome: 'success', le: '0.05' })).toBe(5);
      expect(hist('count', { outcome: 'timeout' })).toBe(1);
      expect(hist('sum', { outcome: 'timeout' })).toBe(0.5);
      expect(hist('bucket', { outcome: 'timeout', le: '0.25' })).toBe(0);
      expect(hist('bucket', { outcome: 'timeout', le: '0.5' })).toBe(1);
      // The call that returned at once took 0 s.
      expect(value(samples, 'circuit_breaker_request_duration_seconds_bucket', { executor: 'slack', outcome: 'success', le: '0.005' })).toBe(1);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('the exposition', () => {
  it('declares each metric with its type and help, following Prometheus naming', async () => {
    const metrics = registerPrometheusMetrics({ registry: prom, breakers: reg });
    await reg.execute('notion', () => 'ok');
    const text = await prom.metrics();
    expect(metrics.names).toEqual([
      'circuit_breaker_state',
      'circuit_breaker_in_state',
      'circuit_breaker_requests_total',
      'circuit_breaker_request_duration_seconds',
      'circuit_breaker_opened_total',
    ]);
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(types).toEqual([
      'circuit_breaker_state gauge',
      'circuit_breaker_in_state gauge',
      'circuit_breaker_requests_total counter',
      'circuit_breaker_request_duration_seconds histogram',
      'circuit_breaker_opened_total counter',
    ]);
    expect(text).toMatch(/^# HELP circuit_breaker_state .*0 = CLOSED, 1 = HALF_OPEN, 2 = OPEN/m);
  });

  it('shows an executor with every series at zero as soon as it exists, before any call', async () => {
    registerPrometheusMetrics({ registry: prom, breakers: reg });
    reg.configure('gmail', { failureThreshold: 2 });
    const samples = parse(await prom.metrics());
    expect(requests(samples, 'gmail')).toEqual({ success: 0, failure: 0, timeout: 0, rejected: 0, fallback: 0, opened: 0 });
    expect(value(samples, 'circuit_breaker_state', { executor: 'gmail' })).toBe(0);
    expect(value(samples, 'circuit_breaker_request_duration_seconds_count', { executor: 'gmail', outcome: 'success' })).toBe(0);
  });

  it('counts a manual openCircuit as an opening, and drops the gauges of executors that are gone', async () => {
    registerPrometheusMetrics({ registry: prom, breakers: reg });
    reg.openCircuit('trello');
    await reg.execute('trello', () => 'not run');
    let samples = parse(await prom.metrics());
    expect(value(samples, 'circuit_breaker_state', { executor: 'trello' })).toBe(2);
    expect(requests(samples, 'trello')).toMatchObject({ rejected: 1, opened: 1 });

    reg.destroy();
    samples = parse(await prom.metrics());
    expect(samples.filter((s) => s.name === 'circuit_breaker_state')).toEqual([]);
    expect(samples.filter((s) => s.name === 'circuit_breaker_in_state')).toEqual([]);
  });

  it('uses the buckets given, in seconds', async () => {
    registerPrometheusMetrics({ registry: prom, breakers: reg, buckets: [0.1, 1] });
    await reg.execute('notion', () => 'ok');
    const les = parse(await prom.metrics())
      .filter((s) => s.name === 'circuit_breaker_request_duration_seconds_bucket' && s.labels.outcome === 'success')
      .map((s) => `${s.labels.le}:${s.value}`);
    expect(les).toEqual(['0.1:1', '1:1', '+Inf:1']);
  });

  it('escapes executor names in label values', async () => {
    registerPrometheusMetrics({ registry: prom, breakers: reg });
    await reg.execute('say "hi"\\', () => 'ok');
    expect(await prom.metrics()).toContain('circuit_breaker_state{executor="say \\"hi\\"\\\\"} 0');
  });
});

describe('outcomes', () => {
  it('tells rejections answered from the cache from the others when several land in one tick', async () => {
    registerPrometheusMetrics({ registry: prom, breakers: reg });
    reg.configure('notion', { failureThreshold: 1 });
    await reg.execute('notion', () => 'cached');
    await reg.execute('notion', () => Promise.reject(new Error('down')));
    const results = await Promise.all([
      reg.execute('notion', () => 'not run'),
      reg.execute('notion', () => 'not run', { cacheKey: 'uncached' }),
      reg.execute('notion', () => 'not run'),
      reg.execute('notion', () => 'not run', { cacheKey: 'uncached' }),
      reg.execute('notion', () => 'not run'),
    ]);
    expect(results.map((r) => r.fromCache)).toEqual([true, false, true, false, true]);
    expect(requests(parse(await prom.metrics()), 'notion')).toEqual({
      success: 1, failure: 1, timeout: 0, rejected: 2, fallback: 3, opened: 1,
    });
  });

  it('counts a caller\'s own timeout (a TimeoutError without a limit) as a timeout, with no duration', async () => {
    registerPrometheusMetrics({ registry: prom, breakers: reg });
    const signal = AbortSignal.abort(new DOMException('The operation timed out', 'TimeoutError'));
    const result = await reg.execute('notion', () => 'not run', { signal });
    expect(result.error?.name).toBe('TimeoutError');
    const samples = parse(await prom.metrics());
    expect(requests(samples, 'notion')).toMatchObject({ timeout: 1, failure: 0 });
    expect(value(samples, 'circuit_breaker_request_duration_seconds_count', { executor: 'notion', outcome: 'timeout' })).toBe(0);
  });
});

describe('the default breakers', () => {
  afterEach(() => circuitBreaker.destroy());

  it('are the package module functions\' default registry', async () => {
    const metrics = registerPrometheusMetrics({ registry: prom });
    circuitBreaker.configure('drive', { failureThreshold: 1 });
    await circuitBreaker.execute('drive', () => Promise.reject(new Error('down')));
    await circuitBreaker.execute('drive', () => 'not run');
    const samples = parse(await prom.metrics());
    expect(value(samples, 'circuit_breaker_state', { executor: 'drive' })).toBe(2);
    expect(requests(samples, 'drive')).toEqual({ success: 0, failure: 1, timeout: 0, rejected: 1, fallback: 0, opened: 1 });
    metrics.detach();
  });
});

describe('detach and attaching again', () => {
  it('detach() removes the metrics and every listener it added', async () => {
    const { source, tally } = counting(reg);
    const metrics = registerPrometheusMetrics({ registry: prom, breakers: source });
    expect(tally.on).toBeGreaterThan(0);
    expect(metrics.attached).toBe(true);
    metrics.detach();
    expect(metrics.attached).toBe(false);
    expect(tally.off).toBe(tally.on);
    expect((await prom.metrics()).trim()).toBe('');
    metrics.detach(); // a second time: nothing
    expect(tally.off).toBe(tally.on);
  });

  it('attaching the same breakers twice replaces the first registration: no duplicate error, counted once', async () => {
    const { source, tally } = counting(reg);
    const first = registerPrometheusMetrics({ registry: prom, breakers: source });
    const second = registerPrometheusMetrics({ registry: prom, breakers: source });
    expect(first.attached).toBe(false);
    expect(second.attached).toBe(true);
    expect(tally.on - tally.off).toBe(5); // one set of listeners
    await reg.execute('notion', () => 'ok');
    expect(requests(parse(await prom.metrics()), 'notion').success).toBe(1);
    first.detach(); // already replaced: changes nothing
    expect(second.attached).toBe(true);
    expect(prom.getMetricsAsArray()).toHaveLength(5);
  });

  it('after destroy() (which removes every listener), attaching again makes the metrics count again', async () => {
    registerPrometheusMetrics({ registry: prom, breakers: reg });
    reg.destroy();
    await reg.execute('notion', () => 'lost');
    registerPrometheusMetrics({ registry: prom, breakers: reg });
    await reg.execute('notion', () => 'ok');
    await reg.execute('notion', () => 'ok');
    expect(requests(parse(await prom.metrics()), 'notion').success).toBe(2);
  });

  it('attaches again after detach() without a duplicate-registration error, counting from zero', async () => {
    registerPrometheusMetrics({ registry: prom, breakers: reg }).detach();
    await reg.execute('notion', () => 'ok'); // detached: not counted
    const again = registerPrometheusMetrics({ registry: prom, breakers: reg });
    await reg.execute('notion', () => 'ok');
    expect(requests(parse(await prom.metrics()), 'notion').success).toBe(1);
    again.detach();
  });

  it('attaches again after the registry was cleared behind its back', async () => {
    registerPrometheusMetrics({ registry: prom, breakers: reg });
    prom.clear();
    registerPrometheusMetrics({ registry: prom, breakers: reg });
    await reg.execute('notion', () => 'ok');
    expect(requests(parse(await prom.metrics()), 'notion').success).toBe(1);
  });

  it('other breakers need another prefix; with one, both sets are scraped', async () => {
    const other = createRegistry();
    registerPrometheusMetrics({ registry: prom, breakers: reg });
    expect(() => registerPrometheusMetrics({ registry: prom, breakers: other })).toThrow(/already registered for other breakers/);
    const tenant = registerPrometheusMetrics({ registry: prom, breakers: other, prefix: 'tenant_b_circuit_breaker_' });
    await other.execute('notion', () => 'ok');
    const samples = parse(await prom.metrics());
    expect(value(samples, 'tenant_b_circuit_breaker_requests_total', { executor: 'notion', outcome: 'success' })).toBe(1);
    expect(samples.some((s) => s.name === 'circuit_breaker_requests_total' && s.labels.executor === 'notion')).toBe(false);
    tenant.detach();
    other.destroy();
  });

  it('detach() leaves alone a metric that replaced one of its own', async () => {
    const metrics = registerPrometheusMetrics({ registry: prom, breakers: reg });
    prom.removeSingleMetric('circuit_breaker_opened_total');
    new Counter({ name: 'circuit_breaker_opened_total', help: 'theirs', registers: [prom] });
    metrics.detach();
    expect(prom.getMetricsAsArray().map((m) => m.help)).toEqual(['theirs']);
  });

  it('registers nothing when a name is taken by a metric of someone else', async () => {
    new Counter({ name: 'circuit_breaker_opened_total', help: 'theirs', registers: [prom] });
    const { source, tally } = counting(reg);
    expect(() => registerPrometheusMetrics({ registry: prom, breakers: source })).toThrow(/circuit_breaker_opened_total/);
    expect(tally.on).toBe(0);
    expect(prom.getMetricsAsArray().map((m) => m.name)).toEqual(['circuit_breaker_opened_total']);
  });
});

describe('bad options', () => {
  it.each([
    ['not an object', 'metrics'],
    ['an unknown key', { registery: new Registry() }],
    ['a registry that is not one', { registry: {} }],
    ['breakers without on/off', { breakers: { getAllStats: () => new Map() } }],
    ['null breakers', { breakers: null }],
    ['a prefix that is not a string', { prefix: 1 }],
    ['empty buckets', { buckets: [] }],
    ['negative buckets', { buckets: [-1, 1] }],
  ])('throws a TypeError for %s', (_name, options) => {
    expect(() => registerPrometheusMetrics(options as never)).toThrow(TypeError);
  });
});
