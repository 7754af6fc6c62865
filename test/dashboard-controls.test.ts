/**
 * The dashboard's manual controls (POST /control): which requests count as coming from the
 * dashboard's own page, what each action does to the circuit, and what a request is answered
 * and reported as. Most requests go over real HTTP to 127.0.0.1; a few requests shaped by
 * middleware or a test harness (no socket, a header turned into a list) are handed to the
 * handler directly.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRegistry, type CircuitBreakerRegistry } from '../src/index.js';
import { createDashboard, type Dashboard, type DashboardAction } from '../src/dashboard/index.js';
import { boom } from './helpers.js';

let reg: CircuitBreakerRegistry;
const servers: http.Server[] = [];
const dashboards: Dashboard[] = [];

beforeEach(async () => {
  reg = createRegistry({ defaults: { failureThreshold: 2, resetTimeout: 60_000 } });
  reg.configure('notion', {});
  await reg.execute('notion', boom);
  await reg.execute('notion', boom);
});

afterEach(async () => {
  for (const d of dashboards.splice(0)) d.close();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  reg.destroy();
});

interface Answer {
  status: number;
  body: string;
}

/** A dashboard with controls that authorize everyone, and the action events it reports. */
function controlled(): { d: Dashboard; actions: DashboardAction[] } {
  const d = createDashboard({ breakers: reg, interval: 100, controls: { authorize: () => true } });
  dashboards.push(d);
  const actions: DashboardAction[] = [];
  d.on('action', (a) => actions.push(a));
  return { d, actions };
}

function request(base: string, path: string, method: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const tokenIn = (html: string): string => /name="dashboard-token" content="([^"]+)"/.exec(html)![1]!;

/** The dashboard served on 127.0.0.1, its page's token, and a POST to /control from that page. */
async function served() {
  const { d, actions } = controlled();
  const server = http.createServer(d);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const token = tokenIn((await request(base, '/', 'GET', {})).body);
  const post = (query: string, headers: Record<string, string> = {}) =>
    request(base, `/control?${query}`, 'POST', { origin: base, 'x-dashboard-token': token, ...headers });
  return { base, token, actions, post };
}

/**
 * Hands a request object to the handler itself, as a framework or a test harness may build
 * one, and collects what is written back.
 */
interface BareRequest {
  url: string;
  method: string;
  headers: Record<string, unknown>;
  socket?: unknown;
}

function handOver(d: Dashboard, req: BareRequest): Promise<Answer> {
  return new Promise((resolve) => {
    let status = 0;
    const res = {
      headersSent: false,
      writeHead(code: number) {
        status = code;
        res.headersSent = true;
      },
      end(body?: string) {
        resolve({ status, body: body ?? '' });
      },
    };
    d(req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse);
  });
}

async function pageToken(d: Dashboard): Promise<string> {
  return tokenIn((await handOver(d, { url: '/', method: 'GET', headers: {} })).body);
}

describe('which requests count as coming from the dashboard page', () => {
  it('carries out a request a browser marks Sec-Fetch-Site: same-origin', async () => {
    const { post } = await served();
    const r = await post('action=reset&executor=notion', { 'sec-fetch-site': 'same-origin' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ ok: true, action: 'reset', executor: 'notion' });
    expect(reg.getState('notion')).toBe('CLOSED');
  });

  it('refuses a request a browser marks as same-site or with an empty Sec-Fetch-Site', async () => {
    const { post } = await served();
    expect((await post('action=reset&executor=notion', { 'sec-fetch-site': 'same-site' })).status).toBe(403);
    expect((await post('action=reset&executor=notion', { 'sec-fetch-site': '' })).status).toBe(403);
    expect(reg.getState('notion')).toBe('OPEN');
  });

  it('compares the Host header without regard to case, and lets the scheme differ behind a proxy that ends TLS', async () => {
    const { post } = await served();
    const r = await post('action=close&executor=notion', {
      host: 'Breakers.Example.COM:8443',
      origin: 'https://breakers.example.com:8443',
    });
    expect(r.status).toBe(200);
    expect(reg.getState('notion')).toBe('CLOSED');
  });

  it('refuses a same-origin request that carries no token, with the reason in the answer and the event', async () => {
    const { post, actions, base } = await served();
    const r = await request(base, '/control?action=reset&executor=notion', 'POST', { origin: base });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body)).toEqual({ ok: false, error: 'missing or wrong token' });
    expect(reg.getState('notion')).toBe('OPEN');
    expect((await post('action=reset&executor=notion', { 'x-dashboard-token': '' })).status).toBe(403);
    expect(actions.map((a) => [a.allowed, a.status, a.reason])).toEqual([
      [false, 403, 'missing or wrong token'],
      [false, 403, 'missing or wrong token'],
    ]);
  });

  it('refuses an Origin header that a middleware turned into a list, even one naming this host', async () => {
    const { d, actions } = controlled();
    const token = await pageToken(d);
    const r = await handOver(d, {
      url: '/control?action=reset&executor=notion',
      method: 'POST',
      headers: { host: 'breakers.example.com', origin: ['http://breakers.example.com'], 'x-dashboard-token': token },
      socket: { remoteAddress: '10.0.0.7' },
    });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body)).toEqual({ ok: false, error: 'not a same-origin request' });
    expect(reg.getState('notion')).toBe('OPEN');
    expect(actions.map((a) => a.reason)).toEqual(['not a same-origin request']);
  });
});

