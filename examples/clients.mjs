// The real API clients the examples protect, pointed at the local fake service
// (flaky-service.mjs) instead of api.notion.com and slack.com, and a few small helpers.
//
// Both clients can retry on their own. The examples turn that off: the breaker's own
// `retry` (see example-2-retry.mjs) makes each try a call the circuit sees, and stops
// retrying as soon as the circuit opens.

import { Client as NotionClient, LogLevel as NotionLogLevel } from '@notionhq/client';
import { WebClient, LogLevel as SlackLogLevel } from '@slack/web-api';

/** A real @notionhq/client Client talking to `service`. */
export function createNotionClient(service) {
  return new NotionClient({
    auth: 'secret_example',
    baseUrl: service.url, // the client adds /v1/...
    retry: false,
    timeoutMs: 5_000, // the breaker's requestTimeout is shorter; this only bounds the socket
    logLevel: NotionLogLevel.ERROR,
  });
}

/** A real @slack/web-api WebClient talking to `service`. */
export function createSlackClient(service) {
  return new WebClient('xoxb-example', {
    slackApiUrl: service.slackApiUrl, // must end with '/'
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: 5_000,
    logLevel: SlackLogLevel.ERROR,
  });
}

/** Trello has no official Node client: its REST API through fetch. Throws on an HTTP error. */
export function createTrelloClient(service) {
  return {
    async createCard(card, signal) {
      const response = await fetch(`${service.url}/1/cards`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ idList: 'list-1', name: card.title, desc: card.description ?? '' }),
        signal,
      });
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`Trello: HTTP ${response.status}`);
      }
      return response.json();
    },
  };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Prints a step of the story. */
export function step(title) {
  console.log(`\n--- ${title}`);
}

/** Prints a check that passed; throws (so the example exits non-zero) when it did not. */
export function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
  console.log(`  ✓ ${message}`);
}

/** Waits until `executorName`'s OPEN circuit lets probes through (its timers are unref'd). */
export async function waitForHalfOpen(circuitBreaker, executorName) {
  const next = circuitBreaker.getStats(executorName)?.nextAttemptTime;
  if (next) await sleep(Math.max(0, next.getTime() - Date.now()) + 20);
}
