/**
 * A live dashboard of the circuit breakers, for a browser: `executor-circuit-breaker/dashboard`.
 *
 * ```ts
 * import { createDashboard } from 'executor-circuit-breaker/dashboard';
 *
 * const dashboard = createDashboard();
 * app.use('/ops/breakers', dashboard);              // Express, under any path
 * http.createServer(dashboard).listen(9091, '127.0.0.1'); // or plain node:http
 * ```
 *
 * One self-contained page (no external resource, a strict Content-Security-Policy) kept up
 * to date over Server-Sent Events, and a JSON snapshot for scripts. No dependency: it uses
 * only `node:http`'s request and response objects.
 *
 * @packageDocumentation
 * @module dashboard
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as core from '../index.js';
import { Clients } from './clients.js';
import { control, newToken, type DashboardAction, type DashboardControls } from './controls.js';
import { Monitor, type DashboardSnapshot, type DashboardSource } from './monitor.js';
import { CONTENT_SECURITY_POLICY, page } from './page.js';

export type { DashboardAction, DashboardControls } from './controls.js';
export type {
  DashboardSnapshot,
  DashboardSource,
  ExecutorMinute,
  ExecutorRates,
  ExecutorSnapshot,
} from './monitor.js';
export type { Latency, Sample } from './track.js';

/** Options of {@link createDashboard}. */
export interface DashboardOptions {
  /**
   * The breakers to show: a registry from `createRegistry()`, or by default the package's
   * module functions (`import * as circuitBreaker from 'executor-circuit-breaker'`).
   */
  breakers?: DashboardSource;
  /** Manual open, close and reset buttons, only for requests `authorize` accepts. Off by default. */
  controls?: DashboardControls;
  /** The page's title (default `'Circuit breakers'`). */
  title?: string;
  /** How often open pages are updated, in ms (default 1000, at least 100). State changes are sent at once. */
  interval?: number;
  /** Most pages open at once (default 20); one more gets a 503. */
  maxClients?: number;
  /**
   * The clock (default `Date.now`). Give the same one as the registry's `clock`, when it has
   * its own: the countdowns compare its times with this clock's.
   */
  clock?: core.Clock;
}

/**
 * A request handler for `node:http`, also usable as Express (or Connect) middleware, with
 * {@link Dashboard.close}. Relative to where it is mounted it answers:
 *
 * - `GET /`: the page;
 * - `GET /events`: the page's Server-Sent Events stream;
 * - `GET /snapshot`: a {@link DashboardSnapshot} as JSON;
 * - `POST /control?action=open|close|reset&executor=NAME`: the manual controls.
 *
 * Any other path goes to `next` when there is one, else gets a 404.
 */
export interface Dashboard {
  (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void;
  /** What the page shows right now, as the JSON endpoint returns it. */
  snapshot(): DashboardSnapshot;
  /** Adds a listener for every control request, allowed or refused. One that throws is reported as a process warning. */
  on(event: 'action', listener: (action: DashboardAction) => void): void;
  /** Removes a listener added with {@link Dashboard.on}. */
  off(event: 'action', listener: (action: DashboardAction) => void): void;
  /**
   * Ends every open stream, stops listening to the breakers, and answers later requests
   * with a 503. The breakers themselves are untouched.
   */
  close(): void;
}

const OPTION_KEYS = ['breakers', 'controls', 'title', 'interval', 'maxClients', 'clock'];
const SOURCE_METHODS = ['on', 'off', 'getAllStats', 'getConfig'];
const CONTROL_METHODS = ['openCircuit', 'closeCircuit', 'reset'];
// Read at each call, so that fake timers replacing Date.now drive it.
const SYSTEM_CLOCK: core.Clock = { now: () => Date.now() };

/** What a value is, for error messages. */
function kind(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

function checked(options: DashboardOptions | undefined): Required<Omit<DashboardOptions, 'controls'>> & {
  controls: DashboardControls | null;
} {
  const where = 'createDashboard';
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object, got ${kind(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new TypeError(`${where}: unknown option ${JSON.stringify(key)} (options: ${OPTION_KEYS.join(', ')})`);
    }
  }
  const { title = 'Circuit breakers', interval = 1000, maxClients = 20, clock = SYSTEM_CLOCK } = options;
  const controls = options.controls ?? null;
  const breakers = options.breakers === undefined ? (core as unknown as DashboardSource) : options.breakers;
  const methods = controls === null ? SOURCE_METHODS : [...SOURCE_METHODS, ...CONTROL_METHODS];
  const missing =
    typeof breakers !== 'object' || breakers === null
      ? methods
      : methods.filter((m) => typeof (breakers as unknown as Record<string, unknown>)[m] !== 'function');
  if (missing.length > 0) {
    throw new TypeError(
      `${where}: breakers must be a circuit breaker registry (an object with ${methods.join(', ')}), got ${kind(breakers)}`,
    );
  }
  if (controls !== null && (typeof controls !== 'object' || typeof controls.authorize !== 'function')) {
    throw new TypeError(`${where}: controls must be an object with an authorize(req) function, got ${kind(controls)}`);
  }
  if (typeof title !== 'string') throw new TypeError(`${where}: title must be a string, got ${kind(title)}`);
  if (typeof interval !== 'number' || !Number.isFinite(interval) || interval < 100) {
    throw new RangeError(`${where}: interval must be a number of ms, at least 100, got ${String(interval)}`);
  }
  if (!Number.isInteger(maxClients) || maxClients < 1) {
    throw new RangeError(`${where}: maxClients must be a positive integer, got ${String(maxClients)}`);
  }
  if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function') {
    throw new TypeError(`${where}: clock must be an object with a now() function, got ${kind(clock)}`);
  }
  return { breakers, controls, title, interval, maxClients, clock };
}

/** The path relative to the mount point, without the query. */
function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

// JSON.stringify writes `requestTimeout: Infinity` as null: JSON has no infinity.
const json = (value: unknown): string => JSON.stringify(value);

function send(res: ServerResponse, status: number, type: string, body: string, head: boolean, extra = {}): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...extra,
  });
  res.end(head ? undefined : body);
}

