// A tiny fake of the external APIs the examples protect, whose health can be switched at
// runtime, so that a circuit breaker reacts to a real HTTP service. The real clients are
// pointed at it: @notionhq/client with `baseUrl: service.url`, @slack/web-api with
// `slackApiUrl: service.slackApiUrl` (see clients.mjs).
//
//   notion  POST /v1/pages                      -> a Notion page object (400 validation_error without a parent)
//           GET  /v1/pages/:id                  -> a Notion page object, 404 object_not_found for an unknown id
//           POST /v1/data_sources/:id/query     -> a Notion list of pages
//           GET  /notion/pages                  -> { results: [...] }        (the demo's route)
//   slack   POST /api/chat.postMessage          -> { ok: true, channel, ts } (form or JSON body)
//           POST /slack/chat.postMessage        -> { ok: true, ts }          (the demo's route)
//   trello  POST /1/cards                       -> { id, name }
//           GET  /1/boards/:id                  -> { id, name }              (read with plain fetch)
//
// Modes, for every service at once or for one (`setMode('down', 'notion')`):
//   'up'    answers at once with 200
//   'down'  answers at once with 500 (a Notion error object for the Notion API)
//   'slow'  answers 200, but only after `slowMs` (longer than the examples' request timeouts)
//   'flaky' every third request to the service gets a 500 (deterministic, so runs repeat)
//   'limited' answers 429 with `Retry-After: retryAfterSeconds` (each API's own rate-limit answer)
//   'invalid' the service is up but refuses the request as each API refuses a bad one: Notion
//           400 validation_error, Slack 200 { ok: false, error: 'channel_not_found' }, Trello
//           400 'invalid value for idList'

import http from 'node:http';

const PAGES = [
  { id: 'p1', title: 'Roadmap' },
  { id: 'p2', title: 'Meeting notes' },
  { id: 'p3', title: 'On-call runbook' },
];
const SERVICES = ['notion', 'slack', 'trello'];
const MODES = ['up', 'down', 'slow', 'flaky', 'limited', 'invalid'];

/** Which fake service a path belongs to. */
function serviceOf(pathname) {
  if (pathname.startsWith('/v1/') || pathname.startsWith('/notion/')) return 'notion';
  if (pathname.startsWith('/api/') || pathname.startsWith('/slack/')) return 'slack';
  if (pathname.startsWith('/1/') || pathname.startsWith('/trello/')) return 'trello';
  return 'other';
}

/** A Notion API page object, as much of it as the examples read. */
function notionPage(id, title) {
  return {
    object: 'page',
    id,
    created_time: new Date().toISOString(),
    properties: { title: { type: 'title', title: [{ type: 'text', plain_text: title, text: { content: title } }] } },
  };
}

/** Reads a request body: JSON, or form-encoded (the Slack client's default). */
async function readBody(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  if (text === '') return {};
  if ((req.headers['content-type'] ?? '').includes('application/json')) return JSON.parse(text);
  return Object.fromEntries(new URLSearchParams(text));
}

/**
 * Starts the service on 127.0.0.1 at a free port.
 * @returns {Promise<{
 *   url: string, slackApiUrl: string,
 *   setMode(mode: 'up'|'down'|'slow'|'flaky'|'limited'|'invalid', service?: 'notion'|'slack'|'trello'): void,
 *   hits(): { notion: number, slack: number, trello: number },
 *   inFlight(): number,
 *   messages: { channel: string, text: string }[],
 *   close(): Promise<void>,
 * }>}
 */
