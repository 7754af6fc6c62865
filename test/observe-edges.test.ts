/**
 * The observability entry points at their edges: the messages of their option errors, what
 * a meter of the caller's own sees and when, what one scrape reads, and the health handler's
 * answers that are not the report (405, 500, HEAD on a strict server).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Attributes, BatchObservableCallback, Meter } from '@opentelemetry/api';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRegistry, type CircuitBreakerRegistry } from '../src/index.js';
import { createHealthHandler, healthCheck } from '../src/observability/health.js';
import { registerOpenTelemetryMetrics } from '../src/observability/opentelemetry.js';
import { registerPrometheusMetrics, type BreakerSource } from '../src/observability/prometheus.js';
import { thrown } from './helpers.js';

let reg: CircuitBreakerRegistry;
const servers: http.Server[] = [];

beforeEach(() => {
  reg = createRegistry();
});

afterEach(async () => {
  reg.destroy();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** The TypeError `fn` throws, checked to be one, and its message. */
function typeErrorOf(fn: () => unknown): string {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(TypeError);
  return error.message;
}

/**
 * A meter of the caller's own that writes down every value handed to its instruments, as
 * `instrument executor outcome value`, the moment it is handed over. It never collects, so
 * whatever it holds came without a collection asking for it.
 */
function recordingMeter() {
  const log: string[] = [];
  const callbacks = new Set<BatchObservableCallback>();
  const line = (instrument: string, value: number, attributes: Attributes = {}) =>
    log.push([instrument, attributes.executor, attributes.outcome, value].filter((x) => x !== undefined).join(' '));
  const meter = {
    createObservableGauge: (name: string) => ({ name }),
    createCounter: (name: string) => ({ add: (value: number, attributes?: Attributes) => line(name, value, attributes) }),
    createHistogram: (name: string) => ({
      record: (value: number, attributes?: Attributes) => line(name, value, attributes),
    }),
    addBatchObservableCallback: (callback: BatchObservableCallback) => callbacks.add(callback),
    removeBatchObservableCallback: (callback: BatchObservableCallback) => callbacks.delete(callback),
  };
  return { meter: meter as unknown as Meter, log };
}

