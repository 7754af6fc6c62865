// Example 2 of the guide (and "With Retry Manager"): retries inside the circuit breaker.
//
//   node examples/example-2-retry.mjs      (after `npm run build`)
//
// The retry runs inside the breaker's call, so the breaker sees one outcome per logical
// call: a blip that a retry absorbs is a success, and only a call whose every attempt
// failed counts towards opening the circuit. Once it is open, no attempt is made at all.
// The whole retry, back-off included, must fit in the executor's requestTimeout: when the
// timeout fires, the signal aborts and the retry stops.

import * as circuitBreaker from 'executor-circuit-breaker';
import { check, createNotionClient, sleep, step } from './clients.mjs';
import { startFlakyService } from './flaky-service.mjs';

const service = await startFlakyService();
const notionClient = createNotionClient(service);

circuitBreaker.configure('notion', { failureThreshold: 3, requestTimeout: 2_000, cacheFallback: false });

// ---- a small retry manager (the guide's `retry.retry`) -----------------------------------

/** Errors worth another attempt: rate limits, server errors, timeouts, network failures. */
function isRetryable(error) {
  const status = error?.status;
  if (typeof status === 'number') return status === 429 || status >= 500;
  return ['notionhq_client_request_timeout', 'ECONNRESET', 'ECONNREFUSED'].includes(error?.code) || error?.name === 'TypeError';
}

const retry = {
  /**
   * Calls `fn` up to `attempts` times, waiting `baseDelayMs`, then twice that, ... between
   * attempts. Stops early when `signal` aborts (the breaker's timeout) or the error is not
   * worth retrying.
   */
  async retry(fn, { operation, attempts = 3, baseDelayMs = 20, signal, onRetry }) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (attempt >= attempts || !isRetryable(error) || signal?.aborted) throw error;
        onRetry?.(operation, attempt, error);
        await sleep(baseDelayMs * 2 ** (attempt - 1));
        if (signal?.aborted) throw signal.reason;
      }
    }
  },
};

// ---- the guide's code --------------------------------------------------------------------

let retries = 0;
const onRetry = (operation, attempt, error) => {
  retries++;
  console.log(`    ${operation}: attempt ${attempt} failed (${error.code ?? error.message}), retrying`);
};

async function robustNotionCall(operation, fn) {
  // First check circuit breaker
  if (circuitBreaker.isOpen('notion')) {
    throw new Error('Notion circuit is open - service unavailable');
  }

  // Execute with both retry and circuit breaker. The breaker's signal reaches the retry.
  const result = await circuitBreaker.execute('notion', async (signal) => {
    return await retry.retry(fn, { operation, signal, onRetry });
  });

  if (result.rejected) {
    throw new Error('Circuit breaker rejected request');
  }

  if (!result.success) {
    throw result.error;
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
check(retries === 2, 'two attempts failed and were retried');
check(stats.successfulRequests === 5 && stats.failedRequests === 0, 'the breaker saw 5 successes and no failure');

step('Notion is down: every attempt fails; 3 failed calls (9 requests) open the circuit');
service.setMode('down', 'notion');
const before = service.hits().notion;
for (let i = 1; i <= 3; i++) {
  try {
    await robustNotionCall('query tasks', queryTasks);
  } catch (error) {
    console.log(`  call ${i} failed after its retries: ${error.code}`);
  }
}
stats = circuitBreaker.getStats('notion');
check(service.hits().notion - before === 9, 'Notion received 3 attempts per call, 9 in all');
check(stats.failedRequests === 3 && stats.state === 'OPEN', 'the breaker counted 3 failures, and opened');

step('While OPEN, robustNotionCall fails fast: no attempt, no retry');
const hits = service.hits().notion;
try {
  await robustNotionCall('query tasks', queryTasks);
} catch (error) {
  console.log(`  ${error.message}`);
  check(error.message === 'Notion circuit is open - service unavailable', 'the isOpen check answers first');
}
check(service.hits().notion === hits, 'Notion received no request');

circuitBreaker.destroy();
await service.close();
console.log('\nexample 2: ok');
