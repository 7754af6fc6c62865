/**
 * The user guide's examples (seed: circuit-breaker-docs.md), run as tests.
 *
 * Each example is copied as closely as possible from the guide, with
 * `import * as circuitBreaker from 'executor-circuit-breaker'` standing for
 * './workflows/circuit-breaker' (here: the sources). What the guide assumes (notionClient,
 * trelloClient, slackClient, retry, logger, alerting, metrics, sleep, an Express-like app)
 * is an in-memory fake made afresh for every test. Lines between `// --- doc ---` and
 * `// --- end doc ---` are the guide's; where they had to change, a comment says why.
 */
import assert from 'node:assert';
import { format } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as circuitBreaker from '../src/index.js';

const T0 = Date.parse('2024-05-01T12:00:00.000Z');

// ---------------------------------------------------------------------------------------
// Fakes for what the guide assumes
// ---------------------------------------------------------------------------------------

type Task = { title: string };

interface WorkflowStep {
  tool: string;
  args: Record<string, unknown>;
}

function makeNotionClient() {
  return {
    createPage: vi.fn(async (page: Record<string, unknown>) => ({ id: 'page-1', ...page })),
    query: vi.fn(async (query: Record<string, unknown>) => ({ results: [{ id: 'row-1' }], query })),
    createTask: vi.fn(async (task: Task) => ({ id: 'notion-task-1', title: task.title })),
    pages: {
      create: vi.fn(async (page: Record<string, unknown>) => ({ object: 'page', id: 'page-1', ...page })),
    },
    databases: {
      query: vi.fn(async (query: { database_id: string }) => ({ results: [{ id: 'row-1' }], ...query })),
    },
  };
}

function makeTrelloClient() {
  return {
    createCard: vi.fn(async (card: Record<string, unknown>) => ({ id: 'card-1', ...card })),
  };
}

function makeSlackClient() {
  return {
    postMessage: vi.fn(async (message: Record<string, unknown>) => ({ ok: true, ts: '1714564800.000100', ...message })),
  };
}

/** A retry manager: up to 3 attempts, no delay. */
async function retryUpTo3<T>(fn: () => Promise<T>, _options: { platform: string; operation: string }): Promise<T> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await fn();
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

function makeRetry() {
  return {
    Platform: { NOTION: 'notion', TRELLO: 'trello', SLACK: 'slack' } as const,
    retry: vi.fn(retryUpTo3),
  };
}

function makeIdempotency() {
  const done = new Map<string, unknown>();
  return {
    executeWithIdempotency: vi.fn(async <T>(reasoning: string, fn: () => Promise<T>): Promise<T> => {
      if (done.has(reasoning)) return done.get(reasoning) as T;
      const value = await fn();
      done.set(reasoning, value);
      return value;
    }),
  };
}

