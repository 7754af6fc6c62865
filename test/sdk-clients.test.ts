/**
 * The real @notionhq/client and @slack/web-api clients, and Trello's REST API through fetch,
 * under the breaker, against the local fault-injecting service (examples/flaky-service.mjs):
 * every claim of the guide's "Setting up the API clients", checked on the clients
 * themselves. Their own retries and timeouts (defaults, then as examples/clients.mjs sets
 * them up), what reaches them of the breaker's signal, and which of their errors mean "the
 * service is failing" rather than "the request was wrong".
 *
 * Real timers and a real HTTP server on 127.0.0.1, with short timeouts.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client as NotionClient, LogLevel as NotionLogLevel, UnknownHTTPResponseError, isNotionClientError } from '@notionhq/client';
import { WebClient, LogLevel as SlackLogLevel, retryPolicies } from '@slack/web-api';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TimeoutError, createRegistry, type CircuitBreakerRegistry } from '../src/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
// Plain JavaScript, loaded as the examples load it.
let clients: any;
let startFlakyService: (options?: { slowMs?: number; retryAfterSeconds?: number }) => Promise<any>;

beforeAll(async () => {
  clients = await import(join(root, 'examples', 'clients.mjs'));
  ({ startFlakyService } = await import(join(root, 'examples', 'flaky-service.mjs')));
});

const REQUEST_TIMEOUT = 200;
let service: any;
let reg: CircuitBreakerRegistry;

/**
 * A fresh service and registry. Calls that end with the service's answer get a roomy
 * requestTimeout (the machine may be busy); tests about the breaker's timeout ask for
 * REQUEST_TIMEOUT.
 */
async function start(options: { slowMs?: number; retryAfterSeconds?: number } = {}, requestTimeout = 5_000) {
  service = await startFlakyService({ slowMs: 3_000, ...options });
  reg = createRegistry({ defaults: { requestTimeout, failureThreshold: 100 } });
  return service;
}

afterEach(async () => {
  reg?.destroy();
  await service?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 10 ms for up to `ms`; true once it holds. */
async function eventually(condition: () => boolean, ms: number): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await sleep(10)) if (condition()) return true;
  return condition();
}

const hits = (name: 'notion' | 'slack' | 'trello') => service.hits()[name] as number;

// ---------------------------------------------------------------------------------------

