// A guided tour of executor-circuit-breaker against a real (local, fake) HTTP service.
//
//   npm run demo
//
// Two executors, 'notion' (reads) and 'slack' (writes), call a flaky service that this
// script starts and breaks on purpose. Timings are shortened so the whole story takes a few
// seconds; real defaults are in the README / DEFAULT_CONFIG.
//
//   npm run demo -- --dashboard
//
// also serves the live dashboard on 127.0.0.1 (its address is printed first), and after the
// story keeps the outage going, the service cycling up, down and slow, until Ctrl-C.

import * as circuitBreaker from 'executor-circuit-breaker';
import { startFlakyService } from './flaky-service.mjs';

const TIMINGS = {
  failureThreshold: 3, // 3 failures...
  failureWindow: 10_000, // ...within 10 s open the circuit
  resetTimeout: 2_000, // OPEN for 2 s, then HALF_OPEN
  successThreshold: 2, // 2 good probes close it again
  requestTimeout: 500, // a call slower than this is a failure
};

// ---- output helpers ---------------------------------------------------------------------

const t0 = Date.now();
const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(2).padStart(5)}s]`;
const log = (message) => console.log(`${stamp()} ${message}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const heading = (title) => console.log(`\n=== ${title} ${'='.repeat(Math.max(3, 76 - title.length))}\n`);
// Times of day in UTC, as the library's own reports (getSummary, formatStats) print them.
const clockTime = (date) => `${date.toISOString().slice(11, 19)} UTC`;

// ---- events -----------------------------------------------------------------------------

// State events fire synchronously inside the call that causes them, before its promise
// resolves: a transition caused by a call waits here and is printed just below that call's
// line. One on a timer (OPEN -> HALF_OPEN) is printed at once.
// They carry the stats after the change, not the state before it: remember that ourselves.
let callsRunning = 0;
const transitions = [];
const previous = new Map();
// request:failure fires just before circuit:opened, so this is the failure that tripped it.
const lastError = new Map();

function stateChanged(name, stats) {
  const from = previous.get(name) ?? 'CLOSED';
  previous.set(name, stats.state);
  let why = '';
  if (stats.state === 'OPEN') {
    const cause = from === 'HALF_OPEN' ? 'probe failed' : `${stats.consecutiveFailures} consecutive failures`;
    const next = stats.nextAttemptTime;
    const inSeconds = ((next - Date.now()) / 1000).toFixed(1);
    why = `${cause}, last: ${lastError.get(name)}; next attempt ${clockTime(next)}, in ${inSeconds}s`;
  } else if (stats.state === 'HALF_OPEN') {
    why = `resetTimeout elapsed, letting up to ${TIMINGS.successThreshold} probes through`;
  } else {
    why = `${stats.consecutiveSuccesses} probes succeeded`;
  }
  const line = `>>> ${name}: ${from} -> ${stats.state} (${why})`;
  if (callsRunning > 0) transitions.push(line);
  else log(line);
}
circuitBreaker.on('circuit:opened', stateChanged);
circuitBreaker.on('circuit:half-open', stateChanged);
circuitBreaker.on('circuit:closed', stateChanged);

// Per-request events are the stuff of metrics, not of logs: count them, print a tally per phase.
let tally = {};
const count = (event) => (tally[event] = (tally[event] ?? 0) + 1);
circuitBreaker.on('request:success', () => count('request:success'));
circuitBreaker.on('request:failure', (name, error) => {
  count('request:failure');
  lastError.set(name, `${error.name}: ${error.message}`);
});
circuitBreaker.on('request:rejected', () => count('request:rejected'));
circuitBreaker.on('fallback:used', () => count('fallback:used'));

function endPhase() {
  const events = Object.entries(tally).map(([event, n]) => `${event} x${n}`);
  console.log(`\n  events this phase: ${events.join(', ') || 'none'}\n`);
  tally = {};
  // Note: calls answered from the fallback cache count as Rejected here, not in Success%.
  console.log(circuitBreaker.getSummary());
}

// ---- the calls --------------------------------------------------------------------------

const service = await startFlakyService({ slowMs: 3 * TIMINGS.requestTimeout });
const dashboard = process.argv.includes('--dashboard') ? await startDashboard() : null;

circuitBreaker.configure('notion', TIMINGS);
// Slack calls are writes. With the cache on, a rejected post would "succeed" with the
// response to an earlier post, so slack gets no fallback: a rejection is an honest failure.
circuitBreaker.configure('slack', { ...TIMINGS, cacheFallback: false });

// fetch only rejects on network errors (and aborts); an HTTP error must throw to count.
async function json(response) {
  if (!response.ok) {
    await response.body?.cancel(); // free the connection for the next call
    throw new Error(`HTTP ${response.status}`);
  }
  return response.json();
}

// Takes `signal` so that a timeout really cancels the HTTP request instead of leaving it running.
function readPages() {
  return traced(circuitBreaker.execute(
    'notion',
    (signal) => fetch(`${service.url}/notion/pages`, { signal }).then(json),
    // A read can be answered from the last good result while the circuit is open.
    { cacheKey: 'GET /notion/pages' },
  ));
}

