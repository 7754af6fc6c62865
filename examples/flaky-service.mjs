// A tiny fake of two external APIs (Notion and Slack) whose health can be switched at
// runtime, so the demo can show a circuit breaker reacting to a real HTTP service.
//
//   GET  /notion/pages           -> { results: [...] }
//   POST /slack/chat.postMessage -> { ok: true, ts }
//
// Modes:
//   'up'    answers at once with 200
//   'down'  answers at once with 500
//   'slow'  answers 200, but only after `slowMs` (longer than the demo's request timeout)
//   'flaky' every third request gets a 500 (deterministic, so runs are repeatable)

import http from 'node:http';

const PAGES = [
  { id: 'p1', title: 'Roadmap' },
  { id: 'p2', title: 'Meeting notes' },
  { id: 'p3', title: 'On-call runbook' },
];

/**
 * Starts the service on 127.0.0.1 at a free port.
 * @returns {Promise<{ url: string, setMode(mode: 'up'|'down'|'slow'|'flaky'): void, close(): Promise<void> }>}
 */
export async function startFlakyService({ slowMs = 1500 } = {}) {
  let mode = 'up';
  let count = 0;
  // Delayed answers still waiting; cleared on close so no timer outlives the server.
  const pending = new Set();

  const server = http.createServer((req, res) => {
    count++;
    const send = (status, body) => {
      if (res.destroyed) return; // the client gave up (timed out) meanwhile
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const answer = () => {
      const route = `${req.method} ${new URL(req.url, 'http://x').pathname}`;
      if (route === 'GET /notion/pages') return send(200, { results: PAGES });
      if (route === 'POST /slack/chat.postMessage') return send(200, { ok: true, ts: `${Date.now() / 1000}` });
      send(404, { error: `no route ${route}` });
    };

    if (mode === 'down' || (mode === 'flaky' && count % 3 === 0)) {
      return send(500, { error: 'internal_error' });
    }
    if (mode === 'slow') {
      const timer = setTimeout(() => {
        pending.delete(timer);
        answer();
      }, slowMs);
      pending.add(timer);
      // When the caller aborts (its timeout), the socket closes: drop the answer too.
      res.on('close', () => {
        clearTimeout(timer);
        pending.delete(timer);
      });
      return;
    }
    answer();
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve); // port 0: the OS picks a free port
  });
  const { port } = server.address();

  return {
    url: `http://127.0.0.1:${port}`,
    setMode(next) {
      if (!['up', 'down', 'slow', 'flaky'].includes(next)) throw new TypeError(`unknown mode ${next}`);
      mode = next;
      count = 0;
    },
    close() {
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
      const closed = new Promise((resolve) => server.close(() => resolve()));
      // fetch keeps connections alive; without this, close() would wait for them to idle out.
      server.closeAllConnections();
      return closed;
    },
  };
}
