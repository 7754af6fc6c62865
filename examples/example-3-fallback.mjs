// Example 3 of the guide: the fallback pattern, with the real Notion client.
//
//   node examples/example-3-fallback.mjs   (after `npm run build`)
//
// While the circuit is OPEN, a read is answered with the last good result (younger than
// fallbackMaxAge). Notion client v5 queries a data source (`dataSources.query`); the
// guide's `databases.query` is the API of older versions. One cache entry per data source,
// by `cacheKey`, so that one source's result never answers a query for another.

import * as circuitBreaker from 'executor-circuit-breaker';
import { check, createNotionClient, step } from './clients.mjs';
import { startFlakyService } from './flaky-service.mjs';

const service = await startFlakyService();
const notionClient = createNotionClient(service);

circuitBreaker.configure('notion', { failureThreshold: 3, cacheFallback: true, fallbackMaxAge: 10 * 60 * 1000 });

// ---- the guide's code --------------------------------------------------------------------

const warnings = [];

async function getNotionData(dataSourceId) {
  const result = await circuitBreaker.execute(
    'notion',
    async () => {
      return await notionClient.dataSources.query({
        data_source_id: dataSourceId,
      });
    },
    { cacheKey: dataSourceId },
  );

  if (result.success) {
    if (result.fromCache) {
      console.log('  ⚠️ Using cached data - Notion may be down');
      warnings.push(dataSourceId);
    }
    return result.data;
  }

  // Circuit is open and no cache available (or the call itself failed)
  throw new Error('Notion service unavailable and no cached data');
}

// ---- the story ---------------------------------------------------------------------------

step('Notion is up: a fresh result, which is also kept');
const fresh = await getNotionData('tasks');
console.log(`  ${fresh.results.length} pages: ${fresh.results.map((p) => p.id).join(', ')}`);
check(fresh.results.length === 3 && warnings.length === 0, 'fresh data, no warning');

step('Notion goes down: 3 failed queries open the circuit');
service.setMode('down', 'notion');
for (let i = 1; i <= 3; i++) {
  await getNotionData('tasks').catch((error) => console.log(`  query ${i}: ${error.message}`));
}
check(circuitBreaker.isOpen('notion'), 'the circuit is OPEN');

step('While OPEN: the cached result answers, without a request to Notion');
const before = service.hits().notion;
const cached = await getNotionData('tasks');
check(cached.results.length === 3 && warnings.length === 1, 'the cached pages come back, with a warning');
check(service.hits().notion === before, 'Notion received no request');

step('While OPEN, a data source never read before has nothing to fall back on');
try {
  await getNotionData('projects');
  check(false, 'should have thrown');
} catch (error) {
  console.log(`  ${error.message}`);
  check(error.message === 'Notion service unavailable and no cached data', 'no cache for it: the call fails');
}

const stats = circuitBreaker.getStats('notion');
check(stats.rejectedRequests === 2, 'both calls while OPEN count as rejected (one answered from cache)');
circuitBreaker.destroy();
await service.close();
console.log('\nexample 3: ok');