function postMessage(text) {
  return traced(circuitBreaker.execute('slack', (signal) =>
    fetch(`${service.url}/slack/chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: '#ops', text }),
      signal,
    }).then(json),
  ));
}

/** Marks a call as running until its result is in, so its transitions wait for its line. */
async function traced(call) {
  callsRunning++;
  try {
    return await call;
  } finally {
    callsRunning--;
  }
}

// One line per call, from the ExecutionResult (execute never rejects).
function show(label, result) {
  const where = label.padEnd(36);
  if (result.fromCache) {
    log(`    ${where} rejected (${result.circuitState}), served from fallback cache: ${describe(result.data)}`);
  } else if (result.success) {
    log(`    ${where} ok: ${describe(result.data)} (${result.executionTime} ms)`);
  } else if (result.rejected) {
    log(`    ${where} rejected (${result.circuitState}) in ${result.executionTime} ms: ${result.error.name}`);
  } else {
    log(`    ${where} FAILED after ${result.executionTime} ms: ${result.error.name}: ${result.error.message}`);
  }
  for (const line of transitions.splice(0)) log(line);
}
const describe = (data) => (data.results ? `${data.results.length} pages` : `message ts ${data.ts}`);

const read = async () => show('notion GET  /notion/pages', await readPages());
const post = async (text) => show('slack  POST /slack/chat.postMessage', await postMessage(text));

// The breakers' own OPEN -> HALF_OPEN timers are unref'd (an open circuit never keeps a
// process alive), so we sleep past the later nextAttemptTime and let those timers fire.
async function waitForNextAttempt() {
  const times = circuitBreaker.getExecutors().map((name) => circuitBreaker.getStats(name).nextAttemptTime);
  const latest = Math.max(...times.map((time) => time?.getTime() ?? 0));
  log(`    (waiting ${((latest - Date.now()) / 1000).toFixed(1)}s for resetTimeout to elapse)`);
  await sleep(Math.max(0, latest - Date.now()) + 100);
}

// ---- the story --------------------------------------------------------------------------

log(`flaky service listening on ${service.url}`);

heading('1. Service up: calls pass through (and successful reads are cached)');
service.setMode('up');
await read();
await read();
await post('deploy started');
await post('deploy finished');
endPhase();

heading('2. Service down: 3 failures open each circuit; then calls fail fast');
service.setMode('down');
for (let i = 0; i < 5; i++) await read(); // 3 failures, then rejections answered by the cache
for (let i = 0; i < 4; i++) await post(`alert #${i + 1}`); // 3 failures, then a CircuitOpenError
const rejection = await postMessage('one more');
log(`    a rejected call's error: ${rejection.error.message}`);
for (const line of transitions.splice(0)) log(line);
endPhase();

heading('3. Service slow: after resetTimeout a probe goes through, and times out');
service.setMode('slow');
await waitForNextAttempt(); // half-open happens on the breaker's own timer, printed by the event
await read(); // a timeout is a failure: the probe fails and the circuit reopens at once
await post('is it back?');
await read(); // open again, so the cache answers without waiting 500 ms
endPhase();

heading('4. Service back up: half-open again, 2 good probes close the circuit');
service.setMode('up');
await waitForNextAttempt();
await read(); // probe 1
await read(); // probe 2: closes
await post('recovered'); // probe 1
await post('all good'); // probe 2: closes
await read(); // business as usual
endPhase();

console.log();
console.log(circuitBreaker.formatStats(circuitBreaker.getStats('notion')));

if (dashboard) await keepOutageGoing();

// Clean up: remove breakers, listeners and timers, and stop the server. Nothing is left
// that keeps the event loop alive, so the process exits on its own (no process.exit).
circuitBreaker.destroy();
await service.close();
log('done');

// ---- with --dashboard -------------------------------------------------------------------

async function startDashboard() {
  const { createDashboard } = await import('executor-circuit-breaker/dashboard');
  const http = await import('node:http');
  const handler = createDashboard({ title: 'Circuit breakers: demo' });
  const server = http.createServer(handler);
  await new Promise((resolve) => server.listen(Number(process.env.DASHBOARD_PORT) || 0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/`;
  console.log(`dashboard: ${url}`);
  return { url, handler, server };
}

// The service cycles up, down and slow while both executors keep calling it, until Ctrl-C.
async function keepOutageGoing() {
  heading(`5. The outage goes on: watch it at ${dashboard.url} (Ctrl-C to stop)`);
  let stopped = false;
  const stop = new Promise((resolve) =>
    process.once('SIGINT', () => {
      stopped = true;
      resolve();
    }),
  );
  const cycle = [
    ['up', 20_000],
    ['down', 12_000],
    ['slow', 8_000],
  ];
  for (let i = 0; !stopped; i++) {
    const [mode, ms] = cycle[i % cycle.length];
    service.setMode(mode);
    log(`    service ${mode} for ${ms / 1000}s`);
    const until = Date.now() + ms;
    while (!stopped && Date.now() < until) {
      await Promise.all([readPages(), postMessage('heartbeat')]);
      await Promise.race([sleep(250), stop]);
    }
  }
  console.log();
  dashboard.handler.close();
  dashboard.server.closeAllConnections();
  await new Promise((resolve) => dashboard.server.close(resolve));
}
