// Example 2 of the guide (and "With Retry Manager"): retries by the library itself.
//
//   node examples/example-2-retry.mjs      (after `npm run build`)
//
// Each try is a full call through the breaker, so the circuit counts every attempt, and a
// rejection (the circuit open) ends the retries at once: no attempt is spent on a circuit
// that is known to be open, and no retry helper of the app's own is needed.

import * as circuitBreaker from 'executor-circuit-breaker';
import { check, createNotionClient, step } from './clients.mjs';
import { startFlakyService } from './flaky-service.mjs';

const service = await startFlakyService();
const notionClient = createNotionClient(service);

circuitBreaker.configure('notion', {
  failureThreshold: 5,
  requestTimeout: 2_000,
  cacheFallback: false,
  // At most one retry per first try over the failure window. The default, 0.2, suits heavy
  // traffic; this story makes a handful of calls.
  retryBudget: 1,
});

const retries = [];
circuitBreaker.on('request:retry', (executorName, attempt, error, delayMs) => {
  retries.push(attempt);
  console.log(`    ${executorName}: try ${attempt - 1} failed (${error.code ?? error.message}), try ${attempt} in ${delayMs} ms`);
});

// ---- the guide's code --------------------------------------------------------------------

/** Worth another try: rate limits, server errors, timeouts; not a bad request. */
const isRetryable = (error) => error?.status === undefined || error.status === 429 || error.status >= 500;

async function robustNotionCall(operation, fn) {
  const result = await circuitBreaker.execute('notion', fn, {
    retry: { attempts: 3, minDelay: 20, retryIf: isRetryable },
  });

  if (result.rejected) {
    throw new Error('Circuit breaker rejected request');
  }

  if (!result.success) {
    throw new Error(`${operation} failed after ${result.attempts} attempts: ${result.error.message}`, { cause: result.error });
  }

  return result.data;
}

const queryTasks = () => notionClient.dataSources.query({ data_source_id: 'tasks' });

// ---- the story ---------------------------------------------------------------------------

step('Notion is flaky (every third request fails): the retries absorb it');
service.setMode('flaky', 'notion');
for (let i = 1; i <= 5; i++) {
  const list = await robustNotionCall('query tasks', queryTasks);
  console.log(`  call ${i}: ${list.results.length} pages`);
}
let stats = circuitBreaker.getStats('notion');
check(retries.length === 2 && stats.retries === 2, 'two tries failed and were retried');
check(stats.successfulRequests === 5 && stats.failedRequests === 2, 'the breaker saw every try: 5 successes, 2 failures');
check(stats.state === 'CLOSED', 'two failures are below the threshold (5): the circuit stays CLOSED');

step('Notion is down: three more failed tries make five in the window, and open the circuit');
service.setMode('down', 'notion');
const before = service.hits().notion;
try {
  await robustNotionCall('query tasks', queryTasks);
} catch (error) {
  console.log(`  ${error.message}`);
}
stats = circuitBreaker.getStats('notion');
check(service.hits().notion - before === 3, 'Notion received the 3 tries of the call');
check(stats.state === 'OPEN' && stats.failedRequests === 5, 'the breaker counted each try: 5 failures, and it opened');

step('While OPEN, robustNotionCall fails fast: no attempt, no retry');
const hits = service.hits().notion;
const retried = retries.length;
try {
  await robustNotionCall('query tasks', queryTasks);
} catch (error) {
  console.log(`  ${error.message}`);
  check(error.message === 'Circuit breaker rejected request', 'the rejection is the result, at once');
}
check(service.hits().notion === hits && retries.length === retried, 'Notion received no request, and nothing was retried');

circuitBreaker.destroy();
await service.close();
console.log('\nexample 2: ok');
