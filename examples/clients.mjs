// The real API clients the examples protect, pointed at the local fake service
// (flaky-service.mjs) instead of api.notion.com, slack.com and api.trello.com, set up for
// life under a circuit breaker (the guide's "Setting up the API clients"), and a few helpers.
//
// - Their own retries are off: retries belong inside the breaker's call (see
//   example-2-retry.mjs), where the breaker sees one outcome per logical call, and where no
//   attempt goes on after the breaker has given up on the call.
// - Their own timeouts are a little longer than the breaker's requestTimeout: the breaker
//   decides when a call has taken too long; the client's timeout only bounds a request the
//   signal cannot reach.
// - Neither SDK takes an AbortSignal per call. withSignal() hands them the signal of the
//   breaker's call anyway (through the fetch that @notionhq/client accepts and the request
//   interceptor of @slack/web-api), so a timeout or the caller's abort cancels the request.
// - Each service's errors are sorted into "the service is failing" (counts towards opening
//   the circuit) and "the service answered: your request was wrong" (does not), with the
//   pause the service asked for, ready for the breaker's isFailure and retryAfter keys.

import { AsyncLocalStorage } from 'node:async_hooks';
import {
  APIErrorCode,
  APIResponseError,
  Client as NotionClient,
  ClientErrorCode,
  LogLevel as NotionLogLevel,
  isNotionClientError,
} from '@notionhq/client';
import { ErrorCode as SlackErrorCode, WebClient, LogLevel as SlackLogLevel } from '@slack/web-api';

// ---- the breaker's signal, for clients that take none --------------------------------

const callSignal = new AsyncLocalStorage();

/**
 * Runs `fn` so that every request the clients below make inside it (retries included) uses
 * `signal`: `execute('notion', (signal) => withSignal(signal, () => notion.pages.create(...)))`.
 */
export function withSignal(signal, fn) {
  return callSignal.run(signal, fn);
}

/** The signal of the breaker call we are in, if any. */
const currentSignal = () => callSignal.getStore();