function makeLogger() {
  return { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
}

function makeAlerting() {
  return { send: vi.fn(), sendAlert: vi.fn(), sendNotification: vi.fn() };
}

function makeMetrics() {
  return { increment: vi.fn(), gauge: vi.fn(), timing: vi.fn() };
}

/** An Express-like app: `get` registers a handler, `request` calls it with a recording `res`. */
interface FakeResponse {
  statusCode: number | undefined;
  body: any;
  status(code: number): FakeResponse;
  json(body: unknown): FakeResponse;
}

function createApp() {
  const routes = new Map<string, (req: { path: string }, res: FakeResponse) => void>();
  return {
    get(path: string, handler: (req: { path: string }, res: FakeResponse) => void): void {
      routes.set(path, handler);
    },
    request(path: string): FakeResponse {
      const res: FakeResponse = {
        statusCode: undefined,
        body: undefined,
        status(code) {
          res.statusCode = code;
          return res;
        },
        json(body) {
          res.body = body;
          return res;
        },
      };
      const handler = routes.get(path);
      if (!handler) throw new Error(`no route ${path}`);
      handler({ path }, res);
      return res;
    },
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let notionClient: ReturnType<typeof makeNotionClient>;
let trelloClient: ReturnType<typeof makeTrelloClient>;
let slackClient: ReturnType<typeof makeSlackClient>;
let retry: ReturnType<typeof makeRetry>;
let idempotency: ReturnType<typeof makeIdempotency>;
let logger: ReturnType<typeof makeLogger>;
let alerting: ReturnType<typeof makeAlerting>;
let metrics: ReturnType<typeof makeMetrics>;
let executeTool: ReturnType<typeof vi.fn<(tool: string, args: unknown) => Promise<unknown>>>;
const databaseId = 'db-123';

/** What was printed through console[kind], one string per call, as the console would print it. */
function printed(kind: 'log' | 'warn' | 'error'): string[] {
  return vi.mocked(console[kind]).mock.calls.map((args) => format(...args));
}

/** Scaffolding (not from the guide): `n` calls to `name` that fail. */
async function failTimes(name: string, n: number, message = 'Service down'): Promise<void> {
  for (let i = 0; i < n; i++) {
    const result = await circuitBreaker.execute(name, async () => {
      throw new Error(message);
    });
    if (result.rejected) throw new Error(`scaffolding: call ${i + 1} to ${name} was rejected`);
  }
}

/** Scaffolding (not from the guide): `n` calls to `name` that succeed with `value`. */
async function succeedTimes(name: string, n: number, value: unknown = 'ok'): Promise<void> {
  for (let i = 0; i < n; i++) {
    const result = await circuitBreaker.execute(name, async () => value);
    if (!result.success || result.fromCache) throw new Error(`scaffolding: call ${i + 1} to ${name} did not run`);
  }
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
  vi.spyOn(console, 'log').mockImplementation(() => {});
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  vi.spyOn(console, 'error').mockImplementation(() => {});
  notionClient = makeNotionClient();
  trelloClient = makeTrelloClient();
  slackClient = makeSlackClient();
  retry = makeRetry();
  idempotency = makeIdempotency();
  logger = makeLogger();
  alerting = makeAlerting();
  metrics = makeMetrics();
  executeTool = vi.fn(async (tool: string, args: unknown) => ({ tool, args }));
});

afterEach(() => {
  circuitBreaker.destroy();
  vi.clearAllTimers();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

// =======================================================================================
describe('Quick Start', () => {
  async function basicUsage() {
    // --- doc ---
    // Execute with circuit breaker protection
    const result = await circuitBreaker.execute(
      'notion',
      async () => {
        // Your API call
        return await notionClient.createPage({ title: 'Hello' }); // `{ ... }` in the guide
      }
    );

    if (result.success) {
      console.log('Success:', result.data);
    } else if (result.rejected) {
      console.log('Circuit is open, request rejected');
    } else {
      console.log('Request failed:', result.error);
    }
    // --- end doc ---
    return result;
  }

  it('Basic Usage: a successful call logs "Success:" with the data', async () => {
    const result = await basicUsage();

    expect(notionClient.createPage).toHaveBeenCalledWith({ title: 'Hello' });
    expect(result).toMatchObject({ success: true, data: { id: 'page-1', title: 'Hello' }, fromCache: false, rejected: false });
    expect(printed('log')).toEqual([format('Success:', { id: 'page-1', title: 'Hello' })]);
  });

  it('Basic Usage: a failing call logs "Request failed:"; once open with nothing cached, "Circuit is open, request rejected"', async () => {
    const outage = new Error('Notion 503');
    notionClient.createPage.mockRejectedValue(outage);

    for (let i = 0; i < 5; i++) await basicUsage();
    expect(printed('log')).toEqual(Array(5).fill(format('Request failed:', outage)));

    vi.mocked(console.log).mockClear();
    const rejected = await basicUsage();
    expect(rejected).toMatchObject({ success: false, rejected: true, fromCache: false });
    expect(printed('log')).toEqual(['Circuit is open, request rejected']);
    expect(notionClient.createPage).toHaveBeenCalledTimes(5); // the 6th never reached Notion
  });

  it('Check Circuit State: isOpen and getState follow the circuit', async () => {
    const checkState = () => {
      // --- doc ---
      // Check if circuit is open
      if (circuitBreaker.isOpen('notion')) {
        console.log('Notion circuit is open - service may be down');
      }

      // Get detailed state
      const state = circuitBreaker.getState('notion');
      console.log(`Circuit state: ${state}`); // CLOSED, OPEN, or HALF_OPEN
      // --- end doc ---
    };

    await succeedTimes('notion', 1);
    checkState();
    expect(printed('log')).toEqual(['Circuit state: CLOSED']);

    vi.mocked(console.log).mockClear();
    await failTimes('notion', 5);
    checkState();
    expect(printed('log')).toEqual(['Notion circuit is open - service may be down', 'Circuit state: OPEN']);

    vi.mocked(console.log).mockClear();
    await vi.advanceTimersByTimeAsync(30_000);
    checkState();
    expect(printed('log')).toEqual(['Circuit state: HALF_OPEN']);
  });

  it('Monitor Events: circuit:opened reports the failures and the next attempt; circuit:closed the recovery', async () => {
    // --- doc ---
    // Listen for circuit state changes
    circuitBreaker.on('circuit:opened', (executorName, stats) => {
      console.error(`⚠️ Circuit opened for ${executorName}`);
      console.log(`Consecutive failures: ${stats.consecutiveFailures}`);
      console.log(`Next attempt at: ${stats.nextAttemptTime}`);
    });

    circuitBreaker.on('circuit:closed', (executorName, stats) => {
      console.log(`✅ Circuit closed for ${executorName} - service recovered`);
    });
    // --- end doc ---

    await failTimes('notion', 5);
    expect(printed('error')).toEqual(['⚠️ Circuit opened for notion']);
    expect(printed('log')).toEqual([
      'Consecutive failures: 5',
      `Next attempt at: ${new Date(T0 + 30_000)}`,
    ]);

    vi.mocked(console.log).mockClear();
    await vi.advanceTimersByTimeAsync(30_000);
    await succeedTimes('notion', 2);
    expect(printed('log')).toEqual(['✅ Circuit closed for notion - service recovered']);
  });
});

// =======================================================================================
describe('Circuit States', () => {
  it('CLOSED: requests execute normally; it opens after 5 failures within 1 minute', async () => {
    // --- doc ---
    // Example: CLOSED state
    const result = await circuitBreaker.execute('trello', async () => {
      return await trelloClient.createCard({ name: 'Card' }); // `{ ... }` in the guide
    });
    // Request executes normally
    // --- end doc ---
    expect(result).toMatchObject({ success: true, data: { id: 'card-1', name: 'Card' }, circuitState: 'CLOSED' });

    await failTimes('trello', 4);
    expect(circuitBreaker.getState('trello')).toBe(circuitBreaker.CircuitState.CLOSED);
    await vi.advanceTimersByTimeAsync(59_999);
    await failTimes('trello', 1); // the 5th failure, 59.999 s after the 1st
    expect(circuitBreaker.getState('trello')).toBe(circuitBreaker.CircuitState.OPEN);
  });

  it('CLOSED: 5 failures spread over more than a minute do not open it', async () => {
    for (let i = 0; i < 5; i++) {
      await failTimes('trello', 1);
      await vi.advanceTimersByTimeAsync(15_000); // failures at 0, 15, 30, 45, 60 s
    }
    expect(circuitBreaker.getState('trello')).toBe(circuitBreaker.CircuitState.CLOSED);
  });

  it('OPEN: rejects at once, answers from the cache when it can, and moves to HALF_OPEN after 30 s', async () => {
    const slackCall = async () => {
      // --- doc ---
      // Example: OPEN state behavior
      const result = await circuitBreaker.execute('slack', async () => {
        return await slackClient.postMessage({ channel: '#ops', text: 'hi' }); // `{ ... }` in the guide
      });

      if (result.rejected) {
        console.log('Circuit is open');
        if (result.fromCache) {
          console.log('Using cached result');
        }
      }
      // --- end doc ---
      return result;
    };

    const first = await slackCall(); // cached
    expect(printed('log')).toEqual([]);
    slackClient.postMessage.mockRejectedValue(new Error('Slack 500'));
    for (let i = 0; i < 5; i++) await slackCall();
    expect(circuitBreaker.isOpen('slack')).toBe(true);

    const rejected = await slackCall();
    expect(slackClient.postMessage).toHaveBeenCalledTimes(6); // not called while open
    expect(printed('log')).toEqual(['Circuit is open', 'Using cached result']);
    expect(rejected).toMatchObject({ success: true, rejected: true, fromCache: true, circuitState: 'OPEN', executionTime: 0 });
    expect(rejected.data).toEqual(first.data);

    await vi.advanceTimersByTimeAsync(29_999);
    expect(circuitBreaker.getState('slack')).toBe('OPEN');
    await vi.advanceTimersByTimeAsync(1);
    expect(circuitBreaker.getState('slack')).toBe('HALF_OPEN');
  });

  it('HALF_OPEN: after 30 s the next 2 requests test recovery; 2 successes close it', async () => {
    await failTimes('notion', 5);
    await vi.advanceTimersByTimeAsync(30_000);
    // --- doc ---
    // Example: HALF_OPEN state
    // After 30 seconds of being OPEN, circuit moves to HALF_OPEN
    // Next 2 requests will test if service recovered

    const result = await circuitBreaker.execute('notion', async () => {
      return await notionClient.query({ filter: 'open' }); // `{ ... }` in the guide
    });

    // If successful, consecutive success count increases
    // After 2 successes, circuit closes
    // --- end doc ---
    expect(result).toMatchObject({ success: true, circuitState: 'HALF_OPEN' });
    expect(circuitBreaker.getStats('notion')).toMatchObject({ state: 'HALF_OPEN', consecutiveSuccesses: 1 });

    const second = await circuitBreaker.execute('notion', async () => notionClient.query({ filter: 'open' }));
    expect(second.circuitState).toBe('HALF_OPEN');
    expect(circuitBreaker.getStats('notion')).toMatchObject({ state: 'CLOSED', consecutiveSuccesses: 2, timesClosed: 1 });
  });

  it('HALF_OPEN: any failure reopens the circuit at once for another 30 s', async () => {
    await failTimes('notion', 5);
    await vi.advanceTimersByTimeAsync(30_000);
    await succeedTimes('notion', 1);
    await failTimes('notion', 1);

    expect(circuitBreaker.getStats('notion')).toMatchObject({
      state: 'OPEN',
      timesOpened: 2,
      nextAttemptTime: new Date(T0 + 60_000),
    });
  });
});

// =======================================================================================
describe('Configuration', () => {
  it('Default Configuration: the documented defaults are the ones in force', async () => {
    const documented = {
      failureThreshold: 5,           // Open after 5 failures
      failureWindow: 60 * 1000,      // Within 1 minute
      resetTimeout: 30 * 1000,       // Try half-open after 30 seconds
      successThreshold: 2,           // Close after 2 successes in half-open
      requestTimeout: 10 * 1000,     // 10 second request timeout
      cacheFallback: true,           // Use cached fallback
      fallbackMaxAge: 5 * 60 * 1000  // Cache valid for 5 minutes
    };
    expect(circuitBreaker.DEFAULT_CONFIG).toMatchObject(documented);

    // requestTimeout in action: a call that never settles fails after 10 s.
    let settled = false;
    const pending = circuitBreaker.execute('notion', () => new Promise<never>(() => {})).then((r) => {
      settled = true;
      return r;
    });
    await vi.advanceTimersByTimeAsync(9_999);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const result = await pending;
    expect(result.success).toBe(false);
    expect(result.error?.name).toBe('TimeoutError');
    expect(result.executionTime).toBe(10_000);
  });

  function customConfiguration() {
    // --- doc ---
    // Configure for a specific executor
    circuitBreaker.configure('notion', {
      failureThreshold: 3,        // More sensitive
      failureWindow: 30 * 1000,   // Shorter window
      resetTimeout: 60 * 1000,    // Longer recovery time
      successThreshold: 3,        // Need more successes
      cacheFallback: true,        // Enable fallback
      fallbackMaxAge: 10 * 60 * 1000 // 10 minute cache
    });

    // Configure for high-traffic service
    circuitBreaker.configure('slack', {
      failureThreshold: 10,       // More tolerant
      failureWindow: 120 * 1000,  // Longer window
      resetTimeout: 20 * 1000,    // Quick recovery
      requestTimeout: 5 * 1000    // Fast timeout
    });
    // --- end doc ---
  }

  it('Custom Configuration (notion): 3 failures in 30 s open it for 60 s, 3 successes close it', async () => {
    customConfiguration();

    await failTimes('notion', 2);
    await vi.advanceTimersByTimeAsync(30_000);
    await failTimes('notion', 1); // the first two have left the 30 s window
    expect(circuitBreaker.getState('notion')).toBe('CLOSED');
    await failTimes('notion', 2);
    expect(circuitBreaker.getState('notion')).toBe('OPEN');

    await vi.advanceTimersByTimeAsync(59_999);
    expect(circuitBreaker.getState('notion')).toBe('OPEN');
    await vi.advanceTimersByTimeAsync(1);
    expect(circuitBreaker.getState('notion')).toBe('HALF_OPEN');

    await succeedTimes('notion', 2);
    expect(circuitBreaker.getState('notion')).toBe('HALF_OPEN');
    await succeedTimes('notion', 1);
    expect(circuitBreaker.getState('notion')).toBe('CLOSED');
  });

  it('Custom Configuration (notion): a cached value answers for up to 10 minutes', async () => {
    customConfiguration();
    await succeedTimes('notion', 1, { page: 'cached' });
    await vi.advanceTimersByTimeAsync(9 * 60_000);
    await failTimes('notion', 3);
    circuitBreaker.openCircuit('notion'); // hold it open past the 60 s reset timeout

    const at9min = await circuitBreaker.execute('notion', async () => 'fresh');
    expect(at9min).toMatchObject({ success: true, fromCache: true, data: { page: 'cached' } });

    await vi.advanceTimersByTimeAsync(60_000); // the cached value is now 10 minutes old
    const at10min = await circuitBreaker.execute('notion', async () => 'fresh');
    expect(at10min).toMatchObject({ success: false, rejected: true, fromCache: false });
  });

  it('Custom Configuration (slack): 10 failures open it, requests time out after 5 s, recovery after 20 s', async () => {
    customConfiguration();

    await failTimes('slack', 9);
    expect(circuitBreaker.getState('slack')).toBe('CLOSED');

    const hung = circuitBreaker.execute('slack', () => new Promise<never>(() => {}));
    await vi.advanceTimersByTimeAsync(5_000);
    const timedOut = await hung;
    expect(timedOut.error?.name).toBe('TimeoutError');
    expect(circuitBreaker.getState('slack')).toBe('OPEN'); // the timeout was the 10th failure

    await vi.advanceTimersByTimeAsync(20_000);
    expect(circuitBreaker.getState('slack')).toBe('HALF_OPEN');
  });
});

// =======================================================================================
describe('API Reference', () => {
  it('execute: the result structure is as documented', async () => {
    // --- doc ---
    const result = await circuitBreaker.execute('notion', async () => {
      return await notionClient.createPage({ title: 'Doc' }); // `{ ... }` in the guide
    });
    // --- end doc ---
    expect(result).toEqual({
      success: true,
      data: { id: 'page-1', title: 'Doc' },
      error: undefined,
      fromCache: false,
      rejected: false,
      circuitState: circuitBreaker.CircuitState.CLOSED,
      executionTime: 0, // fake time does not move during the call
      fromFallback: false,
      attempts: 1,
    });

    const failure = new Error('nope');
    const failed = await circuitBreaker.execute('notion', async () => {
      throw failure;
    });
    expect(failed).toMatchObject({ success: false, error: failure, fromCache: false, rejected: false, circuitState: 'CLOSED' });
    expect(failed.data).toBeUndefined();
  });

  it('execute: executionTime is in ms', async () => {
    const pending = circuitBreaker.execute('notion', async () => {
      await sleep(250);
      return 'slow';
    });
    await vi.advanceTimersByTimeAsync(250);
    expect(await pending).toMatchObject({ success: true, data: 'slow', executionTime: 250 });
    expect(circuitBreaker.getStats('notion')?.avgResponseTime).toBe(250);
  });

  it('getState: CLOSED | OPEN | HALF_OPEN, or null for an unknown executor', async () => {
    // --- doc ---
    const state = circuitBreaker.getState('trello');
    // Returns: CircuitState.CLOSED | CircuitState.OPEN | CircuitState.HALF_OPEN | null
    // --- end doc ---
    expect(state).toBeNull();
    await succeedTimes('trello', 1);
    expect(circuitBreaker.getState('trello')).toBe(circuitBreaker.CircuitState.CLOSED);
  });

  it('getStats: prints state, totals, success rate and consecutive failures', async () => {
    const printStats = () => {
      // --- doc ---
      const stats = circuitBreaker.getStats('slack');
      if (stats) {
        console.log(`State: ${stats.state}`);
        console.log(`Total requests: ${stats.totalRequests}`);
        // 100% before the first call, as in getSummary() and the health check.
        const successRate = stats.totalRequests > 0 ? (stats.successfulRequests / stats.totalRequests) * 100 : 100;
        console.log(`Success rate: ${successRate.toFixed(1)}%`);
        console.log(`Consecutive failures: ${stats.consecutiveFailures}`);
      }
      // --- end doc ---
    };
    printStats();
    expect(printed('log')).toEqual([]); // no breaker for slack yet: null

    circuitBreaker.configure('slack', {}); // a breaker, no call yet: 100%, never NaN%
    printStats();
    expect(printed('log')).toEqual(['State: CLOSED', 'Total requests: 0', 'Success rate: 100.0%', 'Consecutive failures: 0']);

    await succeedTimes('slack', 2);
    await failTimes('slack', 1);
    printStats();
    expect(printed('log').slice(4)).toEqual([
      'State: CLOSED',
      'Total requests: 3',
      'Success rate: 66.7%',
      'Consecutive failures: 1',
    ]);
  });

  it('getAllStats: one entry per executor', async () => {
    await succeedTimes('notion', 1);
    await failTimes('trello', 5);
    // --- doc ---
    const allStats = circuitBreaker.getAllStats();
    allStats.forEach((stats, executorName) => {
      console.log(`${executorName}: ${stats.state}`);
    });
    // --- end doc ---
    expect(printed('log')).toEqual(['notion: CLOSED', 'trello: OPEN']);
  });

  it('configure: gmail opens after 3 failures and half-opens after 45 s', async () => {
    // --- doc ---
    circuitBreaker.configure('gmail', {
      failureThreshold: 3,
      resetTimeout: 45 * 1000,
      cacheFallback: true
    });
    // --- end doc ---
    await failTimes('gmail', 3);
    expect(circuitBreaker.getStats('gmail')?.nextAttemptTime).toEqual(new Date(T0 + 45_000));
    await vi.advanceTimersByTimeAsync(44_999);
    expect(circuitBreaker.isOpen('gmail')).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(circuitBreaker.isHalfOpen('gmail')).toBe(true);
  });

  it('reset: back to the initial state', async () => {
    await succeedTimes('notion', 1);
    await failTimes('notion', 5);
    // --- doc ---
    // Manually reset a circuit
    circuitBreaker.reset('notion');
    // --- end doc ---
    expect(circuitBreaker.getStats('notion')).toMatchObject({
      state: 'CLOSED',
      totalRequests: 0,
      failedRequests: 0,
      consecutiveFailures: 0,
      timesOpened: 0,
      nextAttemptTime: null,
    });
    // The cache was emptied too: once open again, nothing is served from it.
    await failTimes('notion', 5);
    expect(await circuitBreaker.execute('notion', async () => 'x')).toMatchObject({ rejected: true, fromCache: false });
  });

  it('resetAll: every circuit closed again', async () => {
    await failTimes('notion', 5);
    await failTimes('trello', 5);
    // --- doc ---
    // Reset all circuits (e.g., during deployment)
    circuitBreaker.resetAll();
    // --- end doc ---
    expect(circuitBreaker.getState('notion')).toBe('CLOSED');
    expect(circuitBreaker.getState('trello')).toBe('CLOSED');
    expect(circuitBreaker.getStats('trello')?.totalRequests).toBe(0);
  });

  it('openCircuit: forced open, requests rejected without running', async () => {
    // --- doc ---
    // Force circuit open (e.g., during maintenance)
    circuitBreaker.openCircuit('notion');
    // --- end doc ---
    expect(circuitBreaker.isOpen('notion')).toBe(true);
    const result = await circuitBreaker.execute('notion', async () => notionClient.createPage({}));
    expect(result.rejected).toBe(true);
    expect(notionClient.createPage).not.toHaveBeenCalled();
  });

  it('closeCircuit: forced closed after a manual fix', async () => {
    await failTimes('notion', 5);
    // --- doc ---
    // Force circuit closed after manual fix
    circuitBreaker.closeCircuit('notion');
    // --- end doc ---
    expect(circuitBreaker.isClosed('notion')).toBe(true);
    const result = await circuitBreaker.execute('notion', async () => notionClient.createPage({ title: 'after fix' }));
    expect(result).toMatchObject({ success: true, rejected: false });
  });

  it('isOpen / isClosed / isHalfOpen', async () => {
    const queries = () => {
      // --- doc ---
      if (circuitBreaker.isOpen('trello')) {
        console.log('Trello service is currently unavailable');
      }
      if (circuitBreaker.isClosed('slack')) {
        console.log('Slack service is healthy');
      }
      if (circuitBreaker.isHalfOpen('gmail')) {
        console.log('Gmail service is being tested for recovery');
      }
      // --- end doc ---
    };
    queries();
    expect(printed('log')).toEqual([]); // no breakers yet: all false

    await failTimes('trello', 5);
    await succeedTimes('slack', 1);
    circuitBreaker.configure('gmail', { resetTimeout: 10_000 });
    await failTimes('gmail', 5);
    await vi.advanceTimersByTimeAsync(10_000);
    queries();
    expect(printed('log')).toEqual([
      'Trello service is currently unavailable',
      'Slack service is healthy',
      'Gmail service is being tested for recovery',
    ]);
  });

  it('getExecutors: every executor with a breaker', async () => {
    await succeedTimes('notion', 1);
    circuitBreaker.configure('trello', { failureThreshold: 4 });
    circuitBreaker.openCircuit('slack');
    await failTimes('gmail', 1);
    // --- doc ---
    const executors = circuitBreaker.getExecutors();
    console.log('Active circuit breakers:', executors);
    // ['notion', 'trello', 'slack', 'gmail']
    // --- end doc ---
    expect(executors).toEqual(['notion', 'trello', 'slack', 'gmail']);
  });

  it('on: circuit:opened and request:failure listeners', async () => {
    // --- doc ---
    circuitBreaker.on('circuit:opened', (executorName, stats) => {
      console.error(`Circuit opened for ${executorName}`);
    });

    circuitBreaker.on('request:failure', (executorName, error) => {
      console.warn(`Request failed for ${executorName}: ${error.message}`);
    });
    // --- end doc ---
    await failTimes('notion', 5, 'rate limited');
    expect(printed('warn')).toEqual(Array(5).fill('Request failed for notion: rate limited'));
    expect(printed('error')).toEqual(['Circuit opened for notion']);
  });

  it('off: a removed listener hears nothing more', async () => {
    // --- doc ---
    const listener = (executorName: string, stats: circuitBreaker.CircuitBreakerStats) => {
      // (the guide leaves both parameters untyped)
      console.log(`Circuit opened: ${executorName}`);
    };

    circuitBreaker.on('circuit:opened', listener);
    // --- end doc ---
    await failTimes('notion', 5);
    // --- doc ---
    // Later...
    circuitBreaker.off('circuit:opened', listener);
    // --- end doc ---
    await failTimes('trello', 5);
    expect(printed('log')).toEqual(['Circuit opened: notion']);
  });

  it('formatStats: the documented layout (150 requests, 145 successful)', async () => {
    await succeedTimes('notion', 145);
    for (let i = 0; i < 5; i++) {
      await failTimes('notion', 1);
      await vi.advanceTimersByTimeAsync(61_000); // spread out, so the circuit stays closed
    }
    // --- doc ---
    const stats = circuitBreaker.getStats('notion');
    if (stats) {
      console.log(circuitBreaker.formatStats(stats));
    }
    // --- end doc ---
    const [text] = printed('log');
    expect(text?.split('\n').slice(0, 8)).toEqual([
      '=== Circuit Breaker: notion ===',
      'State: CLOSED',
      '',
      'Requests:',
      '  Total: 150',
      '  Successful: 145 (96.7%)',
      '  Failed: 5',
      '  Rejected: 0 (0.0%)',
    ]);
  });

  it('getSummary: the documented table', async () => {
    // notion: 150 requests, 96.7% successful
    await succeedTimes('notion', 145);
    for (let i = 0; i < 5; i++) {
      await failTimes('notion', 1);
      await vi.advanceTimersByTimeAsync(61_000);
    }
    // trello: 85 requests, 60 successful (70.6%), 15 rejected, OPEN
    await succeedTimes('trello', 60);
    for (let i = 0; i < 10; i++) {
      await failTimes('trello', 1);
      await vi.advanceTimersByTimeAsync(61_000);
    }
    circuitBreaker.openCircuit('trello');
    for (let i = 0; i < 15; i++) await circuitBreaker.execute('trello', async () => 'never runs');
    // slack: 200 requests, 99.0% successful
    await succeedTimes('slack', 198);
    await failTimes('slack', 2);

    // --- doc ---
    console.log(circuitBreaker.getSummary());
    // --- end doc ---
    expect(printed('log')).toEqual([
      [
        '========================================',
        '      CIRCUIT BREAKER SUMMARY',
        '========================================',
        '',
        'Executor         State       Requests   Success%   Rejected',
        '--------------------------------------------------------',
        'notion           CLOSED      150        96.7%      0',
        'trello           OPEN        85         70.6%      15',
        'slack            CLOSED      200        99.0%      0',
      ].join('\n'),
    ]);
  });

  it('destroy: every breaker, listener and timer is gone', async () => {
    const opened = vi.fn();
    circuitBreaker.on('circuit:opened', opened);
    await failTimes('notion', 5);
    expect(opened).toHaveBeenCalledTimes(1);
    // --- doc ---
    // Clean up before shutdown
    circuitBreaker.destroy();
    // --- end doc ---
    expect(circuitBreaker.getExecutors()).toEqual([]);
    expect(circuitBreaker.getState('notion')).toBeNull();
    expect(vi.getTimerCount()).toBe(0);
    await failTimes('notion', 5); // still usable; the old listener is gone
    expect(opened).toHaveBeenCalledTimes(1);
    expect(circuitBreaker.isOpen('notion')).toBe(true);
  });
});

// =======================================================================================
describe('Usage Examples', () => {
  // --- doc --- Example 1: Basic API Call Protection
  async function createNotionPage(title: string, content: string) {
    const result = await circuitBreaker.execute('notion', async () => {
      return await notionClient.pages.create({
        parent: { database_id: databaseId },
        properties: {
          title: { title: [{ text: { content: title } }] },
          content: { rich_text: [{ text: { content } }] }
        }
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
  // --- end doc ---

  it('Example 1: returns the page, rethrows a failure, and throws "Notion service is currently unavailable" when rejected', async () => {
    const page = await createNotionPage('Plan', 'Ship it');
    expect(page).toMatchObject({
      object: 'page',
      parent: { database_id: 'db-123' },
      properties: { title: { title: [{ text: { content: 'Plan' } }] } },
    });

    circuitBreaker.reset('notion'); // forget the cached page, so a rejection has nothing to fall back on
    const outage = new Error('Notion 502');
    notionClient.pages.create.mockRejectedValue(outage);
    for (let i = 0; i < 5; i++) await expect(createNotionPage('Plan', 'Ship it')).rejects.toBe(outage);

    await expect(createNotionPage('Plan', 'Ship it')).rejects.toThrow('Notion service is currently unavailable');
    expect(notionClient.pages.create).toHaveBeenCalledTimes(6);
  });

  // --- doc --- Example 2: With Retry Integration
  /** Worth another try: rate limits, server errors, network errors; not a bad request. */
  const isRetryable = (error: unknown) => {
    const status = (error as { status?: number }).status;
    return status === undefined || status === 429 || status >= 500;
  };

  async function robustNotionCall<T>(operation: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const result = await circuitBreaker.execute('notion', fn, {
      retry: { attempts: 3, minDelay: 200, retryIf: isRetryable },
    });

    if (result.rejected) {
      throw new Error('Circuit breaker rejected request');
    }

    if (!result.success) {
      throw new Error(`${operation} failed after ${result.attempts} attempts: ${result.error.message}`, { cause: result.error });
    }

    return result.data;
  }
  // --- end doc ---

  /** Runs `promise` to the end, moving fake time through the retry delays. */
  async function withDelays<T>(promise: Promise<T>): Promise<T> {
    const outcome = promise.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    await vi.advanceTimersByTimeAsync(10_000);
    const settled = await outcome;
    if (settled.ok) return settled.value;
    throw settled.error;
  }

  it('Example 2: the library retries; every try counts; once open, it fails fast without a try', async () => {
    const rateLimited = Object.assign(new Error('rate limited'), { status: 429 });
    const flaky = vi.fn<() => Promise<string>>().mockRejectedValueOnce(rateLimited).mockRejectedValueOnce(rateLimited).mockResolvedValue('page');
    await expect(withDelays(robustNotionCall('createPage', flaky))).resolves.toBe('page');
    expect(flaky).toHaveBeenCalledTimes(3);
    expect(circuitBreaker.getStats('notion')).toMatchObject({ totalRequests: 3, successfulRequests: 1, failedRequests: 2, retries: 2 });

    const badRequest = Object.assign(new Error('validation_error'), { status: 400 });
    const invalid = vi.fn(() => Promise.reject(badRequest));
    await expect(robustNotionCall('createPage', invalid)).rejects.toThrow('createPage failed after 1 attempts: validation_error');
    expect(invalid).toHaveBeenCalledTimes(1);

    const down = vi.fn(async () => {
      throw new Error('Notion is down');
    });
    // 3 failures so far in the window, and 2 retries for 3 first tries: the budget (at least
    // 3 retries) allows one more, and the second failed try is the fifth failure: it opens.
    await expect(withDelays(robustNotionCall('query', down))).rejects.toThrow('query failed after 2 attempts: Notion is down');
    expect(down).toHaveBeenCalledTimes(2);
    expect(circuitBreaker.isOpen('notion')).toBe(true);
    await expect(robustNotionCall('query', down)).rejects.toThrow('Circuit breaker rejected request');
    expect(down).toHaveBeenCalledTimes(2);
  });

  it('Example 2: "Circuit breaker rejected request" when half-open with every probe slot taken', async () => {
    await failTimes('notion', 5);
    await vi.advanceTimersByTimeAsync(30_000);
    const hang = () => new Promise<never>(() => {});
    void robustNotionCall('probe-1', hang).catch(() => {});
    void robustNotionCall('probe-2', hang).catch(() => {});
    await expect(robustNotionCall('third', async () => 'x')).rejects.toThrow('Circuit breaker rejected request');
  });

  // --- doc --- Example 3: Fallback Pattern
  async function getNotionData() {
    const result = await circuitBreaker.execute('notion', async () => {
      return await notionClient.databases.query({
        database_id: databaseId
      });
    });

    if (result.success) {
      if (result.fromCache) {
        console.log('⚠️ Using cached data - Notion may be down');
      }
      return result.data;
    }

    // Circuit is open and no cache available
    throw new Error('Notion service unavailable and no cached data');
  }
  // --- end doc ---

  it('Example 3: cached data while open, for up to 5 minutes; then an error', async () => {
    const fresh = await getNotionData();
    expect(fresh).toEqual({ results: [{ id: 'row-1' }], database_id: 'db-123' });
    expect(printed('log')).toEqual([]);

    await vi.advanceTimersByTimeAsync(4 * 60_000 + 59_000);
    notionClient.databases.query.mockRejectedValue(new Error('Notion 503'));
    for (let i = 0; i < 5; i++) await expect(getNotionData()).rejects.toThrow('Notion service unavailable and no cached data');
    expect(circuitBreaker.isOpen('notion')).toBe(true);

    await expect(getNotionData()).resolves.toEqual(fresh); // cached 4 min 59 s ago
    expect(printed('log')).toEqual(['⚠️ Using cached data - Notion may be down']);

    await vi.advanceTimersByTimeAsync(1_000); // now 5 minutes old: too old
    await expect(getNotionData()).rejects.toThrow('Notion service unavailable and no cached data');
    expect(notionClient.databases.query).toHaveBeenCalledTimes(6);
  });

  // --- doc --- Example 4: Monitoring Dashboard
  function setupCircuitBreakerMonitoring() {
    // Log circuit state changes
    circuitBreaker.on('circuit:opened', (executorName, stats) => {
      console.error(`🔴 CIRCUIT OPENED: ${executorName}`);
      console.error(`  Consecutive failures: ${stats.consecutiveFailures}`);
      console.error(`  Total failures: ${stats.failedRequests}`);
      console.error(`  Next attempt: ${stats.nextAttemptTime?.toISOString()}`);

      // Send alert
      alerting.send({
        severity: 'critical',
        title: `Circuit Breaker Opened: ${executorName}`,
        message: `Service is experiencing failures. Circuit will retry in 30 seconds.`
      });
    });

    circuitBreaker.on('circuit:closed', (executorName, stats) => {
      console.log(`🟢 CIRCUIT CLOSED: ${executorName}`);
      console.log(`  Service recovered after ${stats.timesOpened} openings`);

      // Send recovery notification
      alerting.send({
        severity: 'info',
        title: `Circuit Breaker Closed: ${executorName}`,
        message: `Service has recovered and is operating normally.`
      });
    });

    circuitBreaker.on('circuit:half-open', (executorName, stats) => {
      console.log(`🟡 CIRCUIT HALF-OPEN: ${executorName}`);
      console.log(`  Testing service recovery...`);
    });

    // Log all failures
    circuitBreaker.on('request:failure', (executorName, error) => {
      console.warn(`⚠️ Request failed for ${executorName}: ${error.message}`);
    });

    // Log rejections
    circuitBreaker.on('request:rejected', (executorName) => {
      console.warn(`🚫 Request rejected by circuit breaker: ${executorName}`);
    });

    // Log fallback usage
    circuitBreaker.on('fallback:used', (executorName) => {
      console.warn(`💾 Using cached fallback for ${executorName}`);
    });
  }

  // Display dashboard
  function displayCircuitBreakerDashboard() {
    console.log(circuitBreaker.getSummary());

    const allStats = circuitBreaker.getAllStats();
    allStats.forEach((stats) => {
      if (stats.state !== circuitBreaker.CircuitState.CLOSED) {
        console.log(circuitBreaker.formatStats(stats));
      }
    });
  }
  // --- end doc ---

  it('Example 4: alerts on opening and recovery, logs failures, rejections and fallbacks', async () => {
    setupCircuitBreakerMonitoring();

    await succeedTimes('notion', 1);
    await failTimes('notion', 5, 'timeout talking to Notion');
    expect(printed('error')).toEqual([
      '🔴 CIRCUIT OPENED: notion',
      '  Consecutive failures: 5',
      '  Total failures: 5',
      `  Next attempt: ${new Date(T0 + 30_000).toISOString()}`,
    ]);
    expect(alerting.send).toHaveBeenCalledWith({
      severity: 'critical',
      title: 'Circuit Breaker Opened: notion',
      message: 'Service is experiencing failures. Circuit will retry in 30 seconds.',
    });

    await circuitBreaker.execute('notion', async () => 'x'); // rejected, answered from cache
    expect(printed('warn')).toEqual([
      ...Array(5).fill('⚠️ Request failed for notion: timeout talking to Notion'),
      '🚫 Request rejected by circuit breaker: notion',
      '💾 Using cached fallback for notion',
    ]);

    await vi.advanceTimersByTimeAsync(30_000);
    expect(printed('log')).toEqual(['🟡 CIRCUIT HALF-OPEN: notion', '  Testing service recovery...']);
    await succeedTimes('notion', 2);
    expect(printed('log').slice(2)).toEqual(['🟢 CIRCUIT CLOSED: notion', '  Service recovered after 1 openings']);
    expect(alerting.send).toHaveBeenLastCalledWith({
      severity: 'info',
      title: 'Circuit Breaker Closed: notion',
      message: 'Service has recovered and is operating normally.',
    });
  });

  it('Example 4: the dashboard prints the summary every 30 s, and the details of circuits not CLOSED', async () => {
    await succeedTimes('notion', 3);
    await failTimes('trello', 5);
    // --- doc ---
    // Periodic monitoring
    setInterval(displayCircuitBreakerDashboard, 30 * 1000); // Every 30 seconds
    // --- end doc ---
    await vi.advanceTimersByTimeAsync(29_999);
    expect(printed('log')).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);

    const out = printed('log');
    expect(out).toHaveLength(2);
    expect(out[0]).toContain('CIRCUIT BREAKER SUMMARY');
    expect(out[0]).toMatch(/^notion +CLOSED +3 +100\.0% +0$/m);
    expect(out[1]).toMatch(/^=== Circuit Breaker: trello ===\nState: HALF_OPEN\n/); // 30 s after opening
  });

  // --- doc --- Example 5: Integration with Workflow Orchestrator
  async function executeToolWithCircuitBreaker(
    toolName: string,
    executorName: string,
    args: any
  ) {
    // Check circuit state before expensive operations
    if (circuitBreaker.isOpen(executorName)) {
      logger.warn(`Circuit open for ${executorName}, skipping tool ${toolName}`);
      return {
        success: false,
        error: `Service ${executorName} is currently unavailable`
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
      rejected: result.rejected
    };
  }
  // --- end doc ---

  it('Example 5: tool results, failures as messages, and a skip while the circuit is open', async () => {
    await expect(executeToolWithCircuitBreaker('notion:createPage', 'notion', { title: 'A' })).resolves.toEqual({
      success: true,
      data: { tool: 'notion:createPage', args: { title: 'A' } },
      error: undefined,
      fromCache: false,
      rejected: false,
    });

    executeTool.mockRejectedValue(new Error('invalid_grant'));
    await expect(executeToolWithCircuitBreaker('gmail:send', 'gmail', {})).resolves.toEqual({
      success: false,
      data: undefined,
      error: 'invalid_grant',
      fromCache: false,
      rejected: false,
    });

    circuitBreaker.openCircuit('gmail');
    executeTool.mockClear();
    await expect(executeToolWithCircuitBreaker('gmail:send', 'gmail', {})).resolves.toEqual({
      success: false,
      error: 'Service gmail is currently unavailable',
    });
    expect(executeTool).not.toHaveBeenCalled();
    expect(logger.warn).toHaveBeenCalledWith('Circuit open for gmail, skipping tool gmail:send');
  });

  // --- doc --- Example 6: Graceful Degradation
  async function createTaskWithGracefulDegradation(task: Task) {
    // Try primary service (Notion)
    const notionResult = await circuitBreaker.execute('notion', async () => {
      return await notionClient.createTask(task);
    });

    if (notionResult.success) {
      return { service: 'notion', id: notionResult.data.id };
    }

    // Fallback to Trello
    logger.warn('Notion failed, falling back to Trello');
    const trelloResult = await circuitBreaker.execute('trello', async () => {
      return await trelloClient.createCard(task);
    });

    if (trelloResult.success) {
      return { service: 'trello', id: trelloResult.data.id };
    }

    // Both services failed
    throw new Error('All task services are unavailable');
  }
  // --- end doc ---

  it('Example 6: Notion first, Trello when Notion fails, an error when both do', async () => {
    await expect(createTaskWithGracefulDegradation({ title: 'T' })).resolves.toEqual({ service: 'notion', id: 'notion-task-1' });

    notionClient.createTask.mockRejectedValue(new Error('Notion 500'));
    await expect(createTaskWithGracefulDegradation({ title: 'T' })).resolves.toEqual({ service: 'trello', id: 'card-1' });
    expect(logger.warn).toHaveBeenCalledWith('Notion failed, falling back to Trello');
    expect(trelloClient.createCard).toHaveBeenCalledWith({ title: 'T' });

    trelloClient.createCard.mockRejectedValue(new Error('Trello 500'));
    await expect(createTaskWithGracefulDegradation({ title: 'T' })).rejects.toThrow('All task services are unavailable');
  });

  // --- doc --- Example 7: Maintenance Mode
  // Put service in maintenance mode
  function enableMaintenanceMode(executorName: string, durationMinutes: number) {
    logger.info(`Enabling maintenance mode for ${executorName}`);

    // Open circuit
    circuitBreaker.openCircuit(executorName);

    // Automatically close after maintenance
    setTimeout(() => {
      logger.info(`Maintenance mode ended for ${executorName}`);
      circuitBreaker.closeCircuit(executorName);
    }, durationMinutes * 60 * 1000);
  }
  // --- end doc ---

  it('Example 7: the circuit stays open for the 15 minutes (no half-open on its own), then closes', async () => {
    // --- doc ---
    // Usage
    enableMaintenanceMode('notion', 15); // 15 minute maintenance
    // --- end doc ---
    expect(logger.info).toHaveBeenCalledWith('Enabling maintenance mode for notion');
    expect(circuitBreaker.getStats('notion')).toMatchObject({ state: 'OPEN', nextAttemptTime: null });

    await vi.advanceTimersByTimeAsync(15 * 60_000 - 1);
    expect(circuitBreaker.getState('notion')).toBe('OPEN'); // the 30 s reset timeout does not apply
    const during = await circuitBreaker.execute('notion', async () => 'work');
    expect(during).toMatchObject({ rejected: true, success: false });
    expect(during.error?.name).toBe('CircuitOpenError');

    await vi.advanceTimersByTimeAsync(1);
    expect(logger.info).toHaveBeenLastCalledWith('Maintenance mode ended for notion');
    expect(circuitBreaker.getState('notion')).toBe('CLOSED');
    expect(await circuitBreaker.execute('notion', async () => 'work')).toMatchObject({ success: true, data: 'work' });
  });
});

// =======================================================================================
describe('Event System', () => {
  function eventExamples() {
    // --- doc ---
    // Circuit state changes
    circuitBreaker.on('circuit:opened', (executorName, stats) => {
      console.error(`Circuit opened: ${executorName}`);
      metrics.increment('circuit_breaker.opened', { executor: executorName });
    });

    circuitBreaker.on('circuit:closed', (executorName, stats) => {
      console.log(`Circuit closed: ${executorName}`);
      metrics.increment('circuit_breaker.closed', { executor: executorName });
    });

    circuitBreaker.on('circuit:half-open', (executorName, stats) => {
      console.log(`Circuit testing recovery: ${executorName}`);
      metrics.increment('circuit_breaker.half_open', { executor: executorName });
    });

    // Request events
    circuitBreaker.on('request:success', (executorName, executionTime) => {
      metrics.timing('circuit_breaker.request_duration', executionTime, {
        executor: executorName
      });
    });

    circuitBreaker.on('request:failure', (executorName, error) => {
      metrics.increment('circuit_breaker.request_failed', {
        executor: executorName,
        error: error.message
      });
    });

    circuitBreaker.on('request:rejected', (executorName) => {
      metrics.increment('circuit_breaker.request_rejected', {
        executor: executorName
      });
    });

    circuitBreaker.on('fallback:used', (executorName) => {
      metrics.increment('circuit_breaker.fallback_used', {
        executor: executorName
      });
    });
    // --- end doc ---
  }

  it('every event reaches its listener with the documented arguments', async () => {
    eventExamples();

    const call = circuitBreaker.execute('notion', async () => {
      await sleep(120);
      return 'page';
    });
    await vi.advanceTimersByTimeAsync(120);
    await call;
    expect(metrics.timing).toHaveBeenCalledWith('circuit_breaker.request_duration', 120, { executor: 'notion' });

    await failTimes('notion', 5, 'bad gateway');
    await circuitBreaker.execute('notion', async () => 'page'); // rejected, from cache
    circuitBreaker.configure('trello', { cacheFallback: false });
    circuitBreaker.openCircuit('trello');
    await circuitBreaker.execute('trello', async () => 'card'); // rejected, no fallback
    await vi.advanceTimersByTimeAsync(30_000);
    await succeedTimes('notion', 2);

    const increments = metrics.increment.mock.calls;
    expect(increments.filter(([name]) => name === 'circuit_breaker.request_failed')).toEqual(
      Array(5).fill(['circuit_breaker.request_failed', { executor: 'notion', error: 'bad gateway' }]),
    );
    expect(increments.filter(([name]) => name !== 'circuit_breaker.request_failed')).toEqual([
      ['circuit_breaker.opened', { executor: 'notion' }],
      ['circuit_breaker.request_rejected', { executor: 'notion' }],
      ['circuit_breaker.fallback_used', { executor: 'notion' }],
      ['circuit_breaker.opened', { executor: 'trello' }],
      ['circuit_breaker.request_rejected', { executor: 'trello' }],
      ['circuit_breaker.half_open', { executor: 'notion' }],
      ['circuit_breaker.closed', { executor: 'notion' }],
    ]);
    expect(printed('error')).toEqual(['Circuit opened: notion', 'Circuit opened: trello']);
    expect(printed('log')).toEqual(['Circuit testing recovery: notion', 'Circuit closed: notion']);
  });

  it('state events carry statistics that already show the new state', async () => {
    const seen: Array<[string, string, number]> = [];
    circuitBreaker.on('circuit:opened', (name, stats) => seen.push(['opened', stats.state, stats.timesOpened]));
    circuitBreaker.on('circuit:half-open', (name, stats) => seen.push(['half-open', stats.state, stats.timesOpened]));
    circuitBreaker.on('circuit:closed', (name, stats) => seen.push(['closed', stats.state, stats.timesClosed]));
    await failTimes('notion', 5);
    await vi.advanceTimersByTimeAsync(30_000);
    await succeedTimes('notion', 2);
    expect(seen).toEqual([
      ['opened', 'OPEN', 1],
      ['half-open', 'HALF_OPEN', 1],
      ['closed', 'CLOSED', 1],
    ]);
  });
});

// =======================================================================================
describe('Statistics & Monitoring', () => {
  it('Statistics Structure: getStats has exactly the documented fields (plus ignoredFailures), with the documented types', async () => {
    await succeedTimes('notion', 1);
    await failTimes('notion', 1);
    const stats = circuitBreaker.getStats('notion');
    expect(Object.keys(stats ?? {}).sort()).toEqual(
      [
        'executorName', 'state', 'totalRequests', 'successfulRequests', 'failedRequests',
        'rejectedRequests', 'consecutiveFailures', 'consecutiveSuccesses', 'timesOpened',
        'timesClosed', 'lastStateChange', 'lastFailureTime', 'lastSuccessTime',
        'nextAttemptTime', 'avgResponseTime', 'ignoredFailures', 'retries',
      ].sort(),
    );
    expect(stats).toEqual({
      executorName: 'notion',
      state: 'CLOSED',
      totalRequests: 2,
      successfulRequests: 1,
      failedRequests: 1,
      rejectedRequests: 0,
      ignoredFailures: 0,
      consecutiveFailures: 1,
      consecutiveSuccesses: 0,
      timesOpened: 0,
      timesClosed: 0,
      lastStateChange: null,
      lastFailureTime: new Date(T0),
      lastSuccessTime: new Date(T0),
      nextAttemptTime: null,
      avgResponseTime: 0,
      retries: 0,
    });
  });

  // --- doc --- Monitoring Metrics
  // Key metrics to track
  function trackCircuitBreakerMetrics() {
    const allStats = circuitBreaker.getAllStats();

    allStats.forEach((stats, executorName) => {
      // Success rate
      const successRate = stats.totalRequests > 0
        ? (stats.successfulRequests / stats.totalRequests) * 100
        : 100;
      metrics.gauge('circuit_breaker.success_rate', successRate, {
        executor: executorName
      });

      // Rejection rate
      const rejectionRate = stats.totalRequests > 0
        ? (stats.rejectedRequests / stats.totalRequests) * 100
        : 0;
      metrics.gauge('circuit_breaker.rejection_rate', rejectionRate, {
        executor: executorName
      });

      // Circuit state (0=CLOSED, 1=HALF_OPEN, 2=OPEN)
      const stateValue = {
        [circuitBreaker.CircuitState.CLOSED]: 0,
        [circuitBreaker.CircuitState.HALF_OPEN]: 1,
        [circuitBreaker.CircuitState.OPEN]: 2
      }[stats.state];
      metrics.gauge('circuit_breaker.state', stateValue, {
        executor: executorName
      });

      // Consecutive failures
      metrics.gauge('circuit_breaker.consecutive_failures', stats.consecutiveFailures, {
        executor: executorName
      });

      // Average response time
      metrics.gauge('circuit_breaker.avg_response_time', stats.avgResponseTime, {
        executor: executorName
      });
    });
  }
  // --- end doc ---

  /** The last value each gauge got, by "metric executor". */
  function gauges(): Map<string, number> {
    const last = new Map<string, number>();
    for (const [name, value, tags] of metrics.gauge.mock.calls) last.set(`${name} ${tags.executor}`, value);
    return last;
  }

  it('Monitoring Metrics: every 10 s, state 0/1/2 and the rates of each executor', async () => {
    await succeedTimes('notion', 4);
    circuitBreaker.configure('trello', { resetTimeout: 5_000 });
    await failTimes('trello', 5);
    await failTimes('slack', 5);
    circuitBreaker.openCircuit('slack');
    await circuitBreaker.execute('slack', async () => 'x'); // rejected
    circuitBreaker.configure('gmail', {}); // a breaker with no requests yet

    // --- doc ---
    // Run every 10 seconds
    setInterval(trackCircuitBreakerMetrics, 10 * 1000);
    // --- end doc ---
    await vi.advanceTimersByTimeAsync(9_999);
    expect(metrics.gauge).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1); // trello has been half-open for 5 s

    const g = gauges();
    expect(g.get('circuit_breaker.state notion')).toBe(0);
    expect(g.get('circuit_breaker.state trello')).toBe(1);
    expect(g.get('circuit_breaker.state slack')).toBe(2);
    expect(g.get('circuit_breaker.success_rate notion')).toBe(100);
    expect(g.get('circuit_breaker.success_rate trello')).toBe(0);
    expect(g.get('circuit_breaker.success_rate gmail')).toBe(100);
    expect(g.get('circuit_breaker.rejection_rate slack')).toBeCloseTo((1 / 6) * 100);
    expect(g.get('circuit_breaker.rejection_rate gmail')).toBe(0);
    expect(g.get('circuit_breaker.consecutive_failures trello')).toBe(5);
    expect(g.get('circuit_breaker.avg_response_time notion')).toBe(0);
    expect(metrics.gauge).toHaveBeenCalledTimes(4 * 5);

    await vi.advanceTimersByTimeAsync(10_000);
    expect(metrics.gauge).toHaveBeenCalledTimes(2 * 4 * 5);
  });

  function registerHealthCheck(app: ReturnType<typeof createApp>) {
    // --- doc ---
    // Express endpoint for health checks
    app.get('/health/circuit-breakers', (req, res) => {
      const allStats = circuitBreaker.getAllStats();
      const health: any = {
        overall: 'healthy',
        circuits: {}
      };

      allStats.forEach((stats, executorName) => {
        const successRate = stats.totalRequests > 0
          ? (stats.successfulRequests / stats.totalRequests) * 100
          : 100;

        health.circuits[executorName] = {
          state: stats.state,
          healthy: stats.state === circuitBreaker.CircuitState.CLOSED,
          successRate: successRate.toFixed(1) + '%',
          totalRequests: stats.totalRequests,
          rejectedRequests: stats.rejectedRequests,
          avgResponseTime: Math.round(stats.avgResponseTime) + 'ms'
        };

        if (stats.state === circuitBreaker.CircuitState.OPEN) {
          health.overall = 'degraded';
        }
      });

      const statusCode = health.overall === 'healthy' ? 200 : 503;
      res.status(statusCode).json(health);
    });
    // --- end doc ---
  }

  it('Health Check Endpoint: 200 "healthy" while nothing is OPEN, 503 "degraded" when a circuit is', async () => {
    const app = createApp();
    registerHealthCheck(app);

    await succeedTimes('notion', 3);
    await failTimes('notion', 1);
    let res = app.request('/health/circuit-breakers');
    expect(res.statusCode).toBe(200);
    expect(res.body).toEqual({
      overall: 'healthy',
      circuits: {
        notion: { state: 'CLOSED', healthy: true, successRate: '75.0%', totalRequests: 4, rejectedRequests: 0, avgResponseTime: '0ms' },
      },
    });

    await failTimes('trello', 5);
    await circuitBreaker.execute('trello', async () => 'x');
    res = app.request('/health/circuit-breakers');
    expect(res.statusCode).toBe(503);
    expect(res.body.overall).toBe('degraded');
    expect(res.body.circuits.trello).toEqual({
      state: 'OPEN', healthy: false, successRate: '0.0%', totalRequests: 6, rejectedRequests: 1, avgResponseTime: '0ms',
    });

    await vi.advanceTimersByTimeAsync(30_000); // trello half-open: not healthy, but not degrading
    res = app.request('/health/circuit-breakers');
    expect(res.statusCode).toBe(200);
    expect(res.body.overall).toBe('healthy');
    expect(res.body.circuits.trello).toMatchObject({ state: 'HALF_OPEN', healthy: false });
  });
});

// =======================================================================================
describe('Best Practices', () => {
  it('1. Configure Per Service Characteristics', async () => {
    // --- doc ---
    // Fast, reliable service
    circuitBreaker.configure('slack', {
      failureThreshold: 10,      // More tolerant
      resetTimeout: 20 * 1000,   // Quick recovery
      requestTimeout: 5 * 1000   // Fast timeout
    });

    // Slow, less reliable service
    circuitBreaker.configure('external-api', {
      failureThreshold: 3,       // Less tolerant
      resetTimeout: 60 * 1000,   // Slower recovery
      requestTimeout: 30 * 1000  // Longer timeout
    });
    // --- end doc ---
    await failTimes('slack', 9);
    await failTimes('external-api', 3);
    expect(circuitBreaker.isClosed('slack')).toBe(true);
    expect(circuitBreaker.isOpen('external-api')).toBe(true);
    expect(circuitBreaker.getStats('external-api')?.nextAttemptTime).toEqual(new Date(T0 + 60_000));

    const slow = circuitBreaker.execute('slack', () => new Promise<never>(() => {}));
    await vi.advanceTimersByTimeAsync(5_000);
    expect((await slow).error?.name).toBe('TimeoutError');
    expect(circuitBreaker.getStats('slack')?.nextAttemptTime).toEqual(new Date(T0 + 5_000 + 20_000));
  });

  it('2. Always Handle Rejected Requests', async () => {
    const handle = async (fn: () => Promise<unknown>) => {
      // --- doc ---
      const result = await circuitBreaker.execute('notion', fn);

      if (result.rejected) {
        // Handle circuit open scenario
        if (result.fromCache) {
          console.warn('Using cached data');
          return result.data;
        } else {
          // No cache, return error or use fallback service
          throw new Error('Service unavailable');
        }
      }
      // --- end doc ---
      return result;
    };
    const fn = vi.fn(async () => ({ rows: 3 }));

    await handle(fn);
    await failTimes('notion', 5);
    await expect(handle(fn)).resolves.toEqual({ rows: 3 });
    expect(printed('warn')).toEqual(['Using cached data']);

    circuitBreaker.configure('notion', { cacheFallback: false }); // turning it off empties the cache
    await expect(handle(fn)).rejects.toThrow('Service unavailable');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('3. Monitor Circuit State Changes', async () => {
    // --- doc ---
    // Always log circuit state changes
    circuitBreaker.on('circuit:opened', (executorName, stats) => {
      logger.error('Circuit opened', { executorName, stats });
      // Alert operations team
      alerting.send({
        severity: 'critical',
        message: `Circuit breaker opened for ${executorName}`
      });
    });
    // --- end doc ---
    await failTimes('trello', 5);
    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(logger.error).toHaveBeenCalledWith('Circuit opened', {
      executorName: 'trello',
      stats: expect.objectContaining({ executorName: 'trello', state: 'OPEN', failedRequests: 5, timesOpened: 1 }),
    });
    expect(alerting.send).toHaveBeenCalledWith({ severity: 'critical', message: 'Circuit breaker opened for trello' });
  });

  // --- doc --- 4. Combine with Retry Logic
  // Use circuit breaker with retry manager
  async function resilientCall(executorName: string, fn: () => Promise<any>) {
    // Check circuit first
    if (circuitBreaker.isOpen(executorName)) {
      throw new Error(`Circuit open for ${executorName}`);
    }

    // Execute with both circuit breaker and retry
    return await circuitBreaker.execute(executorName, async () => {
      return await retry.retry(fn, {
        platform: executorName as any,
        operation: 'api-call'
      });
    });
  }
  // --- end doc ---

  it('4. Combine with Retry Logic', async () => {
    const flaky = vi.fn<() => Promise<string>>().mockRejectedValueOnce(new Error('ECONNRESET')).mockResolvedValue('done');
    await expect(resilientCall('trello', flaky)).resolves.toMatchObject({ success: true, data: 'done' });
    expect(retry.retry).toHaveBeenCalledWith(flaky, { platform: 'trello', operation: 'api-call' });

    const down = vi.fn(async () => {
      throw new Error('Trello down');
    });
    for (let i = 0; i < 5; i++) {
      const result = await resilientCall('trello', down);
      expect(result).toMatchObject({ success: false, rejected: false });
    }
    await expect(resilientCall('trello', down)).rejects.toThrow('Circuit open for trello');
  });

  it('5. Use Fallback Cache: reads are served from cache, writes are not', async () => {
    // --- doc ---
    // Enable caching for read operations
    circuitBreaker.configure('notion', {
      cacheFallback: true,
      fallbackMaxAge: 10 * 60 * 1000  // 10 minutes
    });

    // For write operations, disable cache
    circuitBreaker.configure('notion-write', {
      cacheFallback: false  // Can't cache writes
    });
    // --- end doc ---
    await succeedTimes('notion', 1, { rows: ['a'] });
    await succeedTimes('notion-write', 1, { created: 'p1' });
    await failTimes('notion', 5);
    await failTimes('notion-write', 5);

    expect(await circuitBreaker.execute('notion', async () => 'x')).toMatchObject({ fromCache: true, data: { rows: ['a'] } });
    const write = await circuitBreaker.execute('notion-write', async () => 'x');
    expect(write).toMatchObject({ success: false, rejected: true, fromCache: false });
    expect(write.error).toBeInstanceOf(circuitBreaker.CircuitOpenError);
  });

  it('6. Reset During Deployments', async () => {
    // --- doc ---
    // Reset circuits during deployment
    async function handleDeployment() {
      logger.info('Deployment starting, resetting circuit breakers');
      circuitBreaker.resetAll();

      // Wait for services to stabilize
      await sleep(5000);

      logger.info('Circuit breakers reset, ready for traffic');
    }
    // --- end doc ---
    await failTimes('notion', 5);
    await failTimes('slack', 5);

    const deployment = handleDeployment();
    expect(circuitBreaker.getState('notion')).toBe('CLOSED');
    expect(circuitBreaker.getState('slack')).toBe('CLOSED');
    expect(circuitBreaker.getStats('slack')).toMatchObject({ totalRequests: 0, failedRequests: 0, timesOpened: 0 });
    expect(logger.info).toHaveBeenCalledTimes(1);

    await vi.advanceTimersByTimeAsync(5_000);
    await deployment;
    expect(logger.info).toHaveBeenLastCalledWith('Circuit breakers reset, ready for traffic');
  });

  it('7. Test Circuit Breaker Behavior: the asserts hold after 3 failures and after 5 s', async () => {
    // --- doc ---
    // Test circuit breaker opening
    async function testCircuitBreaker() {
      const executorName = 'test-service';

      // Configure for quick testing
      circuitBreaker.configure(executorName, {
        failureThreshold: 3,
        failureWindow: 10 * 1000,
        resetTimeout: 5 * 1000,
        successThreshold: 2
      });

      // Cause failures
      for (let i = 0; i < 3; i++) {
        try {
          await circuitBreaker.execute(executorName, async () => {
            throw new Error('Test failure');
          });
        } catch (error) {
          console.log(`Failure ${i + 1}`);
        }
      }

      // Circuit should be open now
      assert(circuitBreaker.isOpen(executorName), 'Circuit should be open');

      // Wait for half-open
      await sleep(5000);

      // Should try requests again
      assert(circuitBreaker.isHalfOpen(executorName), 'Circuit should be half-open');
    }
    // --- end doc ---

    const run = testCircuitBreaker();
    await vi.advanceTimersByTimeAsync(4_999);
    expect(circuitBreaker.isOpen('test-service')).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    await expect(run).resolves.toBeUndefined();
    // execute never rejects for fn's failure, so the guide's `catch` never runs.
    expect(printed('log')).toEqual([]);
  });
});

// =======================================================================================
describe('Production Deployment', () => {
  // --- doc --- 1. Configuration
  // config/circuit-breaker.ts
  const circuitBreakerConfig = {
    notion: {
      failureThreshold: 5,
      failureWindow: 60 * 1000,
      resetTimeout: 30 * 1000,
      successThreshold: 2,
      requestTimeout: 10 * 1000,
      cacheFallback: true,
      fallbackMaxAge: 5 * 60 * 1000
    },
    trello: {
      failureThreshold: 5,
      failureWindow: 60 * 1000,
      resetTimeout: 30 * 1000,
      successThreshold: 2,
      requestTimeout: 10 * 1000,
      cacheFallback: true,
      fallbackMaxAge: 5 * 60 * 1000
    },
    slack: {
      failureThreshold: 10,
      failureWindow: 120 * 1000,
      resetTimeout: 20 * 1000,
      successThreshold: 2,
      requestTimeout: 5 * 1000,
      cacheFallback: false
    },
    gmail: {
      failureThreshold: 5,
      failureWindow: 60 * 1000,
      resetTimeout: 30 * 1000,
      successThreshold: 2,
      requestTimeout: 15 * 1000,
      cacheFallback: true,
      fallbackMaxAge: 10 * 60 * 1000
    }
  };
  // --- end doc --- (`export` dropped: this is not a module of its own)

  it('1. Configuration: applied per executor', async () => {
    // --- doc ---
    // Apply configuration
    Object.entries(circuitBreakerConfig).forEach(([executor, config]) => {
      circuitBreaker.configure(executor, config);
    });
    // --- end doc ---
    expect(circuitBreaker.getExecutors()).toEqual(['notion', 'trello', 'slack', 'gmail']);

    // slack: 10 failures, no cache
    await succeedTimes('slack', 1);
    await failTimes('slack', 9);
    expect(circuitBreaker.isClosed('slack')).toBe(true);
    await failTimes('slack', 1);
    expect(await circuitBreaker.execute('slack', async () => 'x')).toMatchObject({ rejected: true, fromCache: false });

    // gmail: 15 s timeout
    const hung = circuitBreaker.execute('gmail', () => new Promise<never>(() => {}));
    await vi.advanceTimersByTimeAsync(14_999);
    expect(circuitBreaker.getStats('gmail')?.failedRequests).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect((await hung).error?.name).toBe('TimeoutError');
  });

  it('2. Monitoring Setup: logs, alerts and the state gauge (1 = OPEN, 0 otherwise)', async () => {
    // --- doc ---
    // monitoring/circuit-breaker.ts
    function setupCircuitBreakerMonitoring() {
      // Log all state changes
      circuitBreaker.on('circuit:opened', (executorName, stats) => {
        logger.error('Circuit opened', {
          executor: executorName,
          consecutiveFailures: stats.consecutiveFailures,
          totalFailures: stats.failedRequests,
          nextAttempt: stats.nextAttemptTime
        });

        // Send alert
        alerting.sendAlert({
          severity: 'critical',
          title: `Circuit Breaker Opened: ${executorName}`,
          description: `Circuit breaker has opened for ${executorName} after ${stats.consecutiveFailures} consecutive failures.`,
          metadata: stats
        });
      });

      circuitBreaker.on('circuit:closed', (executorName, stats) => {
        logger.info('Circuit closed', {
          executor: executorName,
          timesOpened: stats.timesOpened
        });

        // Send recovery notification
        alerting.sendNotification({
          severity: 'info',
          title: `Circuit Breaker Closed: ${executorName}`,
          description: `Circuit breaker for ${executorName} has recovered.`
        });
      });

      // Track metrics
      setInterval(() => {
        const allStats = circuitBreaker.getAllStats();
        allStats.forEach((stats, executorName) => {
          metrics.gauge('circuit_breaker.state',
            stats.state === circuitBreaker.CircuitState.OPEN ? 1 : 0,
            { executor: executorName }
          );

          const successRate = stats.totalRequests > 0
            ? (stats.successfulRequests / stats.totalRequests) * 100
            : 100;

          metrics.gauge('circuit_breaker.success_rate', successRate, {
            executor: executorName
          });
        });
      }, 10 * 1000);
    }
    // --- end doc --- (`export` and the imports dropped; logger, alerting, metrics are fakes)

    setupCircuitBreakerMonitoring();
    await succeedTimes('notion', 1);
    await failTimes('trello', 5);

    expect(logger.error).toHaveBeenCalledWith('Circuit opened', {
      executor: 'trello',
      consecutiveFailures: 5,
      totalFailures: 5,
      nextAttempt: new Date(T0 + 30_000),
    });
    expect(alerting.sendAlert).toHaveBeenCalledWith({
      severity: 'critical',
      title: 'Circuit Breaker Opened: trello',
      description: 'Circuit breaker has opened for trello after 5 consecutive failures.',
      metadata: expect.objectContaining({ executorName: 'trello', state: 'OPEN' }),
    });

    await vi.advanceTimersByTimeAsync(10_000);
    expect(metrics.gauge.mock.calls).toEqual([
      ['circuit_breaker.state', 0, { executor: 'notion' }],
      ['circuit_breaker.success_rate', 100, { executor: 'notion' }],
      ['circuit_breaker.state', 1, { executor: 'trello' }],
      ['circuit_breaker.success_rate', 0, { executor: 'trello' }],
    ]);

    await vi.advanceTimersByTimeAsync(20_000);
    await succeedTimes('trello', 2);
    expect(logger.info).toHaveBeenCalledWith('Circuit closed', { executor: 'trello', timesOpened: 1 });
    expect(alerting.sendNotification).toHaveBeenCalledWith({
      severity: 'info',
      title: 'Circuit Breaker Closed: trello',
      description: 'Circuit breaker for trello has recovered.',
    });
  });

  it('3. Graceful Shutdown: destroy leaves no timer behind, then the process exits', async () => {
    // A stand-in for Node's `process`, so the test can raise SIGTERM without a real signal.
    const handlers = new Map<string, () => Promise<void>>();
    const process = {
      on(event: string, handler: () => Promise<void>) {
        handlers.set(event, handler);
      },
      exit: vi.fn(),
    };

    // --- doc ---
    // Graceful shutdown
    process.on('SIGTERM', async () => {
      logger.info('SIGTERM received, shutting down gracefully');

      // Clean up circuit breakers
      circuitBreaker.destroy();

      // Wait for in-flight requests
      await sleep(5000);

      process.exit(0);
    });
    // --- end doc ---

    await failTimes('notion', 5); // an open circuit has its half-open timer
    expect(vi.getTimerCount()).toBeGreaterThan(0);

    const shutdown = handlers.get('SIGTERM')!();
    expect(logger.info).toHaveBeenCalledWith('SIGTERM received, shutting down gracefully');
    expect(circuitBreaker.getExecutors()).toEqual([]);
    expect(vi.getTimerCount()).toBe(1); // only the guide's own sleep(5000)
    expect(process.exit).not.toHaveBeenCalled();

    await vi.advanceTimersByTimeAsync(5_000);
    await shutdown;
    expect(process.exit).toHaveBeenCalledWith(0);
  });

  it('4. Health Checks: 200 "healthy" with no open circuit, 503 "degraded" with one', async () => {
    const app = createApp();
    // --- doc ---
    // Health check with circuit breaker status
    app.get('/health', (req, res) => {
      const allStats = circuitBreaker.getAllStats();
      const openCircuits = Array.from(allStats.values()).filter(
        stats => stats.state === circuitBreaker.CircuitState.OPEN
      );

      const health = {
        status: openCircuits.length === 0 ? 'healthy' : 'degraded',
        timestamp: new Date().toISOString(),
        circuits: {
          total: allStats.size,
          open: openCircuits.length,
          details: Array.from(allStats.values()).map(stats => ({
            executor: stats.executorName,
            state: stats.state,
            successRate: stats.totalRequests > 0
              ? ((stats.successfulRequests / stats.totalRequests) * 100).toFixed(1) + '%'
              : '100%'
          }))
        }
      };

      res.status(openCircuits.length === 0 ? 200 : 503).json(health);
    });
    // --- end doc ---

    await succeedTimes('notion', 2);
    circuitBreaker.configure('slack', {});
    let res = app.request('/health');
    expect(res.statusCode).toBe(200);
    expect(res.body).toEqual({
      status: 'healthy',
      timestamp: '2024-05-01T12:00:00.000Z',
      circuits: {
        total: 2,
        open: 0,
        details: [
          { executor: 'notion', state: 'CLOSED', successRate: '100.0%' },
          { executor: 'slack', state: 'CLOSED', successRate: '100%' },
        ],
      },
    });

    await failTimes('slack', 5);
    res = app.request('/health');
    expect(res.statusCode).toBe(503);
    expect(res.body).toMatchObject({ status: 'degraded', circuits: { total: 2, open: 1 } });
    expect(res.body.circuits.details[1]).toEqual({ executor: 'slack', state: 'OPEN', successRate: '0.0%' });
  });
});

// =======================================================================================
describe('Integration Examples', () => {
  it('With Workflow Orchestrator: the executor is the tool name before the colon', async () => {
    // --- doc ---
    // workflows/orchestrator.ts
    async function executeWorkflowStep(step: WorkflowStep) {
      // `!`: the guide relies on `[0]` being a string; this repo's tsconfig has noUncheckedIndexedAccess
      const executorName = step.tool.split(':')[0]!; // e.g., 'notion:createPage' -> 'notion'

      return await circuitBreaker.execute(executorName, async () => {
        return await executeTool(step.tool, step.args);
      });
    }
    // --- end doc ---

    const result = await executeWorkflowStep({ tool: 'notion:createPage', args: { title: 'X' } });
    expect(result).toMatchObject({ success: true, data: { tool: 'notion:createPage', args: { title: 'X' } } });
    expect(executeTool).toHaveBeenCalledWith('notion:createPage', { title: 'X' });
    expect(circuitBreaker.getExecutors()).toEqual(['notion']);
  });

  it('With Retry Manager: the library retries; fast fail when open', async () => {
    // --- doc ---
    // Combined retry + circuit breaker, both from the library
    // Once per executor: every call is retried, within the executor's retry budget.
    circuitBreaker.configure('gmail', {
      retry: { attempts: 3, minDelay: 500 },
    });

    async function robustExecute<T>(
      executorName: string,
      fn: (signal: AbortSignal) => Promise<T>
    ): Promise<T> {
      // Fails fast while the circuit is open; otherwise retries, then throws the last error
      return circuitBreaker.executeOrThrow(executorName, fn);
    }
    // --- end doc ---

    const flaky = vi.fn<() => Promise<string>>().mockRejectedValueOnce(new Error('503')).mockResolvedValue('sent');
    const sent = robustExecute('gmail', flaky);
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(sent).resolves.toBe('sent');
    expect(flaky).toHaveBeenCalledTimes(2);
    expect(circuitBreaker.getStats('gmail')!.retries).toBe(1);

    circuitBreaker.openCircuit('gmail');
    await expect(robustExecute('gmail', flaky)).resolves.toBe('sent'); // the fallback cache answers
    circuitBreaker.reset('gmail');
    circuitBreaker.openCircuit('gmail');
    await expect(robustExecute('gmail', flaky)).rejects.toBeInstanceOf(circuitBreaker.CircuitOpenError);
    expect(flaky).toHaveBeenCalledTimes(2);
  });

  it('With Idempotency Manager: a repeated request runs once', async () => {
    // --- doc ---
    // Triple protection: idempotency + retry + circuit breaker
    async function ultraRobustExecute(
      executorName: string,
      operation: string,
      reasoning: string,
      fn: () => Promise<any>
    ) {
      // Check circuit
      if (circuitBreaker.isOpen(executorName)) {
        throw new Error(`Circuit open for ${executorName}`);
      }

      // Execute with all protections
      return await idempotency.executeWithIdempotency(
        reasoning,
        async () => {
          return await circuitBreaker.execute(executorName, async () => {
            return await retry.retry(fn, {
              platform: executorName as any,
              operation
            });
          });
        }
      );
    }
    // --- end doc ---

    const create = vi.fn(async () => ({ id: 'card-9' }));
    const first = await ultraRobustExecute('trello', 'createCard', 'create card for ticket 42', create);
    const again = await ultraRobustExecute('trello', 'createCard', 'create card for ticket 42', create);
    expect(first).toMatchObject({ success: true, data: { id: 'card-9' } });
    expect(again).toBe(first);
    expect(create).toHaveBeenCalledTimes(1);
    expect(circuitBreaker.getStats('trello')?.totalRequests).toBe(1);

    circuitBreaker.openCircuit('trello');
    await expect(ultraRobustExecute('trello', 'createCard', 'another', create)).rejects.toThrow('Circuit open for trello');
  });
});

// =======================================================================================
describe('Troubleshooting', () => {
  it('Circuit Opens Too Frequently: a higher threshold and longer window tolerate more', async () => {
    // --- doc ---
    // Increase failure threshold or window
    circuitBreaker.configure('notion', {
      failureThreshold: 10,      // Increase from 5
      failureWindow: 120 * 1000  // Increase from 60s
    });
    // --- end doc ---
    for (let i = 0; i < 9; i++) {
      await failTimes('notion', 1);
      await vi.advanceTimersByTimeAsync(13_000); // 9 failures over 104 s
    }
    expect(circuitBreaker.isClosed('notion')).toBe(true);
    await failTimes('notion', 1); // the 10th, 117 s after the first
    expect(circuitBreaker.isOpen('notion')).toBe(true);
  });

  it('Circuit Doesn\'t Open: inspect the failures, then lower the threshold (kept failures count)', async () => {
    await failTimes('notion', 2);
    // --- doc ---
    // Check if failures are within the window
    const stats = circuitBreaker.getStats('notion');
    console.log('Consecutive failures:', stats?.consecutiveFailures);
    console.log('Last failure:', stats?.lastFailureTime);

    // Decrease threshold
    circuitBreaker.configure('notion', {
      failureThreshold: 3  // Decrease from 5
    });
    // --- end doc ---
    expect(printed('log')).toEqual(['Consecutive failures: 2', format('Last failure:', new Date(T0))]);
    expect(circuitBreaker.isClosed('notion')).toBe(true); // configure keeps the state
    await failTimes('notion', 1);
    expect(circuitBreaker.isOpen('notion')).toBe(true);
  });

  it('Circuit Takes Too Long to Recover: a 15 s reset timeout', async () => {
    // --- doc ---
    // Reduce reset timeout
    circuitBreaker.configure('notion', {
      resetTimeout: 15 * 1000  // Reduce from 30s
    });
    // --- end doc ---
    await failTimes('notion', 5);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(circuitBreaker.isHalfOpen('notion')).toBe(true);
  });

  it('Cache Not Working: with cacheFallback on, a rejected call reports fromCache', async () => {
    circuitBreaker.configure('notion', { cacheFallback: false });
    await succeedTimes('notion', 1, 'page');
    // --- doc ---
    // Ensure cache is enabled
    circuitBreaker.configure('notion', {
      cacheFallback: true,
      fallbackMaxAge: 10 * 60 * 1000  // Increase cache age
    });
    // --- end doc ---
    const fn = async () => 'page';
    await failTimes('notion', 5);
    // --- doc ---
    // Check if result has data
    const result = await circuitBreaker.execute('notion', fn);
    console.log('From cache:', result.fromCache);
    // --- end doc ---
    // Nothing was cached while the cache was off.
    expect(printed('log')).toEqual(['From cache: false']);

    circuitBreaker.closeCircuit('notion');
    await succeedTimes('notion', 1, 'page');
    await failTimes('notion', 5);
    const second = await circuitBreaker.execute('notion', fn);
    console.log('From cache:', second.fromCache);
    expect(printed('log')).toEqual(['From cache: false', 'From cache: true']);
    expect(second.data).toBe('page');
  });
});

// =======================================================================================
describe('Core Concepts', () => {
  it('failure detection counts failures in the window: a success between them does not reset it', async () => {
    // The guide's overview says "Tracks consecutive failures", but its CLOSED section and
    // CONTRACT.md say "5 failures within 1 minute": successes do not erase failures.
    await failTimes('notion', 2);
    await succeedTimes('notion', 1);
    await failTimes('notion', 3);
    expect(circuitBreaker.getStats('notion')).toMatchObject({ state: 'OPEN', consecutiveFailures: 3 });
  });
});
