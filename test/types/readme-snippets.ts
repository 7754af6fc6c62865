// The README's TypeScript, as a user pastes it: compiled against the built package under
// --strict by test/types.test.ts. (`slack` and `message` stand for the app's own client.)
import * as circuitBreaker from 'executor-circuit-breaker';
// or: const circuitBreaker = require('executor-circuit-breaker');

// Optional: tune an executor (the defaults are in the table below).
circuitBreaker.configure('notion', { failureThreshold: 3, resetTimeout: 60_000 });

// Wrap each call. fn receives an AbortSignal that aborts on timeout.
const body = JSON.stringify({ parent: { database_id: 'd1' }, properties: {} });
const result = await circuitBreaker.execute('notion', (signal) =>
  fetch('https://api.notion.com/v1/pages', { method: 'POST', body, signal }).then((r) => r.json()),
);

if (result.success) {
  console.log(result.fromCache ? 'cached:' : 'fresh:', result.data);
} else if (result.error instanceof circuitBreaker.CircuitOpenError) {
  console.log('Notion is down; next attempt at', result.error.nextAttemptTime);
} else {
  console.log('call failed:', result.error.message); // a TimeoutError after requestTimeout
}

// Watch the circuits.
circuitBreaker.on('circuit:opened', (name, stats) =>
  console.error(`${name} is down; next attempt at ${stats.nextAttemptTime?.toISOString()}`),
);
circuitBreaker.on('circuit:closed', (name) => console.log(`${name} recovered`));

console.log(circuitBreaker.getSummary());

declare const slack: { chat: { postMessage(message: { channel: string; text: string }): Promise<{ ok: boolean }> } };
declare const message: { channel: string; text: string };
{
  const breakers = circuitBreaker.createRegistry({ defaults: { failureThreshold: 2 } });
  await breakers.execute('slack', () => slack.chat.postMessage(message));
  breakers.destroy();
}

import http from 'node:http';
import { createDashboard } from 'executor-circuit-breaker/dashboard';

const dashboard = createDashboard(); // the module functions' breakers
http.createServer(dashboard).listen(9091, '127.0.0.1'); // or Express: app.use('/ops/breakers', dashboard)
