// The guide's Production Deployment section as one running app: per-service configuration,
// monitoring and alerting (to Slack), Prometheus metrics, health checks on an Express
// server, and graceful shutdown on SIGTERM.
//
//   node examples/production.mjs           (after `npm run build`)
//
// The app calls Notion and Slack through their real clients, pointed at a local fake
// (flaky-service.mjs) that breaks Notion for a while. The guide's durations are divided by
// TIME_SCALE so that the story takes seconds; in a deployment TIME_SCALE is 1. At the end
// the script sends itself SIGTERM and the shutdown handler ends the process.

import express from 'express';
import { register } from 'prom-client';
import * as circuitBreaker from 'executor-circuit-breaker';
import { createHealthHandler } from 'executor-circuit-breaker/health';
import { registerPrometheusMetrics } from 'executor-circuit-breaker/prometheus';
import { check, createNotionClient, createSlackClient, sleep, step, waitForHalfOpen } from './clients.mjs';
import { startFlakyService } from './flaky-service.mjs';

// 10: the circuit stays open 3 s instead of 30, long enough for the checks made meanwhile
// even on a busy machine.
const TIME_SCALE = 10;
const ms = (n) => n / TIME_SCALE;

const service = await startFlakyService();
const notionClient = createNotionClient(service);
const slackClient = createSlackClient(service);
const logger = {
  info: (message, fields = {}) => console.log(JSON.stringify({ level: 'info', message, ...fields })),
  error: (message, fields = {}) => console.log(JSON.stringify({ level: 'error', message, ...fields })),
};

// ---- 1. Configuration (config/circuit-breaker.ts) -----------------------------------------

export const circuitBreakerConfig = {
  notion: {
    failureThreshold: 5,
    failureWindow: ms(60 * 1000),
    resetTimeout: ms(30 * 1000),
    successThreshold: 2,
    requestTimeout: ms(10 * 1000),
    cacheFallback: true,
    fallbackMaxAge: ms(5 * 60 * 1000),
  },
  trello: {
    failureThreshold: 5,
    failureWindow: ms(60 * 1000),
    resetTimeout: ms(30 * 1000),
    successThreshold: 2,
    requestTimeout: ms(10 * 1000),
    cacheFallback: true,
    fallbackMaxAge: ms(5 * 60 * 1000),
  },
  slack: {
    failureThreshold: 10,
    failureWindow: ms(120 * 1000),
    resetTimeout: ms(20 * 1000),
    successThreshold: 2,
    requestTimeout: ms(5 * 1000),
    cacheFallback: false,
  },
  gmail: {
    failureThreshold: 5,
    failureWindow: ms(60 * 1000),
    resetTimeout: ms(30 * 1000),
    successThreshold: 2,
    requestTimeout: ms(15 * 1000),
    cacheFallback: true,
    fallbackMaxAge: ms(10 * 60 * 1000),
  },
};

// Apply configuration
Object.entries(circuitBreakerConfig).forEach(([executor, config]) => {
  circuitBreaker.configure(executor, config);
});

// ---- 2. Monitoring setup (monitoring/circuit-breaker.ts) ----------------------------------

const alerting = {
  post(text) {
    // In the background: listeners are synchronous. Alerts go through their own breaker.
    void circuitBreaker.execute('slack', () => slackClient.chat.postMessage({ channel: '#alerts', text }));
  },
  sendAlert: ({ severity, title, description }) => alerting.post(`[${severity}] ${title}: ${description}`),
  sendNotification: ({ severity, title, description }) => alerting.post(`[${severity}] ${title}: ${description}`),
};

export function setupCircuitBreakerMonitoring() {
  // Log all state changes
  circuitBreaker.on('circuit:opened', (executorName, stats) => {
    logger.error('Circuit opened', {
      executor: executorName,
      consecutiveFailures: stats.consecutiveFailures,
      totalFailures: stats.failedRequests,
      nextAttempt: stats.nextAttemptTime,
    });

    // Send alert
    alerting.sendAlert({
      severity: 'critical',
      title: `Circuit Breaker Opened: ${executorName}`,
      description: `Circuit breaker has opened for ${executorName} after ${stats.consecutiveFailures} consecutive failures.`,
      metadata: stats,
    });
  });

  circuitBreaker.on('circuit:closed', (executorName, stats) => {
    logger.info('Circuit closed', {
      executor: executorName,
      timesOpened: stats.timesOpened,
    });

    // Send recovery notification
    alerting.sendNotification({
      severity: 'info',
      title: `Circuit Breaker Closed: ${executorName}`,
      description: `Circuit breaker for ${executorName} has recovered.`,
    });
  });

  // Track metrics. The guide polls getAllStats() on an interval and pushes gauges; the
  // Prometheus entry point does it at scrape time instead (state, requests by outcome,
  // durations, openings), with no timer to clear on shutdown.
  return registerPrometheusMetrics({ registry: register });
}

const metrics = setupCircuitBreakerMonitoring();

// ---- 4. Health checks, and the app ---------------------------------------------------------

const app = express();