/** Starts `listener` on 127.0.0.1 at a free port and returns its base URL. */
async function serve(listener: http.RequestListener, options: http.ServerOptions = {}): Promise<string> {
  const server = http.createServer(options, listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('option errors name the function and say what it was given', () => {
  it('options that are not an object: a string, null, an array', () => {
    expect(typeErrorOf(() => healthCheck('reg' as never))).toBe('healthCheck: options must be an object, got string');
    expect(typeErrorOf(() => createHealthHandler(null as never))).toBe(
      'createHealthHandler: options must be an object, got null',
    );
    expect(typeErrorOf(() => registerPrometheusMetrics([] as never))).toBe(
      'registerPrometheusMetrics: options must be an object, got an array',
    );
    expect(typeErrorOf(() => registerOpenTelemetryMetrics(null as never))).toBe(
      'registerOpenTelemetryMetrics: options must be an object, got null',
    );
  });

  it('an unknown option is named, with the list of the known ones', () => {
    expect(typeErrorOf(() => registerPrometheusMetrics({ registery: new Registry() } as never))).toBe(
      'registerPrometheusMetrics: unknown option "registery" (options: registry, breakers, prefix, buckets)',
    );
    expect(typeErrorOf(() => createHealthHandler({ registry: reg } as never))).toBe(
      'createHealthHandler: unknown option "registry" (options: breakers)',
    );
  });

  it('breakers that are not a registry: the methods needed, and what was given', () => {
    const prom = new Registry();
    expect(typeErrorOf(() => registerPrometheusMetrics({ registry: prom, breakers: null as never }))).toBe(
      'registerPrometheusMetrics: breakers must be a circuit breaker registry (an object with on, off, getAllStats), got null',
    );
    expect(typeErrorOf(() => registerPrometheusMetrics({ registry: prom, breakers: 'reg' as never }))).toBe(
      'registerPrometheusMetrics: breakers must be a circuit breaker registry (an object with on, off, getAllStats), got string',
    );
    expect(typeErrorOf(() => healthCheck({ breakers: [] as never }))).toBe(
      'healthCheck: breakers must be a circuit breaker registry (an object with getAllStats), got an array',
    );
    expect(prom.getMetricsAsArray()).toEqual([]);
  });

  it('breakers must be an object: a function is refused even when it carries the methods', () => {
    const callable = Object.assign(() => reg.getAllStats(), { getAllStats: () => reg.getAllStats() });
    expect(typeErrorOf(() => healthCheck({ breakers: callable }))).toBe(
      'healthCheck: breakers must be a circuit breaker registry (an object with getAllStats), got function',
    );
  });

  it('a prefix that is not a string', () => {
    expect(typeErrorOf(() => registerPrometheusMetrics({ registry: new Registry(), breakers: reg, prefix: 1 as never }))).toBe(
      'registerPrometheusMetrics: prefix must be a string, got number',
    );
  });
});

describe('histogram buckets: positive finite numbers only', () => {
  const message = 'registerPrometheusMetrics: buckets must be a non-empty array of positive finite numbers (seconds)';

  it.each([
    ['a bound of 0', [0, 1]],
    ['an infinite bound (prom-client adds +Inf itself)', [1, Infinity]],
    ['a number written as a string', ['0.5', 1]],
    ['no bound at all', []],
  ])('refuses %s, registering nothing', (_name, buckets) => {
    const prom = new Registry();
    expect(typeErrorOf(() => registerPrometheusMetrics({ registry: prom, breakers: reg, buckets: buckets as never }))).toBe(
      message,
    );
    expect(prom.getMetricsAsArray()).toEqual([]);
  });

  it('takes the smallest positive bounds and a fraction of a millisecond', async () => {
    const prom = new Registry();
    registerPrometheusMetrics({ registry: prom, breakers: reg, buckets: [Number.MIN_VALUE, 0.0001] });
    await reg.execute('svc', () => 'ok');
    const bounds = [...(await prom.metrics()).matchAll(/_bucket\{le="([^"]+)",executor="svc",outcome="success"\}/g)].map((m) => m[1]);
    expect(bounds).toEqual(['5e-324', '0.0001', '+Inf']);
  });
});

describe('a meter of the caller\'s own sees each outcome once, without waiting for a collection', () => {
  /** The values handed to the requests counter, in order. */
  const requests = (log: string[]) => log.filter((l) => l.startsWith('circuit_breaker.requests '));

  it('a refused call with no cached value is counted as rejected by the end of its microtask, each time', async () => {
    const { meter, log } = recordingMeter();
    registerOpenTelemetryMetrics({ meter, breakers: reg });
    reg.openCircuit('svc');
    const first = await reg.execute('svc', () => 'not run');
    expect(first.success).toBe(false);
    expect(requests(log)).toEqual(['circuit_breaker.requests svc rejected 1']);
    // A second refusal, in a later tick, is counted the same way.
    await reg.execute('svc', () => 'not run');
    expect(requests(log)).toEqual(['circuit_breaker.requests svc rejected 1', 'circuit_breaker.requests svc rejected 1']);
  });

  it('refusals made together are counted together', async () => {
    const { meter, log } = recordingMeter();
    registerOpenTelemetryMetrics({ meter, breakers: reg });
    reg.openCircuit('svc');
    await Promise.all([1, 2, 3].map(() => reg.execute('svc', () => 'not run')));
    expect(requests(log)).toEqual(['circuit_breaker.requests svc rejected 3']);
  });

  it('refusals that come in the same round reach the meter as one value, even from callers that retry on refusal', async () => {
    const { meter, log } = recordingMeter();
    registerOpenTelemetryMetrics({ meter, breakers: reg });
    reg.openCircuit('svc');
    const call = () => reg.execute('svc', () => 'not run');
    const retryOnce = () => call().then((result) => (result.success ? result : call()));
    // The first refusals come in one round, the retries in the next: one value per round.
    await Promise.all([retryOnce(), retryOnce()]);
    expect(requests(log)).toEqual(['circuit_breaker.requests svc rejected 2', 'circuit_breaker.requests svc rejected 2']);
  });

  it('a refused call the cache answers is counted as fallback only: no rejected value at all, not even 0', async () => {
    const { meter, log } = recordingMeter();
    const handle = registerOpenTelemetryMetrics({ meter, breakers: reg });
    reg.configure('svc', { failureThreshold: 1 });
    await reg.execute('svc', () => 'cached');
    await reg.execute('svc', () => Promise.reject(new Error('down')));
    const answered = await reg.execute('svc', () => 'not run');
    expect(answered).toMatchObject({ success: true, data: 'cached', fromCache: true });
    handle.detach(); // reports whatever is still held
    expect(requests(log)).toEqual([
      'circuit_breaker.requests svc success 1',
      'circuit_breaker.requests svc failure 1',
      'circuit_breaker.requests svc fallback 1',
    ]);
  });

  it.each([
    ['Infinity', Infinity],
    ['NaN', NaN],
  ])('a TimeoutError whose timeout is %s counts as a timeout with no duration', async (_name, timeout) => {
    const { meter, log } = recordingMeter();
    registerOpenTelemetryMetrics({ meter, breakers: reg });
    const error = Object.assign(new Error('deadline passed'), { name: 'TimeoutError', timeout });
    await reg.execute('svc', () => Promise.reject(error));
    expect(log).toEqual(['circuit_breaker.requests svc timeout 1']);
  });

  it('a TimeoutError with a finite timeout (ms) gets it as its duration, in seconds', async () => {
    const { meter, log } = recordingMeter();
    registerOpenTelemetryMetrics({ meter, breakers: reg });
    const error = Object.assign(new Error('deadline passed'), { name: 'TimeoutError', timeout: 250 });
    await reg.execute('svc', () => Promise.reject(error));
    expect(log).toEqual(['circuit_breaker.requests svc timeout 1', 'circuit_breaker.request.duration svc timeout 0.25']);
  });
});

describe('a Prometheus scrape', () => {
  it('reads the breakers\' statistics once per scrape, and afresh at the next one', async () => {
    let reads = 0;
    const source: BreakerSource = {
      on: (event, listener) => reg.on(event, listener),
      off: (event, listener) => reg.off(event, listener),
      getAllStats: () => {
        reads++;
        return reg.getAllStats();
      },
    };
    const prom = new Registry();
    registerPrometheusMetrics({ registry: prom, breakers: source });
    reg.configure('svc', {});
    expect(await prom.metrics()).toContain('circuit_breaker_state{executor="svc"} 0');
    expect(reads).toBe(1);
    reg.openCircuit('svc');
    expect(await prom.metrics()).toContain('circuit_breaker_state{executor="svc"} 2');
    expect(reads).toBe(2);
  });
});

describe('the health handler\'s other answers, on a plain node:http server', () => {
  it('405 for a method it does not serve: plain text, saying so', async () => {
    const base = await serve(createHealthHandler({ breakers: reg }));
    const response = await fetch(base, { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await response.text()).toBe('Method Not Allowed\n');
  });

  it('500 when the breakers cannot be read: plain text, with no detail of the error', async () => {
    const broken = {
      getAllStats: (): never => {
        throw new Error('secret detail');
      },
    };
    const response = await fetch(await serve(createHealthHandler({ breakers: broken })));
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await response.text()).toBe('Internal Server Error\n');
  });

  it('HEAD writes no body, so a server that refuses bodies on HEAD (rejectNonStandardBodyWrites) answers it', async () => {
    const handler = createHealthHandler({ breakers: reg });
    const errors: unknown[] = [];
    const base = await serve(
      (req, res) => {
        try {
          handler(req, res);
        } catch (error) {
          // The server would otherwise crash: keep the error for the test, and end the response.
          errors.push(error);
          if (!res.writableEnded) res.end();
        }
      },
      { rejectNonStandardBodyWrites: true },
    );
    reg.openCircuit('notion');
    const get = await fetch(base);
    const body = await get.text();
    const head = await fetch(base, { method: 'HEAD' });
    expect(errors).toEqual([]);
    expect(head.status).toBe(503);
    expect(head.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    expect(await head.text()).toBe('');
  });
});
