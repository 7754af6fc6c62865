// Example 6 of the guide: graceful degradation. Tasks go to Notion (the real client); when
// Notion fails or its circuit is open, to Trello; when both fail, the caller is told.
//
//   node examples/example-6-graceful-degradation.mjs (after `npm run build`)

import * as circuitBreaker from 'executor-circuit-breaker';
import { check, createNotionClient, createTrelloClient, step } from './clients.mjs';
import { startFlakyService } from './flaky-service.mjs';

const service = await startFlakyService();
const notion = createNotionClient(service);
const trelloClient = createTrelloClient(service);
const logger = { warn: (message) => console.log(`  [warn] ${message}`) };

// Creating a task is a write: no fallback cache on either service.
circuitBreaker.configure('notion', { failureThreshold: 2, cacheFallback: false });
circuitBreaker.configure('trello', { failureThreshold: 2, cacheFallback: false });

/** The guide's `notionClient.createTask`, on the real client. */
const notionClient = {
  createTask: (task) =>
    notion.pages.create({
      parent: { database_id: 'tasks-db' },
      properties: { title: { title: [{ text: { content: task.title } }] } },
    }),
};

// ---- the guide's code --------------------------------------------------------------------

async function createTaskWithGracefulDegradation(task) {
  // Try primary service (Notion)
  const notionResult = await circuitBreaker.execute('notion', async () => {
    return await notionClient.createTask(task);
  });

  if (notionResult.success) {
    return { service: 'notion', id: notionResult.data.id };
  }

  // Fallback to Trello
  logger.warn('Notion failed, falling back to Trello');
  const trelloResult = await circuitBreaker.execute('trello', async (signal) => {
    return await trelloClient.createCard(task, signal);
  });

  if (trelloResult.success) {
    return { service: 'trello', id: trelloResult.data.id };
  }

  // Both services failed
  throw new Error('All task services are unavailable');
}

// ---- the story ---------------------------------------------------------------------------

const created = [];
const create = async (title) => {
  const where = await createTaskWithGracefulDegradation({ title });
  console.log(`  "${title}" -> ${where.service} ${where.id}`);
  created.push(where.service);
};

step('Notion up: tasks go to Notion');
await create('Write the release notes');
check(created.join() === 'notion', 'the task is in Notion');

step('Notion down: tasks go to Trello; after 2 failures Notion is not even tried');
service.setMode('down', 'notion');
await create('Rotate the API keys');
await create('Book the retro');
const before = service.hits().notion;
await create('Renew the certificate');
check(created.slice(1).join() === 'trello,trello,trello', 'three tasks in Trello');
check(circuitBreaker.isOpen('notion') && service.hits().notion === before, 'Notion is OPEN and got no request for the last task');

step('Trello down too: the caller learns that no service is available');
service.setMode('down', 'trello');
for (let i = 0; i < 3; i++) {
  try {
    await create(`Task ${i}`);
    check(false, 'should have thrown');
  } catch (error) {
    console.log(`  ${error.message}`);
  }
}
check(circuitBreaker.isOpen('trello'), 'the trello circuit opened as well');

circuitBreaker.destroy();
await service.close();
console.log('\nexample 6: ok');