describe('@notionhq/client', () => {
  const page = { parent: { database_id: 'd1' }, properties: {} };

  it('by default retries a 429 twice (honouring Retry-After) but not a POST that got a 500', async () => {
    await start({ retryAfterSeconds: 0 });
    const notion = new NotionClient({ auth: 'secret', baseUrl: service.url, logLevel: NotionLogLevel.ERROR });
    service.setMode('limited', 'notion');
    const limited = await reg.execute('notion', () => notion.pages.create(page));
    expect((limited.error as any).code).toBe('rate_limited');
    expect(hits('notion')).toBe(3); // one call, three requests

    service.setMode('down', 'notion');
    const down = await reg.execute('notion', () => notion.pages.create(page));
    expect((down.error as any).code).toBe('internal_server_error');
    expect(hits('notion')).toBe(4);
  });

  it('set up as in examples/clients.mjs (retry: false), one breaker call is one request', async () => {
    await start({ retryAfterSeconds: 0 });
    const notion = clients.createNotionClient(service);
    service.setMode('limited', 'notion');
    const result = await reg.execute('notion', () => notion.pages.create(page));
    expect((result.error as any).code).toBe('rate_limited');
    expect(hits('notion')).toBe(1);
  });

  it("takes no signal: the breaker's timeout leaves its request open, unless withSignal hands it the signal", async () => {
    await start({}, REQUEST_TIMEOUT);
    const notion = clients.createNotionClient(service, { requestTimeout: REQUEST_TIMEOUT });
    service.setMode('slow', 'notion');

    const plain = await reg.execute('notion', (_signal) => notion.pages.create(page));
    expect(plain.error).toBeInstanceOf(TimeoutError);
    await sleep(50);
    expect(service.inFlight()).toBe(1); // still waiting for Notion's answer

    const wired = await reg.execute('notion', (signal) => clients.withSignal(signal, () => notion.pages.create(page)));
    expect(wired.error).toBeInstanceOf(TimeoutError);
    // The first request ends at the client's own timeoutMs (requestTimeout + 1 s); this one at once.
    expect(await eventually(() => service.inFlight() === 1, 500)).toBe(true);
    expect(hits('notion')).toBe(2);
  });

  it('by default retries a GET that got a 500', async () => {
    await start({}, REQUEST_TIMEOUT);
    const notion = new NotionClient({ auth: 'secret', baseUrl: service.url, logLevel: NotionLogLevel.ERROR });
    service.setMode('down', 'notion');
    const result = await reg.execute('notion', () => notion.pages.retrieve({ page_id: 'p1' }));
    expect(result.error).toBeInstanceOf(TimeoutError);
    // Its first retry comes 0.5-1.5 s later, for a call the breaker has already given up on.
    expect(await eventually(() => hits('notion') >= 2, 3_000)).toBe(true);
    service.setMode('up', 'notion'); // the next retry (a 404 from the fake) ends them
  }, 10_000);

  it('its own timeoutMs rejects with RequestTimeoutError, a failure, and leaves the request open', async () => {
    await start();
    const notion = new NotionClient({ auth: 'secret', baseUrl: service.url, timeoutMs: 50, retry: false, logLevel: NotionLogLevel.ERROR });
    service.setMode('slow', 'notion');
    const result = await reg.execute('notion', () => notion.pages.create(page));
    expect(result.error).toMatchObject({ name: 'RequestTimeoutError', code: 'notionhq_client_request_timeout' });
    expect(clients.notionIsFailure(result.error)).toBe(true);
    expect(service.inFlight()).toBe(1);
  });

  it('an answer that is not a Notion error object (a proxy\'s 502) is an UnknownHTTPResponseError, a failure', () => {
    const error = new UnknownHTTPResponseError({ status: 502, message: undefined, headers: new Headers(), rawBodyText: '<html>Bad gateway</html>' });
    expect(isNotionClientError(error)).toBe(true);
    expect(clients.notionIsFailure(error)).toBe(true);
    expect(clients.notionRetryAfter(error)).toBeUndefined();
  });

  it('sorts its errors: 5xx, 429 and network errors are failures, 4xx answers are the request\'s fault', async () => {
    await start({ retryAfterSeconds: 2 });
    const notion = clients.createNotionClient(service);
    const call = async () => (await reg.execute('notion', (signal) => clients.withSignal(signal, () => notion.pages.create(page)))).error;

    service.setMode('down', 'notion');
    const down = await call();
    expect(down).toMatchObject({ name: 'APIResponseError', code: 'internal_server_error', status: 500 });
    expect([clients.notionIsFailure(down), clients.notionRetryAfter(down)]).toEqual([true, undefined]);

    service.setMode('limited', 'notion');
    const limited = await call();
    expect(limited).toMatchObject({ name: 'APIResponseError', code: 'rate_limited', status: 429 });
    expect([clients.notionIsFailure(limited), clients.notionRetryAfter(limited)]).toEqual([true, 2_000]);

    service.setMode('invalid', 'notion');
    const invalid = await call();
    expect(invalid).toMatchObject({ name: 'APIResponseError', code: 'validation_error', status: 400 });
    expect([clients.notionIsFailure(invalid), clients.notionRetryAfter(invalid)]).toEqual([false, undefined]);

    const path = await reg.execute('notion', () => notion.pages.retrieve({ page_id: '../users' }));
    expect(path.error).toMatchObject({ code: 'notionhq_client_invalid_path_parameter' });
    expect(clients.notionIsFailure(path.error)).toBe(false);

    await service.close();
    const network = await call();
    expect(network).toBeInstanceOf(TypeError); // fetch failed
    expect(clients.notionIsFailure(network)).toBe(true);
    service = undefined;
  });
});

// ---------------------------------------------------------------------------------------