// Health check with circuit breaker status (the guide's Production Deployment shape)
app.get('/health', (req, res) => {
  const allStats = circuitBreaker.getAllStats();
  const openCircuits = Array.from(allStats.values()).filter(
    (stats) => stats.state === circuitBreaker.CircuitState.OPEN,
  );

  const health = {
    status: openCircuits.length === 0 ? 'healthy' : 'degraded',
    timestamp: new Date().toISOString(),
    circuits: {
      total: allStats.size,
      open: openCircuits.length,
      details: Array.from(allStats.values()).map((stats) => ({
        executor: stats.executorName,
        state: stats.state,
        successRate:
          stats.totalRequests > 0
            ? ((stats.successfulRequests / stats.totalRequests) * 100).toFixed(1) + '%'
            : '100%',
      })),
    },
  };

  res.status(openCircuits.length === 0 ? 200 : 503).json(health);
});

// The guide's Health Check Endpoint, from the package.
app.get('/health/circuit-breakers', createHealthHandler());

app.get('/metrics', async (req, res) => {
  res.set('content-type', register.contentType).send(await register.metrics());
});

// The app's own work: reads from Notion (cached for fallback), announcements to Slack.
app.get('/tasks', async (req, res) => {
  const result = await circuitBreaker.execute('notion', () => notionClient.dataSources.query({ data_source_id: 'tasks' }));
  if (result.success) return res.set('x-from-cache', String(result.fromCache)).json(result.data.results.map((p) => p.id));
  res.status(503).json({ error: result.rejected ? 'notion unavailable' : result.error.message });
});

const server = await new Promise((resolve) => {
  const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
});
const base = `http://127.0.0.1:${server.address().port}`;

// ---- 3. Graceful shutdown ------------------------------------------------------------------

process.on('SIGTERM', async () => {
  logger.info('SIGTERM received, shutting down gracefully');

  // Stop taking requests, and clean up circuit breakers
  server.close();
  metrics.detach();
  circuitBreaker.destroy();

  // Wait for in-flight requests
  await sleep(ms(5000));
  server.closeAllConnections();
  await service.close();

  console.log('shutdown complete');
  process.exit(0);
});

// ---- the story ---------------------------------------------------------------------------

const get = async (path) => {
  const response = await fetch(base + path);
  const type = response.headers.get('content-type') ?? '';
  const body = type.includes('json') ? await response.json() : await response.text();
  return { status: response.status, headers: response.headers, body };
};
/** The value of one series in a Prometheus text exposition. */
const sample = (text, series) => text.split('\n').find((l) => l.startsWith(series + ' '))?.split(' ')[1];
const NOTION_STATE = 'circuit_breaker_state{executor="notion"}';
const NOTION_OPENED = 'circuit_breaker_opened_total{executor="notion"}';
const notionRequests = (outcome) => `circuit_breaker_requests_total{executor="notion",outcome="${outcome}"}`;

step('Normal traffic');
for (let i = 0; i < 3; i++) await get('/tasks');
let health = await get('/health');
console.log(`  GET /health -> ${health.status} ${health.body.status}`);
check(health.status === 200 && health.body.circuits.total === 4 && health.body.circuits.open === 0, '200, 4 circuits, none open');

step('Notion goes down: 5 failures open its circuit; then reads are served from the cache');
service.setMode('down', 'notion');
for (let i = 0; i < 5; i++) await get('/tasks');
const cached = await get('/tasks');
check(cached.status === 200 && cached.headers.get('x-from-cache') === 'true', 'GET /tasks still answers, from the cache');
await get('/tasks');

health = await get('/health');
console.log(`  GET /health -> ${health.status} ${JSON.stringify(health.body.circuits)}`);
check(health.status === 503 && health.body.status === 'degraded' && health.body.circuits.open === 1, '503 degraded, 1 open');
const detail = await get('/health/circuit-breakers');
console.log(`  GET /health/circuit-breakers -> ${detail.status} notion: ${JSON.stringify(detail.body.circuits.notion)}`);
check(detail.status === 503 && detail.body.circuits.notion.state === 'OPEN', '503, notion OPEN');
let scrape = (await get('/metrics')).body;
for (const series of [NOTION_STATE, notionRequests('failure'), notionRequests('fallback')]) {
  console.log(`  GET /metrics -> ${series} ${sample(scrape, series)}`);
}
check(sample(scrape, NOTION_STATE) === '2', 'metrics: notion state 2 (OPEN)');
check(sample(scrape, notionRequests('failure')) === '5', 'metrics: 5 failures');
check(sample(scrape, notionRequests('fallback')) === '2', 'metrics: 2 answered from cache');

step('Notion recovers: two good probes close the circuit');
service.setMode('up', 'notion');
await waitForHalfOpen(circuitBreaker, 'notion');
await get('/tasks');
await get('/tasks');
health = await get('/health');
check(health.status === 200 && health.body.status === 'healthy', 'GET /health -> 200 healthy');
scrape = (await get('/metrics')).body;
check(sample(scrape, NOTION_STATE) === '0' && sample(scrape, NOTION_OPENED) === '1', 'metrics: notion state 0 (CLOSED), opened once');
while (service.messages.length < 2) await sleep(10);
const posted = service.messages.map((m) => m.text.split(':')[0]);
check(
  posted.join() === '[critical] Circuit Breaker Opened,[info] Circuit Breaker Closed',
  'Slack got the alert and the recovery notice',
);

step('Deployment ends: SIGTERM');
// Windows has no real signals: there, emit the event the handler listens to.
if (process.platform === 'win32') process.emit('SIGTERM');
else process.kill(process.pid, 'SIGTERM');
