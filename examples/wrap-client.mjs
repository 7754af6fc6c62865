// wrapClient: the real Notion and Slack clients, every method through the breaker.
//
//   node examples/wrap-client.mjs          (after `npm run build`)
//
// `wrapClient(name, client, options)` returns a proxy of the SDK client: its methods, at any
// depth (`notion.dataSources.query`, `slack.chat.postMessage`), run through executeOrThrow
// under one executor, on the real objects, so the SDK works as it always does. Reads that
// `cacheable` names are answered from the fallback cache while the circuit is open, each
// under its method and arguments; writes never are.

import * as circuitBreaker from 'executor-circuit-breaker';
import { check, createNotionClient, createSlackClient, step } from './clients.mjs';
import { startFlakyService } from './flaky-service.mjs';

const service = await startFlakyService();

circuitBreaker.configure('notion', { failureThreshold: 3 });
circuitBreaker.configure('slack', { failureThreshold: 3 });

// ---- the app's code ------------------------------------------------------------------------

const notion = circuitBreaker.wrapClient('notion', createNotionClient(service), {
  cacheable: (path) => path === 'dataSources.query' || path.endsWith('.retrieve'),
});
const slack = circuitBreaker.wrapClient('slack', createSlackClient(service), {
  retry: { attempts: 3, minDelay: 10 },
});

async function listTasks(dataSourceId) {
  const list = await notion.dataSources.query({ data_source_id: dataSourceId });
  return list.results.map((page) => page.id);
}

// ---- the story ---------------------------------------------------------------------------

step('Notion is up: reads and writes go through the breaker, the client works as usual');
console.log(`  tasks: ${(await listTasks('tasks')).join(', ')}`);
const page = await notion.pages.create({
  parent: { data_source_id: 'tasks' },
  properties: { title: { title: [{ text: { content: 'Write the report' } }] } },
});
console.log(`  created ${page.id}`);
check(page.object === 'page' && circuitBreaker.getStats('notion').successfulRequests === 2, 'two calls, both through the breaker');

step('Notion goes down: 3 failed writes open the circuit');
service.setMode('down', 'notion');
for (let i = 1; i <= 3; i++) {
  await notion.pages.create({ parent: { data_source_id: 'tasks' }, properties: {} }).catch((error) => {
    console.log(`  write ${i}: ${error.code} (HTTP ${error.status})`);
  });
}
check(circuitBreaker.isOpen('notion'), 'the circuit is OPEN');

step('While OPEN: a read answers from the cache, under its own arguments; a write never does');
const hits = service.hits().notion;
console.log(`  tasks (cached): ${(await listTasks('tasks')).join(', ')}`);
const refusals = [];
await listTasks('projects').catch((error) => refusals.push(`projects: ${error.name}`));
await notion.pages.create({ parent: { data_source_id: 'tasks' }, properties: {} }).catch((error) => refusals.push(`write: ${error.name}`));
console.log(`  ${refusals.join(', ')}`);
check(refusals.length === 2 && refusals.every((r) => r.endsWith('CircuitOpenError')), 'another read and a write are refused');
check(service.hits().notion === hits, 'Notion received no request');

step('Slack is flaky: the wrapped client retries, and methods that are not calls pass through');
service.setMode('flaky', 'slack');
for (let i = 1; i <= 3; i++) {
  const posted = await slack.chat.postMessage({ channel: 'C-ops', text: `update ${i}` });
  console.log(`  posted "${posted.message.text}" (ok: ${posted.ok})`);
}
const slackStats = circuitBreaker.getStats('slack');
check(service.messages.length === 3 && slackStats.retries === 1, 'every message posted once, one retry');
const pager = slack.paginate('conversations.list');
check(typeof pager[Symbol.asyncIterator] === 'function' && slack.token === 'xoxb-example', 'paginate and the token pass through untouched');

circuitBreaker.destroy();
await service.close();
console.log('\nwrap-client: ok');