describe('what each action does to the circuit', () => {
  it('close forgets the failures but keeps the counters; reset also zeroes the counters', async () => {
    const { post } = await served();
    expect((await post('action=close&executor=notion')).status).toBe(200);
    expect(reg.getStats('notion')).toMatchObject({ state: 'CLOSED', totalRequests: 2, failedRequests: 2 });
    await reg.execute('notion', boom);
    expect(reg.getState('notion')).toBe('CLOSED');
    expect((await post('action=reset&executor=notion')).status).toBe(200);
    expect(reg.getStats('notion')).toMatchObject({ state: 'CLOSED', totalRequests: 0, failedRequests: 0, timesOpened: 0 });
  });
});

describe('what a control request is answered and reported as', () => {
  it('answers an unknown action with a 400 that names it and lists the actions', async () => {
    const { post, actions } = await served();
    const r = await post('action=explode&executor=notion');
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toEqual({ ok: false, error: 'unknown action "explode" (actions: open, close, reset)' });
    expect(actions.map((a) => [a.action, a.executorName, a.allowed, a.status])).toEqual([['explode', 'notion', false, 400]]);
  });

  it('treats a request that names no action as the empty action', async () => {
    const { post, actions } = await served();
    const r = await post('executor=notion');
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toEqual({ ok: false, error: 'unknown action "" (actions: open, close, reset)' });
    expect(actions.map((a) => [a.action, a.reason])).toEqual([['', 'unknown action "" (actions: open, close, reset)']]);
    expect(reg.getState('notion')).toBe('OPEN');
  });

  it('answers an unknown executor, or none named, with a 404 that names it', async () => {
    const { post, actions } = await served();
    const r = await post('action=reset&executor=nobody');
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body)).toEqual({ ok: false, error: 'no executor named "nobody"' });
    const none = await post('action=reset');
    expect(none.status).toBe(404);
    expect(JSON.parse(none.body)).toEqual({ ok: false, error: 'no executor named ""' });
    expect(actions.map((a) => [a.action, a.executorName, a.status])).toEqual([
      ['reset', 'nobody', 404],
      ['reset', '', 404],
    ]);
    expect(reg.getAllStats().has('nobody')).toBe(false);
  });

  it('answers a request object that has no socket, reporting no remote address', async () => {
    const { d, actions } = controlled();
    const token = await pageToken(d);
    const headers = { host: 'breakers.example.com', origin: 'http://breakers.example.com', 'x-dashboard-token': token };
    const url = '/control?action=reset&executor=notion';
    const refused = await handOver(d, { url, method: 'POST', headers: { ...headers, 'x-dashboard-token': 'x' } });
    expect(refused.status).toBe(403);
    const r = await handOver(d, { url, method: 'POST', headers });
    expect(r.status).toBe(200);
    expect(reg.getState('notion')).toBe('CLOSED');
    expect(actions.map((a) => [a.allowed, a.status, a.remoteAddress])).toEqual([
      [false, 403, null],
      [true, 200, null],
    ]);
  });
});