/** Milliseconds from a Retry-After header (seconds or an HTTP date), or undefined. */
function retryAfterMs(value) {
  if (typeof value !== 'string' || value === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

// ---- Notion ----------------------------------------------------------------------------

/** A real @notionhq/client Client talking to `service`. */
export function createNotionClient(service, { requestTimeout = 10_000 } = {}) {
  return new NotionClient({
    auth: 'secret_example',
    baseUrl: service.url, // the client adds /v1/...
    // Off: by default it retries 429 and 529 on every method and 500/503 on GET and DELETE,
    // twice, waiting up to a minute, after the breaker may have timed the call out.
    retry: false,
    // Default 60 s. It rejects but does not cancel the request; the signal below does.
    timeoutMs: requestTimeout + 1_000,
    // The client calls fetch without a signal: add the breaker's.
    fetch: (url, init) => fetch(url, { ...init, signal: currentSignal() }),
    logLevel: NotionLogLevel.ERROR,
  });
}

// The service answered, and the request was at fault: fix the request, not the service.
const NOTION_REQUEST_ERRORS = new Set([
  APIErrorCode.Unauthorized, // 401
  APIErrorCode.RestrictedResource, // 403
  APIErrorCode.ObjectNotFound, // 404
  APIErrorCode.InvalidJSON, // 400
  APIErrorCode.InvalidRequestURL, // 400
  APIErrorCode.InvalidRequest, // 400
  APIErrorCode.InvalidBeta, // 400
  APIErrorCode.ValidationError, // 400
  APIErrorCode.ConflictError, // 409: a write collided with another; retry it, Notion is fine
  ClientErrorCode.InvalidPathParameter, // refused by the client before any request
]);

/**
 * For the breaker's `isFailure`: false when Notion answered that the request was wrong.
 * 5xx (internal_server_error, service_unavailable, service_overload, gateway_timeout),
 * rate_limited, the client's own timeout, an unreadable answer and network errors count.
 */
export function notionIsFailure(error) {
  return !(isNotionClientError(error) && NOTION_REQUEST_ERRORS.has(error.code));
}

/** For the breaker's `retryAfter`: Notion's Retry-After on rate_limited and service_overload, in ms. */
export function notionRetryAfter(error) {
  if (!APIResponseError.isAPIResponseError(error)) return undefined;
  if (error.code !== APIErrorCode.RateLimited && error.code !== APIErrorCode.ServiceOverload) return undefined;
  return retryAfterMs(error.headers?.get?.('retry-after'));
}

// ---- Slack -----------------------------------------------------------------------------

/** A real @slack/web-api WebClient talking to `service`. */
export function createSlackClient(service, { requestTimeout = 10_000 } = {}) {
  return new WebClient('xoxb-example', {
    slackApiUrl: service.slackApiUrl, // must end with '/'
    // Off: by default it retries every failed request 10 times over about 30 minutes, in the
    // background, long after the breaker has timed the call out.
    retryConfig: { retries: 0 },
    // By default a 429 makes it wait out Retry-After and try again; this rejects at once with
    // a RateLimitedError that carries retryAfter, so the breaker can pause instead.
    rejectRateLimitedCalls: true,
    // Default 0: no timeout at all.
    timeout: requestTimeout + 1_000,
    // Its requests go through axios, which takes a signal per request: add the breaker's.
    requestInterceptor: (config) => {
      const signal = currentSignal();
      if (signal !== undefined) config.signal = signal;
      return config;
    },
    logLevel: SlackLogLevel.ERROR,
  });
}

// `ok: false` answers that mean Slack itself is failing; any other one is about the request.
const SLACK_SERVER_ERRORS = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

/**
 * For the breaker's `isFailure`: false when Slack answered `ok: false` about the request
 * (channel_not_found, not_in_channel, invalid_auth, msg_too_long, ...). HTTP errors, network
 * errors, rate limits and Slack's own internal_error / fatal_error / service_unavailable /
 * request_timeout count.
 */
export function slackIsFailure(error) {
  if (error?.code !== SlackErrorCode.PlatformError) return true;
  return SLACK_SERVER_ERRORS.has(error.data?.error);
}

/** For the breaker's `retryAfter`: a RateLimitedError's retryAfter (seconds), in ms. */
export function slackRetryAfter(error) {
  return error?.code === SlackErrorCode.RateLimitedError ? error.retryAfter * 1000 : undefined;
}

// ---- Trello ----------------------------------------------------------------------------

/** An HTTP error answer of the Trello REST API. */
export class TrelloError extends Error {
  constructor(status, message, retryAfter) {
    super(`Trello: HTTP ${status}${message ? `: ${message}` : ''}`);
    this.name = 'TrelloError';
    this.status = status;
    /** ms, from a 429's Retry-After header, if it had one. */
    this.retryAfter = retryAfter;
  }
}

/**
 * Trello has no official Node.js client: its REST API through fetch, which takes the
 * signal itself. fetch has no timeout and never retries. Throws a TrelloError for an HTTP
 * error (fetch itself only rejects for network errors and aborts).
 */
export function createTrelloClient(service) {
  return {
    async createCard(card, signal) {
      const response = await fetch(`${service.url}/1/cards`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ idList: card.idList ?? 'list-1', name: card.title, desc: card.description ?? '' }),
        signal,
      });
      if (!response.ok) {
        const text = await response.text();
        let message = '';
        try {
          message = JSON.parse(text).message ?? '';
        } catch {
          message = text.slice(0, 200);
        }
        throw new TrelloError(response.status, message, retryAfterMs(response.headers.get('retry-after') ?? ''));
      }
      return response.json();
    },
  };
}

/** For the breaker's `isFailure`: false for a 4xx answer other than 429 (the request was wrong). */
export function trelloIsFailure(error) {
  return !(error instanceof TrelloError && error.status >= 400 && error.status < 500 && error.status !== 429);
}

/** For the breaker's `retryAfter`: a 429's Retry-After, in ms. */
export function trelloRetryAfter(error) {
  return error instanceof TrelloError && error.status === 429 ? error.retryAfter : undefined;
}

// ---- helpers ---------------------------------------------------------------------------

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