describe('@slack/web-api', () => {
  const message = { channel: '#ops', text: 'hello' };

  it('by default keeps retrying a 500 after the breaker has timed the call out', async () => {
    await start({}, REQUEST_TIMEOUT);
    expect(retryPolicies.tenRetriesInAboutThirtyMinutes.retries).toBe(10);
    const slack = new WebClient('xoxb-token', { slackApiUrl: service.slackApiUrl, logLevel: SlackLogLevel.ERROR });
    service.setMode('down', 'slack');
    const result = await reg.execute('slack', () => slack.chat.postMessage(message));
    expect(result.error).toBeInstanceOf(TimeoutError);
    expect(hits('slack')).toBe(1);
    // Its first retry comes 1-2 s later, for a call the breaker has already given up on.
    expect(await eventually(() => hits('slack') >= 2, 4_000)).toBe(true);
    service.setMode('up', 'slack'); // let its next retry succeed, ending them
  }, 10_000);

  it('by default does not retry an ok: false answer: the call gets its PlatformError at once', async () => {
    await start();
    const slack = new WebClient('xoxb-token', { slackApiUrl: service.slackApiUrl, logLevel: SlackLogLevel.ERROR });
    service.setMode('invalid', 'slack');
    const result = await reg.execute('slack', () => slack.chat.postMessage(message));
    expect(result.error).toMatchObject({ code: 'slack_webapi_platform_error' }); // within requestTimeout
    expect(hits('slack')).toBe(1);
  });

  it("by default waits out a 429's Retry-After and tries again", async () => {
    await start({ retryAfterSeconds: 1 }, REQUEST_TIMEOUT);
    const slack = new WebClient('xoxb-token', { slackApiUrl: service.slackApiUrl, logLevel: SlackLogLevel.ERROR });
    service.setMode('limited', 'slack');
    const result = await reg.execute('slack', () => slack.chat.postMessage(message));
    expect(result.error).toBeInstanceOf(TimeoutError);
    service.setMode('up', 'slack');
    expect(await eventually(() => hits('slack') === 2, 3_000)).toBe(true);
  }, 10_000);

  it('set up as in examples/clients.mjs: one request per call; a 429 rejects at once with retryAfter', async () => {
    await start({ retryAfterSeconds: 2 });
    const slack = clients.createSlackClient(service);
    service.setMode('down', 'slack');
    const down = (await reg.execute('slack', () => slack.chat.postMessage(message))).error;
    expect(down).toMatchObject({ code: 'slack_webapi_http_error', statusCode: 500 });
    expect([clients.slackIsFailure(down), clients.slackRetryAfter(down)]).toEqual([true, undefined]);
    expect(hits('slack')).toBe(1);

    service.setMode('limited', 'slack');
    const limited = (await reg.execute('slack', () => slack.chat.postMessage(message))).error;
    expect(limited).toMatchObject({ code: 'slack_webapi_rate_limited_error', retryAfter: 2 });
    expect([clients.slackIsFailure(limited), clients.slackRetryAfter(limited)]).toEqual([true, 2_000]);
    expect(hits('slack')).toBe(2);
  });

  it("takes no signal: the breaker's timeout leaves its request open, unless withSignal hands it the signal", async () => {
    await start({}, REQUEST_TIMEOUT);
    const slack = clients.createSlackClient(service, { requestTimeout: REQUEST_TIMEOUT });
    service.setMode('slow', 'slack');

    const plain = await reg.execute('slack', (_signal) => slack.chat.postMessage(message));
    expect(plain.error).toBeInstanceOf(TimeoutError);
    await sleep(50);
    expect(service.inFlight()).toBe(1);

    const wired = await reg.execute('slack', (signal) => clients.withSignal(signal, () => slack.chat.postMessage(message)));
    expect(wired.error).toBeInstanceOf(TimeoutError);
    expect(await eventually(() => service.inFlight() === 1, 500)).toBe(true);
    expect(hits('slack')).toBe(2);
  });

  it('sorts its errors: ok: false about the request is its fault; HTTP and network errors are failures', async () => {
    await start();
    const slack = clients.createSlackClient(service);
    service.setMode('invalid', 'slack');
    const invalid = (await reg.execute('slack', () => slack.chat.postMessage(message))).error;
    expect(invalid).toMatchObject({ code: 'slack_webapi_platform_error', data: { ok: false, error: 'channel_not_found' } });
    expect(clients.slackIsFailure(invalid)).toBe(false);
    // Slack's own failures reported as ok: false count.
    expect(clients.slackIsFailure({ code: 'slack_webapi_platform_error', data: { ok: false, error: 'internal_error' } })).toBe(true);

    await service.close();
    const network = (await reg.execute('slack', () => slack.chat.postMessage(message))).error;
    expect(network).toMatchObject({ code: 'slack_webapi_request_error' });
    expect(clients.slackIsFailure(network)).toBe(true);
    service = undefined;
  });
});

// ---------------------------------------------------------------------------------------

describe('Trello, its REST API through fetch', () => {
  const card = { title: 'Renew the certificate' };

  it("fetch takes the breaker's signal: a timeout cancels the request", async () => {
    await start({}, REQUEST_TIMEOUT);
    const trello = clients.createTrelloClient(service);
    service.setMode('slow', 'trello');
    const result = await reg.execute('trello', (signal) => trello.createCard(card, signal));
    expect(result.error).toBeInstanceOf(TimeoutError);
    expect(await eventually(() => service.inFlight() === 0, 500)).toBe(true);
    expect(hits('trello')).toBe(1);
  });

  it('sorts its errors: 5xx, 429 and network errors are failures, other 4xx the request\'s fault', async () => {
    await start({ retryAfterSeconds: 2 });
    const trello = clients.createTrelloClient(service);
    const call = async () => (await reg.execute('trello', (signal) => trello.createCard(card, signal))).error;

    service.setMode('down', 'trello');
    const down = await call();
    expect(down).toMatchObject({ name: 'TrelloError', status: 500 });
    expect([clients.trelloIsFailure(down), clients.trelloRetryAfter(down)]).toEqual([true, undefined]);

    service.setMode('limited', 'trello');
    const limited = await call();
    expect(limited).toMatchObject({ name: 'TrelloError', status: 429 });
    expect([clients.trelloIsFailure(limited), clients.trelloRetryAfter(limited)]).toEqual([true, 2_000]);

    service.setMode('invalid', 'trello');
    const invalid = await call();
    expect(invalid).toMatchObject({ name: 'TrelloError', status: 400, message: 'Trello: HTTP 400: invalid value for idList' });
    expect(clients.trelloIsFailure(invalid)).toBe(false);

    await service.close();
    const network = await call();
    expect(network).toBeInstanceOf(TypeError);
    expect(clients.trelloIsFailure(network)).toBe(true);
    service = undefined;
  });
});
