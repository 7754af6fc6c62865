/**
 * executor-circuit-breaker/health: the report, and the handler served by a real Express 5
 * app and a plain node:http server on 127.0.0.1, asked with real HTTP requests.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as circuitBreaker from '../src/index.js';
import { createRegistry, type CircuitBreakerRegistry } from '../src/index.js';
import { createHealthHandler, healthCheck } from '../src/observability/health.js';

let reg: CircuitBreakerRegistry;
/**
 * The registry's clock, moved by hand: durations and the reset timeout without fake timers
 * (which would also take over the timers of fetch's connection pool).
 */
const clock = { t: Date.parse('2030-01-01T00:00:00Z'), now: () => clock.t };
const servers: http.Server[] = [];

beforeEach(() => {
  reg = createRegistry({ clock });
});

afterEach(async () => {
  reg.destroy();
  circuitBreaker.destroy();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** Starts `listener` on 127.0.0.1 at a free port and returns its base URL. */
async function serve(listener: http.RequestListener): Promise<string> {
  const server = http.createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * notion: 7 calls of 20 ms, then 3 failures that open it, then 2 rejected calls -> OPEN.
 * slack: 3 calls that return at once -> CLOSED.
 */
async function degrade(): Promise<void> {
  reg.configure('notion', { failureThreshold: 3, resetTimeout: 30_000 });
  const page = () => {
    clock.t += 20; // the call takes 20 ms
    return 'page';
  };
  for (let i = 0; i < 7; i++) await reg.execute('notion', page);
  for (let i = 0; i < 3; i++) await reg.execute('notion', () => Promise.reject(new Error('HTTP 502')));
  for (let i = 0; i < 2; i++) await reg.execute('notion', () => 'not run', { cacheKey: 'uncached' });
  for (let i = 0; i < 3; i++) await reg.execute('slack', () => 'ok');
}

const NOTION_OPEN = {
  state: 'OPEN',
  healthy: false,
  successRate: '58.3%', // 7 of 12
  totalRequests: 12,
  rejectedRequests: 2,
  avgResponseTime: '14ms', // (7 * 20 + 3 * 0) / 10 calls that ran
};
const SLACK_OK = {
  state: 'CLOSED',
  healthy: true,
  successRate: '100.0%',
  totalRequests: 3,
  rejectedRequests: 0,
  avgResponseTime: '0ms',
};

describe('healthCheck()', () => {
  it('is healthy (200) with no circuits, and with circuits that have seen no call', () => {
    expect(healthCheck({ breakers: reg })).toEqual({ statusCode: 200, body: { overall: 'healthy', circuits: {} } });
    reg.configure('gmail', {});
    expect(healthCheck({ breakers: reg })).toEqual({
      statusCode: 200,
      body: {
        overall: 'healthy',
        circuits: {
          gmail: { state: 'CLOSED', healthy: true, successRate: '100.0%', totalRequests: 0, rejectedRequests: 0, avgResponseTime: '0ms' },
        },
      },
    });
  });

  it('is degraded (503) while a circuit is OPEN, with the guide\'s fields per circuit', async () => {
    await degrade();
    expect(healthCheck({ breakers: reg })).toEqual({
      statusCode: 503,
      body: { overall: 'degraded', circuits: { notion: NOTION_OPEN, slack: SLACK_OK } },
    });
  });

  it('is healthy again once the circuit is HALF_OPEN (the circuit itself is not healthy yet), and when it closes', async () => {
    await degrade();
    clock.t += 30_000;
    const halfOpen = healthCheck({ breakers: reg });
    expect(halfOpen.statusCode).toBe(200);
    expect(halfOpen.body.overall).toBe('healthy');
    expect(halfOpen.body.circuits.notion).toMatchObject({ state: 'HALF_OPEN', healthy: false });
    reg.closeCircuit('notion');
    expect(healthCheck({ breakers: reg }).body.circuits.notion).toMatchObject({ state: 'CLOSED', healthy: true });
  });

  it('reads the module functions\' default registry when given no breakers', () => {
    circuitBreaker.openCircuit('trello');
    expect(healthCheck()).toEqual({
      statusCode: 503,
      body: {
        overall: 'degraded',
        circuits: {
          trello: { state: 'OPEN', healthy: false, successRate: '100.0%', totalRequests: 0, rejectedRequests: 0, avgResponseTime: '0ms' },
        },
      },
    });
  });

  it.each([
    ['not an object', 'reg'],
    ['an unknown key', { registry: {} }],
    ['breakers without getAllStats', { breakers: {} }],
  ])('throws a TypeError for %s', (_name, options) => {
    expect(() => healthCheck(options as never)).toThrow(TypeError);
    expect(() => createHealthHandler(options as never)).toThrow(TypeError);
  });
});

describe('createHealthHandler() in an Express 5 app', () => {
  async function app(): Promise<string> {
    const server = express();
    server.get('/health/circuit-breakers', createHealthHandler({ breakers: reg }));
    server.use('/mounted', createHealthHandler({ breakers: reg }));
    return serve(server);
  }

  it('answers 200 with the JSON report while healthy, and 503 once a circuit opens', async () => {
    const base = await app();
    await reg.execute('slack', () => 'ok');
    let response = await fetch(`${base}/health/circuit-breakers`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({ overall: 'healthy', circuits: { slack: { ...SLACK_OK, totalRequests: 1 } } });

    await degrade();
    response = await fetch(`${base}/health/circuit-breakers`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      overall: 'degraded',
      circuits: { slack: { ...SLACK_OK, totalRequests: 4 }, notion: NOTION_OPEN },
    });
  });

  it('hands an error reading the breakers to Express\'s error handling', async () => {
    const server = express();
    const broken = { getAllStats: (): never => { throw new Error('broken'); } };
    server.get('/health', createHealthHandler({ breakers: broken }));
    server.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ handled: error.message });
    });
    const response = await fetch(`${await serve(server)}/health`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ handled: 'broken' });
  });

  it('works mounted with app.use; HEAD gets the status without a body; other methods fall through to Express (404)', async () => {
    const base = await app();
    reg.openCircuit('notion');
    const get = await fetch(`${base}/mounted`);
    expect(get.status).toBe(503);
    expect(((await get.json()) as { overall: string }).overall).toBe('degraded');
    const head = await fetch(`${base}/mounted`, { method: 'HEAD' });
    expect(head.status).toBe(503);
    expect(await head.text()).toBe('');
    const post = await fetch(`${base}/mounted`, { method: 'POST' });
    expect(post.status).toBe(404);
    await post.body?.cancel();
  });
});

describe('createHealthHandler() as a plain node:http handler', () => {
  it('answers every path, and 405 with Allow for methods other than GET and HEAD', async () => {
    const base = await serve(createHealthHandler({ breakers: reg }));
    reg.configure('notion', {});
    const response = await fetch(`${base}/anything`);
    expect(response.status).toBe(200);
    const body = await response.text();
    expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    expect(JSON.parse(body).circuits.notion.state).toBe('CLOSED');

    const post = await fetch(base, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    await post.body?.cancel();
  });

  it('answers 500 instead of crashing when the breakers cannot be read', async () => {
    const base = await serve(
      createHealthHandler({
        breakers: {
          getAllStats: () => {
            throw new Error('broken');
          },
        },
      }),
    );
    const response = await fetch(base);
    expect(response.status).toBe(500);
    await response.body?.cancel();
  });
});
