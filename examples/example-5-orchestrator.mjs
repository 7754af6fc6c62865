// Example 5 of the guide: a workflow orchestrator whose tools call Notion and Slack through
// their real clients, one circuit per service.
//
//   node examples/example-5-orchestrator.mjs (after `npm run build`)
//
// When Notion is down, its steps fail, then are skipped without a request while its circuit
// is open; Slack steps carry on unaffected.

import * as circuitBreaker from 'executor-circuit-breaker';
import { check, createNotionClient, createSlackClient, step } from './clients.mjs';
import { startFlakyService } from './flaky-service.mjs';

const service = await startFlakyService();
const notionClient = createNotionClient(service);
const slackClient = createSlackClient(service);
const logger = { warn: (message) => console.log(`  [warn] ${message}`) };

// Both tools write: no fallback cache.
circuitBreaker.configure('notion', { failureThreshold: 2, cacheFallback: false });
circuitBreaker.configure('slack', { failureThreshold: 2, cacheFallback: false });

/** The tools the orchestrator knows, by name. */
const tools = {
  'notion:createPage': ({ title }) =>
    notionClient.pages.create({
      parent: { database_id: 'tasks-db' },
      properties: { title: { title: [{ text: { content: title } }] } },
    }),
  'slack:postMessage': ({ channel, text }) => slackClient.chat.postMessage({ channel, text }),
};

async function executeTool(toolName, args) {
  const tool = tools[toolName];
  if (!tool) throw new Error(`unknown tool ${toolName}`);
  return tool(args);
}

// ---- the guide's code --------------------------------------------------------------------

async function executeToolWithCircuitBreaker(toolName, executorName, args) {
  // Check circuit state before expensive operations
  if (circuitBreaker.isOpen(executorName)) {
    logger.warn(`Circuit open for ${executorName}, skipping tool ${toolName}`);
    return {
      success: false,
      error: `Service ${executorName} is currently unavailable`,
    };
  }

  // Execute with circuit breaker
  const result = await circuitBreaker.execute(executorName, async () => {
    return await executeTool(toolName, args);
  });

  return {
    success: result.success,
    data: result.data,
    error: result.error?.message,
    fromCache: result.fromCache,
    rejected: result.rejected,
  };
}

/** The orchestrator's loop: the executor is the part of the tool name before ':'. */
async function runWorkflow(steps) {
  const outcomes = [];
  for (const { tool, args } of steps) {
    const executorName = tool.split(':')[0];
    const outcome = await executeToolWithCircuitBreaker(tool, executorName, args);
    console.log(`  ${tool.padEnd(18)} ${outcome.success ? 'ok' : `failed: ${outcome.error}`}`);
    outcomes.push(outcome.success ? 'ok' : outcome.error.startsWith('Service') ? 'skipped' : 'failed');
  }
  return outcomes;
}

const workflow = (n) => [
  { tool: 'notion:createPage', args: { title: `Incident ${n}` } },
  { tool: 'slack:postMessage', args: { channel: '#ops', text: `Incident ${n} filed` } },
];

// ---- the story ---------------------------------------------------------------------------

step('Both services up');
check((await runWorkflow(workflow(1))).join() === 'ok,ok', 'both steps succeed');

step('Notion down: its steps fail twice, then are skipped; Slack steps still run');
service.setMode('down', 'notion');
const outcomes = [];
for (let n = 2; n <= 4; n++) outcomes.push(...(await runWorkflow(workflow(n))));
check(outcomes.join() === 'failed,ok,failed,ok,skipped,ok', 'notion: failed, failed, skipped; slack: ok each time');
check(circuitBreaker.isOpen('notion') && circuitBreaker.isClosed('slack'), 'only the notion circuit is open');
check(service.messages.length === 4, 'Slack received all 4 messages');

circuitBreaker.destroy();
await service.close();
console.log('\nexample 5: ok');
