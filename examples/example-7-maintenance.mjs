// Example 7 of the guide: maintenance mode. The Slack executor is opened by hand for the
// length of a maintenance window, then closed; calls meanwhile never reach Slack.
//
//   node examples/example-7-maintenance.mjs (after `npm run build`)
//
// The window here is 0.01 minutes (600 ms), so the story takes a moment.

import * as circuitBreaker from 'executor-circuit-breaker';
import { check, createSlackClient, sleep, step } from './clients.mjs';
import { startFlakyService } from './flaky-service.mjs';

const service = await startFlakyService();
const slackClient = createSlackClient(service);
const logger = { info: (message) => console.log(`  [info] ${message}`) };

circuitBreaker.configure('slack', { resetTimeout: 100, cacheFallback: false });

// ---- the guide's code --------------------------------------------------------------------

// Put service in maintenance mode
function enableMaintenanceMode(executorName, durationMinutes) {
  logger.info(`Enabling maintenance mode for ${executorName}`);

  // Open circuit
  circuitBreaker.openCircuit(executorName);

  // Automatically close after maintenance
  return setTimeout(() => {
    logger.info(`Maintenance mode ended for ${executorName}`);
    circuitBreaker.closeCircuit(executorName);
  }, durationMinutes * 60 * 1000);
}

// ---- the story ---------------------------------------------------------------------------

const post = (text) => circuitBreaker.execute('slack', () => slackClient.chat.postMessage({ channel: '#ops', text }));

step('Before maintenance, messages go through');
check((await post('hello')).success, 'posted');

step('During maintenance, calls are rejected at once and Slack gets nothing');
enableMaintenanceMode('slack', 0.01); // Usage: enableMaintenanceMode('notion', 15) for 15 minutes
const rejected = await post('during maintenance');
console.log(`  ${rejected.error.name}: ${rejected.error.message}`);
check(rejected.rejected && rejected.error.nextAttemptTime === null, 'rejected, with no automatic next attempt');
// Held open: unlike an outage, it does not half-open after resetTimeout (100 ms here).
await sleep(150);
check(circuitBreaker.isOpen('slack'), 'still OPEN after resetTimeout: a manual open holds');
check(service.messages.length === 1, 'Slack received only the message from before');

step('After the window, the circuit is closed and messages flow again');
await sleep(500); // due after the window's own timer, so it runs after it
check(circuitBreaker.isClosed('slack'), 'CLOSED at the end of the window');
check((await post('back')).success && service.messages.length === 2, 'posted');

circuitBreaker.destroy();
await service.close();
console.log('\nexample 7: ok');
