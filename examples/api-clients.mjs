// The guide's "Setting up the API clients": @notionhq/client, @slack/web-api and Trello's
// REST API under the breaker, set up as in clients.mjs. A timeout cancels each client's
// request (the breaker's signal reaches them through withSignal), one call is one request,
// and each service's errors are sorted into "the service is failing" and "the request was
// wrong", with the pause a rate limit asks for.
//
//   node examples/api-clients.mjs (after `npm run build`)

import * as circuitBreaker from 'executor-circuit-breaker';
import {
  check,
  createNotionClient,
  createSlackClient,
  createTrelloClient,
  notionIsFailure,
  notionRetryAfter,
  sleep,
  slackIsFailure,
  slackRetryAfter,
  step,
  trelloIsFailure,
  trelloRetryAfter,
  withSignal,
} from './clients.mjs';
import { startFlakyService } from './flaky-service.mjs';

const REQUEST_TIMEOUT = 300;
const service = await startFlakyService({ slowMs: 5_000, retryAfterSeconds: 30 });
// Room for an answer on a busy machine while the calls below end with the service's answer.
for (const name of ['notion', 'slack', 'trello']) {
  circuitBreaker.configure(name, { requestTimeout: 5_000, cacheFallback: false });
}

const notion = createNotionClient(service);
const slack = createSlackClient(service);
const trello = createTrelloClient(service);

const calls = {
  notion: () =>
    circuitBreaker.execute('notion', (signal) =>
      withSignal(signal, () => notion.pages.create({ parent: { database_id: 'd1' }, properties: {} })),
    ),
  slack: () =>
    circuitBreaker.execute('slack', (signal) =>
      withSignal(signal, () => slack.chat.postMessage({ channel: '#ops', text: 'deployed' })),
    ),
  trello: () => circuitBreaker.execute('trello', (signal) => trello.createCard({ title: 'Renew the certificate' }, signal)),
};
const sorters = {
  notion: [notionIsFailure, notionRetryAfter],
  slack: [slackIsFailure, slackRetryAfter],
  trello: [trelloIsFailure, trelloRetryAfter],
};

step('Each kind of error, sorted for isFailure and retryAfter');
for (const mode of ['down', 'limited', 'invalid']) {
  service.setMode(mode);
  for (const [name, call] of Object.entries(calls)) {
    const { error } = await call();
    const [isFailure, retryAfter] = sorters[name];
    const pause = retryAfter(error);
    const verdict = isFailure(error) ? 'the service is failing' : 'the request was wrong';
    console.log(`  ${mode.padEnd(7)} ${name.padEnd(6)} ${error.message.slice(0, 60).padEnd(60)} -> ${verdict}${pause ? `, pause ${pause} ms` : ''}`);
  }
}
const hits = service.hits();
const requests = ['notion', 'slack', 'trello'].map((name) => hits[name]);
check(requests.every((n) => n === 3), `one request per call: 3 calls, 3 requests per service (${requests.join(', ')})`);

step('Service slow: the breaker times each call out and the request is cancelled');
for (const name of ['notion', 'slack', 'trello']) circuitBreaker.configure(name, { requestTimeout: REQUEST_TIMEOUT });
service.setMode('slow');
for (const [name, call] of Object.entries(calls)) {
  const result = await call();
  console.log(`  ${name}: ${result.error.name} after ${result.executionTime} ms`);
}
// The service sees each connection close a moment later.
for (let waited = 0; waited < 2_000 && service.inFlight() > 0; waited += 20) await sleep(20);
check(service.inFlight() === 0, 'no request is left open at the service');

circuitBreaker.destroy();
await service.close();
console.log('\napi-clients: ok');
