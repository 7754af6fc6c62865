/**
 * A health check over the circuit breakers, as JSON for a load balancer or an uptime
 * monitor: `executor-circuit-breaker/health`.
 *
 * ```ts
 * import { createHealthHandler } from 'executor-circuit-breaker/health';
 *
 * app.get('/health/circuit-breakers', createHealthHandler()); // Express
 * http.createServer(createHealthHandler()).listen(9090);      // or plain node:http
 * ```
 *
 * No dependency: it uses only `node:http`'s request and response objects.
 *
 * @packageDocumentation
 * @module health
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CircuitState } from '../index.js';
import { checkOptions, sourceOf, type StatsSource } from './observe.js';

export type { StatsSource } from './observe.js';

/** One circuit in a {@link CircuitBreakerHealth} report. */
export interface CircuitHealth {
  /** `'CLOSED'`, `'OPEN'` or `'HALF_OPEN'`. */
  state: CircuitState;
  /** Whether the circuit is CLOSED. */
  healthy: boolean;
  /** Successful calls out of all calls, to one decimal, as `'96.7%'`; `'100.0%'` before the first call. */
  successRate: string;
  /** Every call, rejected ones included. */
  totalRequests: number;
  /** Calls the circuit refused to run, those answered from the cache included. */
  rejectedRequests: number;
  /** Mean duration of the calls that ran, rounded to whole milliseconds, as `'12ms'`. */
  avgResponseTime: string;
}

/** The health report: the user guide's Health Check Endpoint JSON. */
export interface CircuitBreakerHealth {
  /** `'degraded'` when at least one circuit is OPEN, else `'healthy'` (HALF_OPEN is still healthy overall). */
  overall: 'healthy' | 'degraded';
  /** One entry per executor, by name, in creation order. */
  circuits: Record<string, CircuitHealth>;
}

/** What {@link healthCheck} returns. */
export interface HealthCheckResult {
  /** 200 when {@link CircuitBreakerHealth.overall} is `'healthy'`, 503 when `'degraded'`. */
  statusCode: 200 | 503;
  /** The report, ready for `JSON.stringify`. */
  body: CircuitBreakerHealth;
}

/** Options of {@link healthCheck} and {@link createHealthHandler}. */
export interface HealthOptions {
  /**
   * The breakers to report: a registry from `createRegistry()`, or by default the
   * package's module functions (`import * as circuitBreaker from 'executor-circuit-breaker'`).
   */
  breakers?: StatsSource;
}

/**
 * A request handler for `node:http`, also usable as Express (or Connect) middleware.
 * Answers GET and HEAD; any other method goes to `next` when there is one, else gets a 405.
 */
export type HealthHandler = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void;

/** The breakers `options` name, checked. */
function breakersOf(options: HealthOptions | undefined, where: string): StatsSource {
  return sourceOf(checkOptions(options, ['breakers'], where).breakers, ['getAllStats'], where);
}

/**
 * The health of every circuit, and the HTTP status to answer with:
 *
 * ```json
 * {
 *   "overall": "degraded",
 *   "circuits": {
 *     "notion": { "state": "OPEN", "healthy": false, "successRate": "70.6%", "totalRequests": 85,
 *                 "rejectedRequests": 15, "avgResponseTime": "120ms" }
 *   }
 * }
 * ```
 */
export function healthCheck(options?: HealthOptions): HealthCheckResult {
  return report(breakersOf(options, 'healthCheck'));
}

function report(source: StatsSource): HealthCheckResult {
  const body: CircuitBreakerHealth = { overall: 'healthy', circuits: {} };
  for (const [name, stats] of source.getAllStats()) {
    const successRate = stats.totalRequests > 0 ? (stats.successfulRequests / stats.totalRequests) * 100 : 100;
    body.circuits[name] = {
      state: stats.state,
      healthy: stats.state === CircuitState.CLOSED,
      successRate: `${successRate.toFixed(1)}%`,
      totalRequests: stats.totalRequests,
      rejectedRequests: stats.rejectedRequests,
      avgResponseTime: `${Math.round(stats.avgResponseTime)}ms`,
    };
    if (stats.state === CircuitState.OPEN) body.overall = 'degraded';
  }
  return { statusCode: body.overall === 'healthy' ? 200 : 503, body };
}

/**
 * Makes a handler that answers with {@link healthCheck}'s report as JSON and its status
 * (200 or 503), never cached. Works with `http.createServer(handler)`, with
 * `app.get('/health', handler)` and with `app.use('/health', handler)`.
 */
export function createHealthHandler(options?: HealthOptions): HealthHandler {
  const source = breakersOf(options, 'createHealthHandler');
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      if (typeof next === 'function') return next();
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('Method Not Allowed\n');
      return;
    }
    let result: HealthCheckResult;
    try {
      result = report(source);
    } catch (error) {
      if (typeof next === 'function') return next(error);
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Internal Server Error\n');
      return;
    }
    const json = JSON.stringify(result.body);
    res.writeHead(result.statusCode, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(json),
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : json);
  };
}