const text = (res: ServerResponse, status: number, body: string, extra = {}): void =>
  send(res, status, 'text/plain; charset=utf-8', `${body}\n`, false, extra);

/**
 * Makes the dashboard's request handler. It records state changes from now on; the per-call
 * figures (rates, latency, cache answers, the last error) are measured only while a page is
 * open, or for a minute after a JSON snapshot: with nobody watching it runs no timer and adds
 * no listener to the calls.
 *
 * Throws a `TypeError` or `RangeError` naming the option for a bad option.
 */
export function createDashboard(options?: DashboardOptions): Dashboard {
  const { breakers, controls, title, interval, maxClients, clock } = checked(options);
  const monitor = new Monitor(breakers, interval, clock);
  const clients = new Clients(maxClients);
  const listeners = new Set<(action: DashboardAction) => void>();
  const token = newToken();
  let closed = false;
  /** The newest sample time open pages already have. */
  let sentUpTo = -Infinity;

  monitor.hasClients = () => clients.size > 0;
  clients.onEmpty = () => monitor.idle();
  monitor.onUpdate = () => {
    const since = sentUpTo;
    let newest = since;
    const delta = (): string => {
      const snap = monitor.snapshot(since);
      for (const x of snap.executors) for (const s of x.samples) if (s[0] > newest) newest = s[0];
      return json(snap);
    };
    clients.send(delta, () => json(monitor.snapshot()));
    sentUpTo = newest;
  };

  const log = (action: DashboardAction): void => {
    for (const listener of [...listeners]) {
      try {
        listener(action);
      } catch (error) {
        process.emitWarning(`A dashboard 'action' listener threw: ${String(error)}`, 'CircuitBreakerWarning');
      }
    }
  };

  const allowed = async (req: IncomingMessage): Promise<boolean> => {
    if (controls === null) return false;
    try {
      return (await controls.authorize(req)) === true;
    } catch {
      return false;
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): Promise<void> => {
    const path = pathOf(req);
    const route = path === '' || path.endsWith('/') ? 'page' : path.slice(path.lastIndexOf('/') + 1);
    if (!['page', 'events', 'snapshot', 'control'].includes(route)) {
      if (typeof next === 'function') return next();
      return text(res, 404, 'Not Found');
    }
    if (closed) return text(res, 503, 'Service Unavailable: the dashboard is closed');
    const method = req.method ?? 'GET';
    if (route === 'control') {
      if (method !== 'POST') return text(res, 405, 'Method Not Allowed', { allow: 'POST' });
      const result = await control(req, { breakers, token, allowed });
      log(result.action);
      if (result.action.allowed) monitor.onUpdate?.();
      return send(res, result.status, 'application/json; charset=utf-8', json(result.body), false);
    }
    if (method !== 'GET' && method !== 'HEAD') {
      if (typeof next === 'function') return next();
      return text(res, 405, 'Method Not Allowed', { allow: 'GET, HEAD' });
    }
    const head = method === 'HEAD';
    if (route === 'page') {
      const html = page(title, (await allowed(req)) ? token : null);
      return send(res, 200, 'text/html; charset=utf-8', html, head, {
        'content-security-policy': CONTENT_SECURITY_POLICY,
        'referrer-policy': 'no-referrer',
        'x-frame-options': 'DENY',
      });
    }
    if (route === 'snapshot') {
      monitor.linger();
      return send(res, 200, 'application/json; charset=utf-8', json(monitor.snapshot()), head);
    }
    if (clients.full) return text(res, 503, 'Service Unavailable: too many dashboard pages open', { 'retry-after': '5' });
    if (head) return send(res, 200, 'text/event-stream; charset=utf-8', '', true);
    monitor.watch();
    clients.add(req, res, json(monitor.snapshot()));
  };

  const dashboard = ((req, res, next) => {
    handle(req, res, next).catch((error: unknown) => {
      if (typeof next === 'function') return next(error);
      if (!res.headersSent) text(res, 500, 'Internal Server Error');
      else res.destroy();
    });
  }) as Dashboard;
  dashboard.snapshot = () => monitor.snapshot();
  dashboard.on = (event, listener) => {
    if (event !== 'action') throw new TypeError(`dashboard.on: unknown event ${JSON.stringify(event)} (events: action)`);
    if (typeof listener !== 'function') throw new TypeError(`dashboard.on: listener must be a function, got ${kind(listener)}`);
    listeners.add(listener);
  };
  dashboard.off = (event, listener) => {
    if (event === 'action') listeners.delete(listener);
  };
  dashboard.close = () => {
    closed = true;
    monitor.close();
    clients.close();
  };
  return dashboard;
}
