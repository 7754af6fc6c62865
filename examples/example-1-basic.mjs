// Example 1 of the guide: basic API call protection, with the real Notion client.
//
//   node examples/example-1-basic.mjs      (after `npm run build`)
//
// The Notion API is a local fake (flaky-service.mjs) that this script breaks on purpose.

import * as circuitBreaker from 'executor-circuit-breaker';
import { check, createNotionClient, step } from './clients.mjs';
import { startFlakyService } from './flaky-service.mjs';

const service = await startFlakyService();
const notionClient = createNotionClient(service);
const databaseId = 'd9824bdc-8445-4327-be8b-5b47500af6ce';

// Creating a page is a write: a rejected call must not be "answered" with the page created
// by an earlier call, so this executor keeps no fallback cache (Best Practice 5).
circuitBreaker.configure('notion', { failureThreshold: 3, cacheFallback: false });

// ---- the guide's code --------------------------------------------------------------------

async function createNotionPage(title, content) {
  const result = await circuitBreaker.execute('notion', async () => {
    return await notionClient.pages.create({
      parent: { database_id: databaseId },
      properties: {
        title: { title: [{ text: { content: title } }] },
        content: { rich_text: [{ text: { content } }] },
      },
    });
  });

  if (result.success) {
    return result.data;
  } else if (result.rejected) {
    throw new Error('Notion service is currently unavailable');
  } else {
    throw result.error;
  }
}

// ---- the story ---------------------------------------------------------------------------

step('Notion is up: the page is created');
const page = await createNotionPage('Release notes', 'v1.2 is out');
console.log(`  created ${page.object} ${page.id}`);
check(page.object === 'page' && page.id === 'page-1', 'createNotionPage returns the Notion page');

step('Notion fails: each call throws the Notion error, until 3 failures open the circuit');
service.setMode('down', 'notion');
for (let i = 1; i <= 3; i++) {
  try {
    await createNotionPage(`Draft ${i}`, '...');
  } catch (error) {
    console.log(`  call ${i}: ${error.name} (${error.code}, HTTP ${error.status})`);
    check(error.code === 'internal_server_error', `call ${i} throws the client's APIResponseError`);
  }
}
check(circuitBreaker.isOpen('notion'), 'the circuit is OPEN after 3 failures');

step('While OPEN, calls fail fast without reaching Notion');
const before = service.hits().notion;
try {
  await createNotionPage('Draft 4', '...');
} catch (error) {
  console.log(`  ${error.message}`);
  check(error.message === 'Notion service is currently unavailable', 'the rejection is reported as unavailability');
}
check(service.hits().notion === before, 'Notion received no request');

console.log(`\n${circuitBreaker.formatStats(circuitBreaker.getStats('notion'))}`);
circuitBreaker.destroy();
await service.close();
console.log('\nexample 1: ok');
