// Which outcomes count, and when the circuit opens: the settings a Notion, Slack or fetch
// user copies, with the real clients.
//
//   node examples/policies.mjs      (after `npm run build`)
//
// The services are a local fake (flaky-service.mjs) that this script breaks on purpose.

import { APIErrorCode, isNotionClientError } from '@notionhq/client';
import { ErrorCode as SlackErrorCode } from '@slack/web-api';
import * as circuitBreaker from 'executor-circuit-breaker';
import { ResultFailureError } from 'executor-circuit-breaker';
import { check, createNotionClient, createSlackClient, step, waitForHalfOpen } from './clients.mjs';
import { startFlakyService } from './flaky-service.mjs';

const service = await startFlakyService({ retryAfterSeconds: 1 });
const notion = createNotionClient(service);
const slack = createSlackClient(service);

// ---- the settings ------------------------------------------------------------------------

// Notion answered, and the request was at fault: not a sign that Notion is down.
const REQUEST_ERRORS = new Set([APIErrorCode.ObjectNotFound, APIErrorCode.ValidationError, APIErrorCode.Unauthorized]);

circuitBreaker.configure('notion', {
  failureThreshold: 3,
  isFailure: (error) => !(isNotionClientError(error) && REQUEST_ERRORS.has(error.code)),
});

// Slack says how long to back off when it rate-limits (`retryAfter`, in seconds).
circuitBreaker.configure('slack', {
  retryAfter: (error) => (error?.code === SlackErrorCode.RateLimitedError ? error.retryAfter * 1000 : undefined),
});

// fetch resolves on any HTTP status: say which Responses are failures, and honour Retry-After.
circuitBreaker.configure('boards', {
  failureThreshold: 3,
  isResultFailure: (response) => response.status >= 500 || response.status === 429,
  retryAfter: (error) => {
    const seconds = error instanceof ResultFailureError ? error.value.headers.get('retry-after') : null;
    return seconds === null ? undefined : Number(seconds) * 1000;
  },
});

async function getPage(pageId) {
  const result = await circuitBreaker.execute('notion', () => notion.pages.retrieve({ page_id: pageId }));
  if (result.success) return result.data;
  throw result.error;
}

async function getBoard(boardId) {
  const result = await circuitBreaker.execute('boards', (signal) => fetch(`${service.url}/1/boards/${boardId}`, { signal }));
  if (result.success) return result.data.json();
  // A bad Response is kept on the error: release its body.
  if (result.error instanceof ResultFailureError) await result.error.value.body?.cancel();
  throw result.error;
}

// ---- the story ---------------------------------------------------------------------------

step('Notion: pages that do not exist and invalid requests are the caller’s errors');
for (const pageId of ['missing-1', 'missing-2', 'missing-3', 'missing-4']) {
  try {
    await getPage(pageId);
  } catch (error) {
    console.log(`  ${pageId}: ${error.code} (HTTP ${error.status})`);
  }
}
const invalid = await circuitBreaker.execute('notion', () => notion.pages.create({ properties: {} }));
console.log(`  create without a parent: ${invalid.error.code}`);
check(invalid.error.code === 'validation_error', 'the validation error reaches the caller');
check(circuitBreaker.isClosed('notion'), 'four 404s and a validation error leave the Notion circuit CLOSED');
const notionStats = circuitBreaker.getStats('notion');
check(notionStats.ignoredFailures === 5 && notionStats.failedRequests === 5, 'they show as failed requests, all ignored by the circuit');
check((await getPage('p1')).id === 'p1', 'an existing page is still read');

step('Notion down: 500s count, and three open the circuit');
service.setMode('down', 'notion');
for (let i = 0; i < 3; i++) await getPage('p1').catch(() => {});
check(circuitBreaker.isOpen('notion'), 'three 500s open the Notion circuit');

step('Slack rate-limits: the circuit opens at once until the time Slack asked for');
service.setMode('limited', 'slack');
const limited = await circuitBreaker.execute('slack', () => slack.chat.postMessage({ channel: '#ops', text: 'deploy done' }));
console.log(`  ${limited.error.code}, retry after ${limited.error.retryAfter} s`);
check(circuitBreaker.isOpen('slack'), 'one 429 opens the Slack circuit (failureThreshold is 5)');
const slackStats = circuitBreaker.getStats('slack');
const waitMs = slackStats.nextAttemptTime - slackStats.lastFailureTime;
check(waitMs === 1000, `the next attempt is Slack's Retry-After after the failure (${waitMs} ms)`);
const hitsBefore = service.hits().slack;
const rejected = await circuitBreaker.execute('slack', () => slack.chat.postMessage({ channel: '#ops', text: 'again' }));
check(rejected.rejected && service.hits().slack === hitsBefore, 'meanwhile calls are rejected without reaching Slack');
service.setMode('up', 'slack');
await waitForHalfOpen(circuitBreaker, 'slack');
for (let i = 0; i < 2; i++) await circuitBreaker.execute('slack', () => slack.chat.postMessage({ channel: '#ops', text: `retry ${i}` }));
check(circuitBreaker.isClosed('slack'), 'after the pause, two probes succeed and close the Slack circuit');

step('fetch: a Response with status >= 500 is a failure, though fetch resolved');
check((await getBoard('b1')).name === 'Operations', 'a 200 Response is a success');
service.setMode('limited', 'trello');
await getBoard('b1').catch((error) => console.log(`  ${error.name}: HTTP ${error.value.status}, Retry-After ${error.value.headers.get('retry-after')} s`));
const boards = circuitBreaker.getStats('boards');
check(boards.state === 'OPEN' && boards.nextAttemptTime - boards.lastFailureTime === 1000, 'a 429 Response opens the circuit for its Retry-After');
circuitBreaker.closeCircuit('boards'); // for the story: on to the 500s
service.setMode('down', 'trello');
for (let i = 0; i < 3; i++) {
  try {
    await getBoard('b1');
  } catch (error) {
    console.log(`  ${error.name}: HTTP ${error.value.status}`);
  }
}
check(circuitBreaker.isOpen('boards'), 'three 500 Responses open the circuit');

console.log(`\n${circuitBreaker.getSummary()}`);
circuitBreaker.destroy();
await service.close();
console.log('\npolicies example: ok');
