/**
 * executor-circuit-breaker/dashboard without a browser: what the dashboard remembers
 * (src/dashboard/track.ts, with times given by hand), and the handler served by plain
 * node:http and by Express on 127.0.0.1, asked with real HTTP requests and real event
 * streams (real timers, short intervals). test/dashboard.browser.test.ts drives the page.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as circuitBreaker from '../src/index.js';
import { CircuitState, createRegistry, type CircuitBreakerRegistry, type CircuitBreakerStats } from '../src/index.js';
import { Clients } from '../src/dashboard/clients.js';
import { createDashboard, type Dashboard, type DashboardAction, type DashboardSnapshot } from '../src/dashboard/index.js';
import { CONTENT_SECURITY_POLICY, page } from '../src/dashboard/page.js';
import { LATENCY_BOUNDS, quantile, SPARK_MS, STRIP_MS, Track } from '../src/dashboard/track.js';
import { boom, zeroStats } from './helpers.js';

let reg: CircuitBreakerRegistry;
const servers: http.Server[] = [];
const dashboards: Dashboard[] = [];

beforeEach(() => {
  reg = createRegistry({ defaults: { failureThreshold: 2, resetTimeout: 60_000 } });
});

afterEach(async () => {
  for (const d of dashboards.splice(0)) d.close();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  reg.destroy();
  circuitBreaker.destroy();
  vi.restoreAllMocks();
});

function dashboard(options: Parameters<typeof createDashboard>[0] = {}): Dashboard {
  const d = createDashboard({ breakers: reg, interval: 100, ...options });
  dashboards.push(d);
  return d;
}

async function serve(listener: http.RequestListener): Promise<string> {
  const server = http.createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An open event stream: the events received so far, and a way to wait for the next one that matches. */
function stream(url: string): Promise<{
  events: { event: string; data: DashboardSnapshot }[];
  next(match?: (s: DashboardSnapshot) => boolean): Promise<DashboardSnapshot>;
  res: http.IncomingMessage;
  close(): void;
}> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      const events: { event: string; data: DashboardSnapshot }[] = [];
      const waiters: { match: (s: DashboardSnapshot) => boolean; resolve: (s: DashboardSnapshot) => void }[] = [];
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event === undefined || data === undefined) continue;
          const parsed = JSON.parse(data) as DashboardSnapshot;
          events.push({ event, data: parsed });
          for (const w of [...waiters]) {
            if (w.match(parsed)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(parsed);
            }
          }
        }
      });
      resolve({
        events,
        res,
        next: (match = () => true) => new Promise((r) => waiters.push({ match, resolve: r })),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  });
}

async function get(url: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: string }> {
  const r = await fetch(url, init);
  return { status: r.status, headers: r.headers, body: await r.text() };
}

const stats = (over: Partial<CircuitBreakerStats> = {}): CircuitBreakerStats => ({ ...zeroStats('x'), ...over });