export async function startFlakyService({ slowMs = 1500, retryAfterSeconds = 1 } = {}) {
  const mode = { notion: 'up', slack: 'up', trello: 'up', other: 'up' };
  // Requests per service since its mode was last set (for 'flaky'), and in all (for the examples).
  const count = { notion: 0, slack: 0, trello: 0, other: 0 };
  const total = { notion: 0, slack: 0, trello: 0, other: 0 };
  const messages = [];
  let created = 0;
  // Delayed answers still waiting; cleared on close so no timer outlives the server.
  const pending = new Set();

  const server = http.createServer(async (req, res) => {
    const { pathname } = new URL(req.url, 'http://x');
    const service = serviceOf(pathname);
    count[service]++;
    total[service]++;
    const send = (status, body, headers = {}) => {
      if (res.destroyed) return; // the client gave up (timed out) meanwhile
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    let body;
    try {
      body = await readBody(req);
    } catch {
      return send(400, { error: 'bad body' });
    }
    const answer = () => {
      const route = `${req.method} ${pathname}`;
      if (route === 'GET /notion/pages') return send(200, { results: PAGES });
      if (route === 'POST /slack/chat.postMessage') return send(200, { ok: true, ts: `${Date.now() / 1000}` });
      if (route === 'POST /v1/pages' && body.parent === undefined) {
        return send(400, { object: 'error', status: 400, code: 'validation_error', message: 'body.parent should be defined' });
      }
      if (req.method === 'GET' && /^\/v1\/pages\/[^/]+$/.test(pathname)) {
        const id = pathname.slice('/v1/pages/'.length);
        const found = PAGES.find((p) => p.id === id);
        if (found) return send(200, notionPage(found.id, found.title));
        return send(404, { object: 'error', status: 404, code: 'object_not_found', message: `Could not find page with ID: ${id}.` });
      }
      if (req.method === 'GET' && /^\/1\/boards\/[^/]+$/.test(pathname)) {
        return send(200, { id: pathname.slice('/1/boards/'.length), name: 'Operations' });
      }
      if (route === 'POST /v1/pages') {
        const title = body.properties?.title?.title?.[0]?.text?.content ?? 'Untitled';
        return send(200, notionPage(`page-${++created}`, title));
      }
      if (req.method === 'POST' && /^\/v1\/data_sources\/[^/]+\/query$/.test(pathname)) {
        return send(200, { object: 'list', results: PAGES.map((p) => notionPage(p.id, p.title)), has_more: false, next_cursor: null });
      }
      if (route === 'POST /api/chat.postMessage') {
        messages.push({ channel: body.channel, text: body.text });
        return send(200, { ok: true, channel: body.channel, ts: `${Date.now() / 1000}`, message: { text: body.text } });
      }
      if (route === 'POST /1/cards') return send(200, { id: `card-${++created}`, name: body.name });
      send(404, { error: `no route ${route}` });
    };

    const current = mode[service];
    if (current === 'limited') {
      res.setHeader('retry-after', String(retryAfterSeconds));
      if (service === 'notion') {
        return send(429, { object: 'error', status: 429, code: 'rate_limited', message: 'You have been rate limited' });
      }
      return send(429, service === 'slack' ? { ok: false, error: 'ratelimited' } : { error: 'API_TOKEN_LIMIT_EXCEEDED' });
    }
    if (current === 'invalid') {
      if (service === 'notion') {
        return send(400, { object: 'error', status: 400, code: 'validation_error', message: 'body.parent should be defined' });
      }
      if (service === 'slack') return send(200, { ok: false, error: 'channel_not_found' });
      return send(400, { message: 'invalid value for idList', error: 'ERROR' });
    }
    if (current === 'down' || (current === 'flaky' && count[service] % 3 === 0)) {
      if (service === 'notion' && pathname.startsWith('/v1/')) {
        return send(500, { object: 'error', status: 500, code: 'internal_server_error', message: 'Notion had an internal error' });
      }
      return send(500, { error: 'internal_error' });
    }
    if (current === 'slow') {
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
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    /** The Slack Web API base URL (`slackApiUrl` must end with a slash). */
    slackApiUrl: `${url}/api/`,
    setMode(next, service) {
      if (!MODES.includes(next)) throw new TypeError(`unknown mode ${next}`);
      if (service !== undefined && !SERVICES.includes(service)) throw new TypeError(`unknown service ${service}`);
      for (const name of service === undefined ? Object.keys(mode) : [service]) {
        mode[name] = next;
        count[name] = 0;
      }
    },
    /** Requests each service has received so far. */
    hits() {
      return { notion: total.notion, slack: total.slack, trello: total.trello };
    },
    /** 'slow' requests still open: neither answered nor given up by the client. */
    inFlight() {
      return pending.size;
    },
    /** Every message posted to the fake Slack API, in order. */
    messages,
    close() {
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
      const closed = new Promise((resolve) => server.close(() => resolve()));
      // Clients keep connections alive; without this, close() would wait for them to idle out.
      server.closeAllConnections();
      return closed;
    },
  };
}
