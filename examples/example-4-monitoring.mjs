// Example 4 of the guide: a monitoring dashboard. State changes are logged and alerted;
// the alerts go to a Slack channel through the real Slack client.
//
//   node examples/example-4-monitoring.mjs (after `npm run build`)
//
// Timings are shortened (the circuit half-opens after 1 s) so the story takes a moment.

import * as circuitBreaker from 'executor-circuit-breaker';
import { check, createNotionClient, createSlackClient, step, waitForHalfOpen } from './clients.mjs';
import { startFlakyService } from './flaky-service.mjs';

const service = await startFlakyService();
const notionClient = createNotionClient(service);
const slackClient = createSlackClient(service);

circuitBreaker.configure('notion', { failureThreshold: 3, resetTimeout: 1_000, successThreshold: 2 });
// Alerts are writes: never "answered" from a cache.
circuitBreaker.configure('slack', { cacheFallback: false });

/** Alerting through Slack, itself behind its own circuit breaker. */
const alerting = {
  sent: [],
  send({ severity, title, message }) {
    this.sent.push({ severity, title });
    // Listeners are synchronous; the post runs in the background and cannot throw here.
    void circuitBreaker.execute('slack', () =>
      slackClient.chat.postMessage({ channel: '#alerts', text: `[${severity}] ${title}: ${message}` }),
    );
  },
};

// ---- the guide's code --------------------------------------------------------------------

function setupCircuitBreakerMonitoring() {
  // Log circuit state changes
  circuitBreaker.on('circuit:opened', (executorName, stats) => {
    console.error(`🔴 CIRCUIT OPENED: ${executorName}`);
    console.error(`  Consecutive failures: ${stats.consecutiveFailures}`);
    console.error(`  Total failures: ${stats.failedRequests}`);
    console.error(`  Next attempt: ${stats.nextAttemptTime?.toISOString()}`);

    // Send alert
    alerting.send({
      severity: 'critical',
      title: `Circuit Breaker Opened: ${executorName}`,
      message: `Service is experiencing failures. Circuit will retry in 30 seconds.`,
    });
  });

  circuitBreaker.on('circuit:closed', (executorName, stats) => {
    console.log(`🟢 CIRCUIT CLOSED: ${executorName}`);
    console.log(`  Service recovered after ${stats.timesOpened} openings`);

    // Send recovery notification
    alerting.send({
      severity: 'info',
      title: `Circuit Breaker Closed: ${executorName}`,
      message: `Service has recovered and is operating normally.`,
    });
  });

  circuitBreaker.on('circuit:half-open', (executorName, stats) => {
    console.log(`🟡 CIRCUIT HALF-OPEN: ${executorName}`);
    console.log(`  Testing service recovery...`);
  });

  // Log all failures
  circuitBreaker.on('request:failure', (executorName, error) => {
    console.warn(`⚠️ Request failed for ${executorName}: ${error.message}`);
  });

  // Log rejections
  circuitBreaker.on('request:rejected', (executorName) => {
    console.warn(`🚫 Request rejected by circuit breaker: ${executorName}`);
  });

  // Log fallback usage
  circuitBreaker.on('fallback:used', (executorName) => {
    console.warn(`💾 Using cached fallback for ${executorName}`);
  });
}

// Display dashboard
function displayCircuitBreakerDashboard() {
  console.log(circuitBreaker.getSummary());

  const allStats = circuitBreaker.getAllStats();
  allStats.forEach((stats) => {
    if (stats.state !== circuitBreaker.CircuitState.CLOSED) {
      console.log(circuitBreaker.formatStats(stats));
    }
  });
}

// ---- the story ---------------------------------------------------------------------------

setupCircuitBreakerMonitoring();
// In production: setInterval(displayCircuitBreakerDashboard, 30 * 1000), unref'd. Here: by hand.
const readPages = () =>
  circuitBreaker.execute('notion', () => notionClient.dataSources.query({ data_source_id: 'tasks' }));

step('Traffic while Notion is up');
await readPages();
await readPages();

step('Notion goes down: failures, the circuit opens (an alert goes to Slack), then rejections');
service.setMode('down', 'notion');
for (let i = 0; i < 4; i++) await readPages();
check(circuitBreaker.isOpen('notion'), 'notion is OPEN');

step('The dashboard while Notion is down');
displayCircuitBreakerDashboard();

step('Notion comes back: half-open, two good probes, closed (a recovery note goes to Slack)');
service.setMode('up', 'notion');
await waitForHalfOpen(circuitBreaker, 'notion');
await readPages();
await readPages();
check(circuitBreaker.isClosed('notion'), 'notion is CLOSED again');

step('The dashboard after recovery');
displayCircuitBreakerDashboard();

// Let the background alert posts finish.
while (circuitBreaker.getStats('slack')?.totalRequests !== 2) await new Promise((r) => setTimeout(r, 10));
check(
  JSON.stringify(alerting.sent.map((a) => a.severity)) === '["critical","info"]',
  'two alerts: critical on opening, info on recovery',
);
check(
  service.messages.length === 2 &&
    service.messages.every((m) => m.channel === '#alerts') &&
    service.messages[0].text.startsWith('[critical] Circuit Breaker Opened: notion'),
  'Slack received both alerts in #alerts',
);
circuitBreaker.destroy();
await service.close();
console.log('\nexample 4: ok');