const waitFor = async (check: () => boolean, ms = 2_000): Promise<void> => {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('Track: one executor\'s history', () => {
  const T = 1_800_000_000_000;

  it('turns counter differences into samples, and a reset into an interval counted from zero', () => {
    const track = new Track(stats(), T);
    track.baseline(stats({ totalRequests: 10, successfulRequests: 8, failedRequests: 2 }));
    track.fallback();
    track.sample(stats({ totalRequests: 16, successfulRequests: 11, failedRequests: 3, rejectedRequests: 2 }), T + 1000, 1000);
    expect(track.samples).toEqual([[T + 1000, 1000, 6, 3, 1, 2, 1]]);
    track.sample(stats({ totalRequests: 1, successfulRequests: 1 }), T + 2000, 1000);
    expect(track.samples[1]).toEqual([T + 2000, 1000, 1, 1, 0, 0, 0]);
  });

  it('keeps 5 minutes of samples', () => {
    const track = new Track(stats(), T);
    track.baseline(stats());
    for (let s = 1; s <= 400; s++) track.sample(stats(), T + s * 1000, 1000);
    expect(track.samples).toHaveLength(SPARK_MS / 1000);
    expect(track.samples[0]![0]).toBe(T + 400_000 - SPARK_MS + 1000);
  });

  it('keeps 15 minutes of state changes, and the one the strip starts in; a circuit first seen open was closed before', () => {
    const track = new Track(stats({ state: CircuitState.OPEN, timesOpened: 1, lastStateChange: new Date(T) }), T);
    expect(track.transitions).toEqual([
      [null, 'CLOSED'],
      [T, 'OPEN'],
    ]);
    track.transition(CircuitState.HALF_OPEN, T + 60_000);
    track.transition(CircuitState.CLOSED, T + STRIP_MS + 120_000);
    expect(track.transitions).toEqual([
      [T + 60_000, 'HALF_OPEN'],
      [T + STRIP_MS + 120_000, 'CLOSED'],
    ]);
    for (let i = 0; i < 1000; i++) track.transition(i % 2 ? CircuitState.OPEN : CircuitState.HALF_OPEN, T + STRIP_MS + 120_001 + i);
    expect(track.transitions.length).toBeLessThanOrEqual(256);
  });

  it('measures the latency of the last minute: mean, and p95 within its bucket and never above the slowest call', () => {
    const track = new Track(stats(), T);
    for (let i = 0; i < 95; i++) track.success(4);
    for (let i = 0; i < 5; i++) track.success(400);
    const l = track.latency(T);
    expect(l.count).toBe(100);
    expect(l.mean).toBeCloseTo((95 * 4 + 5 * 400) / 100);
    expect(l.p95).toBeGreaterThan(2);
    expect(l.p95).toBeLessThanOrEqual(5);
    track.success(70_000);
    expect(track.latency(T).p95).toBeLessThanOrEqual(70_000);
    // A minute later the slot is gone.
    track.sample(stats(), T + 61_000, 61_000);
    expect(track.latency(T + 61_000)).toEqual({ count: 0, mean: null, p95: null });
    expect(quantile([0, 0, 1], 1, 0.95)).toBeCloseTo(LATENCY_BOUNDS[1]! + (LATENCY_BOUNDS[2]! - LATENCY_BOUNDS[1]!) * 0.95);
  });

  it('keeps a call\'s latency for the minute after it, whatever second of the minute the track began', () => {
    for (const start of [T + 35_000, T + 55_000]) {
      const track = new Track(stats(), start);
      track.success(5);
      for (let s = 10_000; s <= 50_000; s += 10_000) {
        track.sample(stats(), start + s, 10_000);
        expect(track.latency(start + s).count, `${start - T} + ${s} ms`).toBe(1);
      }
      track.sample(stats(), start + 60_000, 10_000);
      expect(track.latency(start + 60_000).count).toBe(0);
    }
  });

  it('keeps the last error as text, cut short', () => {
    const track = new Track(stats(), T);
    track.failure(new TypeError('x'.repeat(500)), T);
    expect(track.lastError!.text).toHaveLength(200);
    expect(track.lastError!.text.startsWith('TypeError: xxx')).toBe(true);
  });
});

describe('createDashboard: options', () => {
  it('rejects bad options with a TypeError or RangeError naming them', () => {
    expect(() => createDashboard(5 as never)).toThrow(/options must be an object, got number/);
    expect(() => createDashboard({ registry: reg } as never)).toThrow(/unknown option "registry"/);
    expect(() => createDashboard({ breakers: {} as never })).toThrow(/breakers must be a circuit breaker registry/);
    expect(() => createDashboard({ breakers: null as never })).toThrow(/got null/);
    const readOnly = { on: reg.on.bind(reg), off: reg.off.bind(reg), getAllStats: () => new Map(), getConfig: () => null };
    expect(() => createDashboard({ breakers: readOnly, controls: { authorize: () => true } })).toThrow(
      /openCircuit, closeCircuit, reset/,
    );
    expect(() => createDashboard({ breakers: reg, controls: {} as never })).toThrow(/controls must be an object with an authorize/);
    expect(() => createDashboard({ breakers: reg, title: 1 as never })).toThrow(/title must be a string, got number/);
    expect(() => createDashboard({ breakers: reg, interval: 10 })).toThrow(RangeError);
    expect(() => createDashboard({ breakers: reg, maxClients: 0 })).toThrow(/maxClients must be a positive integer, got 0/);
    expect(() => createDashboard({ breakers: reg, clock: {} as never })).toThrow(/clock must be an object with a now\(\) function/);
  });

  it('shows the module functions\' breakers by default', () => {
    circuitBreaker.configure('notion', { failureThreshold: 7 });
    const d = createDashboard();
    dashboards.push(d);
    const snap = d.snapshot();
    expect(snap.executors.map((x) => x.name)).toEqual(['notion']);
    expect(snap.executors[0]!.config!.failureThreshold).toBe(7);
  });
});

describe('the handler', () => {
  it('serves one self-contained page with a strict CSP, under any mount path', async () => {
    const d = dashboard({ title: '<Ops & co>' });
    const app = express();
    app.use('/ops/breakers', d);
    app.get('/other', (_req, res) => res.send('other'));
    const base = await serve(app);
    for (const path of ['/ops/breakers', '/ops/breakers/']) {
      const r = await get(base + path);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(r.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(r.headers.get('cache-control')).toBe('no-store');
      expect(r.body).toContain('<title>&#60;Ops &#38; co&#62;</title>');
      expect(r.body).not.toMatch(/\b(?:src|href)="(?!data:)/);
      expect(r.body).not.toContain('<meta name="dashboard-token"');
    }
    expect(CONTENT_SECURITY_POLICY).toMatch(/^default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+'; connect-src 'self'/);
    expect((await get(`${base}/other`)).body).toBe('other');
    expect((await get(`${base}/ops/breakers/nothing`)).status).toBe(404); // Express's own 404, through next()
    expect((await get(`${base}/ops/breakers/`, { method: 'HEAD' })).body).toBe('');
  });

  it('answers 404 and 405 on its own under plain node:http', async () => {
    const base = await serve(dashboard());
    expect((await get(`${base}/favicon.ico`)).status).toBe(404);
    const r = await get(`${base}/snapshot`, { method: 'DELETE' });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET, HEAD');
    const c = await get(`${base}/control`);
    expect(c.status).toBe(405);
    expect(c.headers.get('allow')).toBe('POST');
  });

  it('gives a JSON snapshot for scripts: state, configuration, totals, and measures for a minute after', async () => {
    const d = dashboard();
    reg.configure('notion', { requestTimeout: Infinity });
    await reg.execute('notion', boom);
    await reg.execute('notion', boom);
    await reg.execute('notion', () => 'not run');
    const base = await serve(d);
    const r = await get(`${base}/snapshot`);
    expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const snap = JSON.parse(r.body) as DashboardSnapshot;
    expect(snap.measuring).toBe(true);
    expect(snap.spans).toEqual({ strip: STRIP_MS, sparkline: SPARK_MS, minute: 60_000 });
    const notion = snap.executors[0]!;
    expect(notion).toMatchObject({
      name: 'notion',
      state: 'OPEN',
      totals: { requests: 3, failures: 2, rejections: 1, timesOpened: 1 },
      config: { failureThreshold: 2, requestTimeout: null },
      rates: { requests: 0, failures: 0, rejections: 0, fallbacks: 0 },
    });
    expect(notion.nextAttemptTime).toBeGreaterThan(Date.now() + 50_000);
    expect(notion.transitions.map((t) => t[1])).toEqual(['CLOSED', 'OPEN']);
    // The calls made while measuring show in the rates.
    reg.reset('notion');
    await reg.execute('notion', () => 1);
    await reg.execute('notion', boom);
    await waitFor(() => d.snapshot().executors[0]!.samples.some((s) => s[2] > 0));
    const later = d.snapshot().executors[0]!;
    expect(later.lastMinute).toMatchObject({ requests: 2, successes: 1, failures: 1, successRate: 0.5 });
    expect(later.rates!.requests).toBeGreaterThan(0);
    expect(later.latency.count).toBe(1);
    expect(later.lastError!.text).toBe('Error: boom');
  });

  it('streams a snapshot, then updates; a state change arrives at once; the last page leaving stops every per-call listener and the timer', async () => {
    const on = vi.spyOn(reg, 'on');
    const off = vi.spyOn(reg, 'off');
    const d = dashboard({ interval: 60_000 });
    expect(on.mock.calls.map((c) => c[0]).sort()).toEqual(['circuit:closed', 'circuit:half-open', 'circuit:opened']);
    reg.configure('slack', {});
    expect(d.snapshot().measuring).toBe(false);
    const base = await serve(d);
    const s = await stream(`${base}/events`);
    await waitFor(() => s.events.length > 0);
    expect(s.res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(s.events[0]!.event).toBe('snapshot');
    expect(s.events[0]!.data.executors[0]!.state).toBe('CLOSED');
    expect(on.mock.calls.map((c) => c[0])).toEqual(
      expect.arrayContaining(['request:success', 'request:failure', 'fallback:used']),
    );
    // The interval is a minute: only the state change can bring this update.
    const opened = s.next((x) => x.executors[0]!.state === 'OPEN');
    const t0 = Date.now();
    await reg.execute('slack', boom);
    await reg.execute('slack', boom);
    const update = await opened;
    expect(Date.now() - t0).toBeLessThan(500);
    expect(s.events.at(-1)!.event).toBe('update');
    expect(update.executors[0]!.nextAttemptTime).not.toBeNull();
    s.close();
    await waitFor(() => !d.snapshot().measuring);
    expect(off.mock.calls.map((c) => c[0]).sort()).toEqual(['fallback:used', 'request:failure', 'request:success']);
    d.close();
    expect(off.mock.calls).toHaveLength(6);
  });

  it('keeps measuring after the last page leaves while a JSON snapshot\'s minute runs', async () => {
    const d = dashboard({ interval: 100 });
    const base = await serve(d);
    const s = await stream(`${base}/events`);
    await waitFor(() => s.events.length > 0);
    expect((await get(`${base}/snapshot`)).status).toBe(200);
    s.close();
    await new Promise((r) => setTimeout(r, 250));
    expect(d.snapshot().measuring).toBe(true);
  });

  it('sends each interval only the samples the page does not have yet', async () => {
    const d = dashboard({ interval: 100 });
    reg.configure('notion', {});
    const base = await serve(d);
    const s = await stream(`${base}/events`);
    await waitFor(() => s.events.filter((e) => e.event === 'update').length >= 4);
    const updates = s.events.filter((e) => e.event === 'update').map((e) => e.data.executors[0]!.samples);
    for (const samples of updates.slice(1)) expect(samples).toHaveLength(1);
    const times = updates.flat().map((sample) => sample[0]);
    expect(new Set(times).size).toBe(times.length);
    expect(d.snapshot().executors[0]!.samples.length).toBeGreaterThanOrEqual(4);
    s.close();
  });

  it('refuses more pages than maxClients with a 503, and close() ends the streams and answers 503 after', async () => {
    const d = dashboard({ maxClients: 1 });
    const base = await serve(d);
    const s = await stream(`${base}/events`);
    const second = await get(`${base}/events`);
    expect(second.status).toBe(503);
    expect(second.headers.get('retry-after')).toBe('5');
    const ended = new Promise((r) => s.res.on('end', r));
    d.close();
    await ended;
    expect((await get(`${base}/`)).status).toBe(503);
    expect(d.snapshot().measuring).toBe(false);
  });
});

describe('Clients: a slow or vanished page', () => {
  /** A response whose socket is backed up by `backlog` bytes. */
  const slowResponse = (backlog: { bytes: number; needDrain: boolean }) => {
    const written: string[] = [];
    class SlowResponse extends EventEmitter {
      writeHead = () => this;
      write = (chunk: string) => written.push(chunk) > 0;
      destroy = vi.fn(() => this.emit('close'));
      end = () => this.emit('close');
      get writableLength() {
        return backlog.bytes;
      }
      get writableNeedDrain() {
        return backlog.needDrain;
      }
    }
    return { res: new SlowResponse(), written };
  };

  it('skips a backed-up client, sends it a whole snapshot once drained, and drops one past the limit', () => {
    const clients = new Clients(5);
    const onEmpty = vi.fn();
    clients.onEmpty = onEmpty;
    const backlog = { bytes: 0, needDrain: false };
    const { res, written } = slowResponse(backlog);
    clients.add({ socket: {} } as never, res as never, '{"first":1}');
    expect(written).toEqual(['retry: 2000\nevent: snapshot\ndata: {"first":1}\n\n']);
    backlog.needDrain = true;
    clients.send(() => 'delta', () => 'whole');
    expect(written).toHaveLength(1);
    backlog.needDrain = false;
    clients.send(() => 'delta', () => 'whole');
    clients.send(() => 'delta', () => 'whole');
    expect(written.slice(1)).toEqual(['event: snapshot\ndata: whole\n\n', 'event: update\ndata: delta\n\n']);
    backlog.bytes = 2 * 1024 * 1024;
    clients.send(() => 'delta', () => 'whole');
    expect(res.destroy).toHaveBeenCalled();
    expect(clients.size).toBe(0);
    expect(onEmpty).toHaveBeenCalledOnce();
  });
});

describe('manual controls', () => {
  async function setup(authorize: (req: http.IncomingMessage) => boolean | Promise<boolean>) {
    const d = dashboard({ controls: { authorize } });
    const actions: DashboardAction[] = [];
    d.on('action', (a) => actions.push(a));
    reg.configure('notion', {});
    await reg.execute('notion', boom);
    await reg.execute('notion', boom);
    const base = await serve(d);
    const html = (await get(`${base}/`)).body;
    const token = /name="dashboard-token" content="([^"]+)"/.exec(html)?.[1];
    const post = (query: string, headers: Record<string, string> = {}) =>
      get(`${base}/control?${query}`, { method: 'POST', headers: { origin: base, 'x-dashboard-token': token ?? '', ...headers } });
    return { d, base, token, actions, post };
  }

  it('a reset from the page closes the circuit and is logged', async () => {
    const { post, actions, token } = await setup(() => true);
    expect(token).toMatch(/^[\w-]{32}$/);
    const r = await post('action=reset&executor=notion');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ ok: true, action: 'reset', executor: 'notion' });
    expect(reg.getState('notion')).toBe('CLOSED');
    expect((await post('action=open&executor=notion')).status).toBe(200);
    expect(reg.getState('notion')).toBe('OPEN');
    expect(reg.getStats('notion')!.nextAttemptTime).toBeNull();
    expect((await post('action=close&executor=notion')).status).toBe(200);
    expect(reg.getState('notion')).toBe('CLOSED');
    expect(actions.map((a) => [a.action, a.executorName, a.allowed, a.status, a.remoteAddress])).toEqual([
      ['reset', 'notion', true, 200, '127.0.0.1'],
      ['open', 'notion', true, 200, '127.0.0.1'],
      ['close', 'notion', true, 200, '127.0.0.1'],
    ]);
  });

  it('refuses, with 403 and no change, a cross-origin request, a missing or wrong token, and an unauthorized one', async () => {
    let ok = true;
    const { post, actions, base } = await setup(() => ok);
    expect((await post('action=reset&executor=notion', { origin: 'http://evil.example' })).status).toBe(403);
    expect((await post('action=reset&executor=notion', { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await post('action=reset&executor=notion', { origin: 'not a url' })).status).toBe(403);
    expect((await get(`${base}/control?action=reset&executor=notion`, { method: 'POST' })).status).toBe(403);
    expect((await post('action=reset&executor=notion', { 'x-dashboard-token': 'wrong' })).status).toBe(403);
    ok = false;
    expect((await post('action=reset&executor=notion')).status).toBe(403);
    expect(reg.getState('notion')).toBe('OPEN');
    expect(actions.map((a) => a.reason)).toEqual([
      'not a same-origin request',
      'not a same-origin request',
      'not a same-origin request',
      'not a same-origin request',
      'missing or wrong token',
      'not authorized',
    ]);
    expect(actions.every((a) => !a.allowed && a.status === 403)).toBe(true);
  });

  it('gives no token, so no buttons, to a viewer whose authorize throws', async () => {
    const { token } = await setup(async () => {
      throw new Error('no session');
    });
    expect(token).toBeUndefined();
  });

  it('400 for an unknown action, 404 for an unknown executor', async () => {
    const { post } = await setup(() => true);
    expect((await post('action=explode&executor=notion')).status).toBe(400);
    expect((await post('action=reset&executor=nobody')).status).toBe(404);
    expect((await post('action=reset')).status).toBe(404);
  });

  it('without controls every POST gets a 403', async () => {
    const d = dashboard();
    reg.configure('notion', {});
    const base = await serve(d);
    const r = await get(`${base}/control?action=reset&executor=notion`, { method: 'POST', headers: { origin: base } });
    expect(r.status).toBe(403);
  });

  it('an action listener that throws is reported as a warning; off() removes a listener', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const { d, post } = await setup(() => true);
    const bad = () => {
      throw new Error('listener bug');
    };
    d.on('action', bad);
    expect((await post('action=reset&executor=notion')).status).toBe(200);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('listener bug'), 'CircuitBreakerWarning');
    d.off('action', bad);
    warn.mockClear();
    await post('action=reset&executor=notion');
    expect(warn).not.toHaveBeenCalled();
    expect(() => d.on('click' as never, bad)).toThrow(/unknown event "click"/);
    expect(() => d.on('action', 1 as never)).toThrow(/listener must be a function/);
  });
});

describe('the page', () => {
  it('puts names and titles in as text only: markup in a title is escaped, and the script uses textContent', () => {
    const html = page('<img src=x onerror=alert(1)>', null);
    expect(html).not.toContain('<img');
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;');
    const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!;
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });
});
