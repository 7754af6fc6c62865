/**
 * The user guide's TypeScript snippets, type-checked against the published declarations
 * (`executor-circuit-breaker` resolves to dist/index.d.ts through package.json `exports`).
 * Nothing here runs: test/types.test.ts compiles it with `tsc --noEmit`.
 *
 * Adaptations, kept minimal:
 * - `import * as circuitBreaker from './workflows/circuit-breaker'` -> 'executor-circuit-breaker'.
 * - Other imports (retry-manager, idempotency-manager, logger) and the guide's free names
 *   (notionClient, app, sleep, ...) are declared in ambient.d.ts.
 * - `{ ... }` placeholders are real objects.
 * - Snippets that declare the same names are wrapped in `{ }` blocks; snippets that `return`
 *   at top level are wrapped in a function.
 * - Each change beyond that is commented where it is made.
 *
 * After the snippets: compile-time checks of the API's types (see "Type assertions").
 */
// The guide imports `ErrorCode` from @slack/web-api; renamed here beside other names.
import { APIErrorCode, isNotionClientError } from '@notionhq/client';
import { ErrorCode as SlackErrorCode } from '@slack/web-api';
import * as circuitBreaker from 'executor-circuit-breaker';
import {
  CircuitOpenError,
  CircuitState,
  createRegistry,
  type CircuitBreakerConfig,
  type CircuitBreakerEvents,
  type CircuitBreakerRegistry,
  type CircuitBreakerStats,
  type ExecutionResult,
} from 'executor-circuit-breaker';

// ======================================================================================
// Quick Start
// ======================================================================================

// Basic Usage
{
  // Execute with circuit breaker protection
  const result = await circuitBreaker.execute(
    'notion',
    async () => {
      // Your API call
      return await notionClient.createPage({ title: 'Hello' });
    }
  );

  if (result.success) {
    console.log('Success:', result.data);
  } else if (result.rejected) {
    console.log('Circuit is open, request rejected');
  } else {
    console.log('Request failed:', result.error);
  }
}

// Check Circuit State
{
  // Check if circuit is open
  if (circuitBreaker.isOpen('notion')) {
    console.log('Notion circuit is open - service may be down');
  }

  // Get detailed state
  const state = circuitBreaker.getState('notion');
  console.log(`Circuit state: ${state}`); // CLOSED, OPEN, or HALF_OPEN
}

// Monitor Events
{
  // Listen for circuit state changes
  circuitBreaker.on('circuit:opened', (executorName, stats) => {
    console.error(`⚠️ Circuit opened for ${executorName}`);
    console.log(`Consecutive failures: ${stats.consecutiveFailures}`);
    console.log(`Next attempt at: ${stats.nextAttemptTime}`);
  });

  circuitBreaker.on('circuit:closed', (executorName, stats) => {
    console.log(`✅ Circuit closed for ${executorName} - service recovered`);
  });
}

// ======================================================================================
// Circuit States
// ======================================================================================

{
  // Example: CLOSED state
  const result = await circuitBreaker.execute('trello', async () => {
    return await trelloClient.createCard({ name: 'Card' });
  });
  // Request executes normally
}

{
  // Example: OPEN state behavior
  const result = await circuitBreaker.execute('slack', async () => {
    return await slackClient.postMessage({ channel: '#ops', text: 'hi' });
  });

  if (result.rejected) {
    console.log('Circuit is open');
    if (result.fromCache) {
      console.log('Using cached result');
    }
  }
}

{
  // Example: HALF_OPEN state
  // After 30 seconds of being OPEN, circuit moves to HALF_OPEN
  // Next 2 requests will test if service recovered

  const result = await circuitBreaker.execute('notion', async () => {
    return await notionClient.query({ filter: 'open' });
  });

  // If successful, consecutive success count increases
  // After 2 successes, circuit closes
}

// ======================================================================================
// Configuration
// ======================================================================================

// Default Configuration (a bare object literal in the guide; here it must be a valid config)
{
  const defaults: Partial<CircuitBreakerConfig> = {
    failureThreshold: 5,           // Open after 5 failures
    failureWindow: 60 * 1000,      // Within 1 minute
    resetTimeout: 30 * 1000,       // Try half-open after 30 seconds
    successThreshold: 2,           // Close after 2 successes in half-open
    requestTimeout: 10 * 1000,     // 10 second request timeout
    cacheFallback: true,           // Use cached fallback
    fallbackMaxAge: 5 * 60 * 1000  // Cache valid for 5 minutes
  };
}

// Custom Configuration
{
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
}

// Which outcomes count, and when the circuit opens
{
  const REQUEST_ERRORS = new Set<string>([APIErrorCode.ObjectNotFound, APIErrorCode.ValidationError]);
  circuitBreaker.configure('notion', {
    isFailure: (error) => !(isNotionClientError(error) && REQUEST_ERRORS.has(error.code)),
  });
}
async function policySnippets(url: string) {
  circuitBreaker.configure('boards', {
    isResultFailure: (response) => (response as Response).status >= 500,
  });
  const result = await circuitBreaker.execute('boards', (signal) => fetch(url, { signal }));
  if (!result.success && result.error instanceof circuitBreaker.ResultFailureError) {
    await (result.error.value as Response).body?.cancel();
  }

  circuitBreaker.configure('slack', {
    failureThreshold: Infinity,
    failureRateThreshold: 0.5, // half of the calls of the last minute failed
    minimumRequests: 20,       // and there were at least 20 of them
  });

  circuitBreaker.configure('slack', {
    retryAfter: (error) => {
      const e = error as { code?: string; retryAfter?: number };
      return e.code === SlackErrorCode.RateLimitedError ? (e.retryAfter ?? 1) * 1000 : undefined;
    },
  });
}
void policySnippets;

// ======================================================================================
// API Reference
// ======================================================================================

{
  const result = await circuitBreaker.execute('notion', async () => {
    return await notionClient.createPage({ title: 'Doc' });
  });
}

{
  const state = circuitBreaker.getState('trello');
  // Returns: CircuitState.CLOSED | CircuitState.OPEN | CircuitState.HALF_OPEN | null
}

{
  const stats = circuitBreaker.getStats('slack');
  if (stats) {
    console.log(`State: ${stats.state}`);
    console.log(`Total requests: ${stats.totalRequests}`);
    console.log(`Success rate: ${(stats.successfulRequests / stats.totalRequests * 100).toFixed(1)}%`);
    console.log(`Consecutive failures: ${stats.consecutiveFailures}`);
  }
}

{
  circuitBreaker.configure('gmail', { failureThreshold: 3 });
  const config = circuitBreaker.getConfig('gmail');
  console.log(config?.failureThreshold, config?.resetTimeout); // 3 30000
}

{
  const allStats = circuitBreaker.getAllStats();
  allStats.forEach((stats, executorName) => {
    console.log(`${executorName}: ${stats.state}`);
  });
}

circuitBreaker.configure('gmail', {
  failureThreshold: 3,
  resetTimeout: 45 * 1000,
  cacheFallback: true
});

// Manually reset a circuit
circuitBreaker.reset('notion');

// Reset all circuits (e.g., during deployment)
circuitBreaker.resetAll();

// Force circuit open (e.g., during maintenance)
circuitBreaker.openCircuit('notion');

// Force circuit closed after manual fix
circuitBreaker.closeCircuit('notion');

if (circuitBreaker.isOpen('trello')) {
  console.log('Trello service is currently unavailable');
}

if (circuitBreaker.isClosed('slack')) {
  console.log('Slack service is healthy');
}

if (circuitBreaker.isHalfOpen('gmail')) {
  console.log('Gmail service is being tested for recovery');
}

{
  const executors = circuitBreaker.getExecutors();
  console.log('Active circuit breakers:', executors);
  // ['notion', 'trello', 'slack', 'gmail']
}

circuitBreaker.on('circuit:opened', (executorName, stats) => {
  console.error(`Circuit opened for ${executorName}`);
});

circuitBreaker.on('request:failure', (executorName, error) => {
  console.warn(`Request failed for ${executorName}: ${error.message}`);
});

{
  // A standalone arrow function has no contextual type: under `strict` (noImplicitAny) its
  // parameters need the annotations the guide gives them, as the next line shows.
  // @ts-expect-error -- implicit any: 'executorName' and 'stats'
  const unannotated = (executorName, stats) => {};

  const listener = (executorName: string, stats: circuitBreaker.CircuitBreakerStats) => {
    console.log(`Circuit opened: ${executorName}`);
  };

  circuitBreaker.on('circuit:opened', listener);
  // Later...
  circuitBreaker.off('circuit:opened', listener);
}

{
  const stats = circuitBreaker.getStats('notion');
  if (stats) {
    console.log(circuitBreaker.formatStats(stats));
  }
}

console.log(circuitBreaker.getSummary());

// Clean up before shutdown
circuitBreaker.destroy();

// ======================================================================================
// Usage Examples
// ======================================================================================

// Example 1: Basic API Call Protection
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

// Example 2: With Retry Integration
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

// Configuration: Bulkhead, Retry, Fallback
async function compositionSnippets() {
  {
    circuitBreaker.configure('drive', { maxConcurrent: 4, maxQueue: 20 });
    const result = await circuitBreaker.execute('drive', (signal) => drive.files.export(args, { signal }));
    if (result.error instanceof circuitBreaker.BulkheadRejectedError) console.log('Drive is busy');
  }
  {
    const result = await circuitBreaker.execute('notion', () => notion.search({ query }), {
      retry: 3,
      fallback: () => ({ results: [], has_more: false }),
    });
    if (result.fromFallback) console.log('Notion is unavailable: showing no results');
  }
  // API Reference: executeOrThrow
  {
    try {
      const page = await circuitBreaker.executeOrThrow('notion', () => notionClient.pages.retrieve({ page_id: pageId }));
      console.log(page.id);
    } catch (error) {
      if (error instanceof circuitBreaker.CircuitOpenError) console.log('Notion is down');
      else throw error;
    }
  }
  // API Reference: wrap
  {
    const getPage = circuitBreaker.wrap(
      'notion',
      async (pageId: string, signal?: AbortSignal) => {
        const response = await fetch(`https://api.notion.com/v1/pages/${pageId}`, { signal });
        return response.json();
      },
      { cacheKey: (pageId) => `page:${pageId}`, retry: 3 },
    );
    const result = await getPage('p1'); // an ExecutionResult
    const checked: ExecutionResult<unknown> = result;
    void checked;
  }
  // API Reference: wrapClient
  {
    const notion = circuitBreaker.wrapClient('notion', new Client({ auth: process.env.NOTION_TOKEN }), {
      cacheable: (path) => path === 'dataSources.query' || path.endsWith('.retrieve'),
    });
    const tasks = await notion.dataSources.query({ data_source_id: tasksId }); // cached per data source
    await notion.pages.create({ parent: { data_source_id: tasksId }, properties }); // never cached

    const slack = circuitBreaker.wrapClient('slack', new WebClient(token), { retry: 3 });
    await slack.chat.postMessage({ channel: 'C123', text: 'Deployed' });
    void tasks;
  }
  // Event Functions: on returns a function that removes the listener
  {
    const stop = circuitBreaker.on('request:retry', (executorName, attempt, error, delayMs) => {
      console.warn(`${executorName}: try ${attempt} in ${delayMs} ms after ${error.message}`);
    });
    stop(); // removes that listener
  }
}
void compositionSnippets;

// Example 3: Fallback Pattern
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

// Example 4: Monitoring Dashboard (in a block: Production Deployment 2 exports the same name)
{
  // Setup monitoring
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

  // Periodic monitoring
  setInterval(displayCircuitBreakerDashboard, 30 * 1000); // Every 30 seconds
}

// Example 5: Integration with Workflow Orchestrator
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

// Example 6: Graceful Degradation
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

// Example 7: Maintenance Mode
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

// Usage
enableMaintenanceMode('notion', 15); // 15 minute maintenance

// ======================================================================================
// Event System
// ======================================================================================

// Available Events: the guide's interface is the library's, to the letter.
interface GuideCircuitBreakerEvents {
  'circuit:opened': (executorName: string, stats: CircuitBreakerStats) => void;
  'circuit:closed': (executorName: string, stats: CircuitBreakerStats) => void;
  'circuit:half-open': (executorName: string, stats: CircuitBreakerStats) => void;
  'request:success': (executorName: string, executionTime: number) => void;
  'request:failure': (executorName: string, error: Error) => void;
  'request:rejected': (executorName: string) => void;
  'fallback:used': (executorName: string) => void;
  'request:retry': (executorName: string, attempt: number, error: Error, delayMs: number) => void;
}

// Event Examples
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

// ======================================================================================
// Statistics & Monitoring
// ======================================================================================

// Statistics Structure: the guide's interface (compared with the library's below).
interface GuideCircuitBreakerStats {
  executorName: string;
  state: CircuitState;
  totalRequests: number;
  successfulRequests: number;
  failedRequests: number;
  rejectedRequests: number;
  ignoredFailures: number;     // failed calls isFailure did not count (also in failedRequests)
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  timesOpened: number;
  timesClosed: number;
  lastStateChange: Date | null;
  lastFailureTime: Date | null;
  lastSuccessTime: Date | null;
  nextAttemptTime: Date | null;
  avgResponseTime: number;
  retries: number;          // retries made (each also counted as a request)
}

// Monitoring Metrics
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

// Run every 10 seconds
setInterval(trackCircuitBreakerMetrics, 10 * 1000);

// Health Check Endpoint
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

// ======================================================================================
// Best Practices
// ======================================================================================

// 1. Configure Per Service Characteristics
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

// 2. Always Handle Rejected Requests (in a function: the snippet `return`s; `fn` is its parameter)
async function alwaysHandleRejected(fn: () => Promise<{ rows: number }>) {
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
}

// 3. Monitor Circuit State Changes
// Always log circuit state changes
circuitBreaker.on('circuit:opened', (executorName, stats) => {
  logger.error('Circuit opened', { executorName, stats });
  // Alert operations team
  alerting.send({
    severity: 'critical',
    message: `Circuit breaker opened for ${executorName}`
  });
});

// 4. Combine with Retry Logic
// (the guide's two imports: `retry` is declared in ambient.d.ts, circuitBreaker is above)
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

// 5. Use Fallback Cache
// Enable caching for read operations
circuitBreaker.configure('notion', {
  cacheFallback: true,
  fallbackMaxAge: 10 * 60 * 1000  // 10 minutes
});

// For write operations, disable cache
circuitBreaker.configure('notion-write', {
  cacheFallback: false  // Can't cache writes
});

// 6. Reset During Deployments
// Reset circuits during deployment
async function handleDeployment() {
  logger.info('Deployment starting, resetting circuit breakers');
  circuitBreaker.resetAll();

  // Wait for services to stabilize
  await sleep(5000);

  logger.info('Circuit breakers reset, ready for traffic');
}

// 7. Test Circuit Breaker Behavior
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

// ======================================================================================
// Production Deployment
// ======================================================================================

// 1. Configuration
// config/circuit-breaker.ts
export const circuitBreakerConfig = {
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

// Apply configuration
Object.entries(circuitBreakerConfig).forEach(([executor, config]) => {
  circuitBreaker.configure(executor, config);
});

// 2. Monitoring Setup
// monitoring/circuit-breaker.ts
export function setupCircuitBreakerMonitoring() {
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

// 3. Graceful Shutdown
process.on('SIGTERM', async () => {
  logger.info('SIGTERM received, shutting down gracefully');

  // Clean up circuit breakers
  circuitBreaker.destroy();

  // Wait for in-flight requests
  await sleep(5000);

  process.exit(0);
});

// 4. Health Checks
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

// ======================================================================================
// Integration Examples
// ======================================================================================

// With Workflow Orchestrator
// workflows/orchestrator.ts
async function executeWorkflowStep(step: WorkflowStep) {
  // `!` added: the repository's root tsconfig (which also checks this file) has
  // noUncheckedIndexedAccess, under which `split(':')[0]` is `string | undefined`.
  const executorName = step.tool.split(':')[0]!; // e.g., 'notion:createPage' -> 'notion'

  return await circuitBreaker.execute(executorName, async () => {
    return await executeTool(step.tool, step.args);
  });
}

// With Retry Manager
// Combined retry + circuit breaker, both from the library
{
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
  void robustExecute;
}

// With Idempotency Manager
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

// ======================================================================================
// Troubleshooting
// ======================================================================================

// Circuit Opens Too Frequently
// Increase failure threshold or window
circuitBreaker.configure('notion', {
  failureThreshold: 10,      // Increase from 5
  failureWindow: 120 * 1000  // Increase from 60s
});

// Circuit Doesn't Open
{
  // Check if failures are within the window
  const stats = circuitBreaker.getStats('notion');
  console.log('Consecutive failures:', stats?.consecutiveFailures);
  console.log('Last failure:', stats?.lastFailureTime);

  // Decrease threshold
  circuitBreaker.configure('notion', {
    failureThreshold: 3  // Decrease from 5
  });
}

// Circuit Takes Too Long to Recover
// Reduce reset timeout
circuitBreaker.configure('notion', {
  resetTimeout: 15 * 1000  // Reduce from 30s
});

// Cache Not Working
{
  const fn = async () => ({ rows: 1 }); // the guide's `fn`, left undefined there
  // Ensure cache is enabled
  circuitBreaker.configure('notion', {
    cacheFallback: true,
    fallbackMaxAge: 10 * 60 * 1000  // Increase cache age
  });

  // Check if result has data
  const result = await circuitBreaker.execute('notion', fn);
  console.log('From cache:', result.fromCache);
}

// ======================================================================================
// Type assertions
// ======================================================================================

/** True when A and B are the same type (not merely assignable). */
type Equal<A, B> = (<G>() => G extends A ? 1 : 2) extends <G>() => G extends B ? 1 : 2 ? true : false;
/** Compiles only when `Equal<A, B>` is true. */
function assertType<A, B>(_proof: Equal<A, B>): void {}

// The guide's interfaces are the library's.
assertType<CircuitBreakerStats, GuideCircuitBreakerStats>(true);
assertType<CircuitBreakerEvents, GuideCircuitBreakerEvents>(true);
assertType<circuitBreaker.CircuitBreakerStats, CircuitBreakerStats>(true);

// The documented configuration keys (plus fallbackMaxEntries, from CONTRACT.md, and the
// keys of POLICIES.md: the outcome and opening rules, the bulkhead, retry and fallback).
assertType<
  keyof CircuitBreakerConfig,
  | 'failureThreshold'
  | 'failureWindow'
  | 'resetTimeout'
  | 'successThreshold'
  | 'requestTimeout'
  | 'cacheFallback'
  | 'fallbackMaxAge'
  | 'fallbackMaxEntries'
  | 'isFailure'
  | 'isResultFailure'
  | 'failureRateThreshold'
  | 'minimumRequests'
  | 'slowCallDuration'
  | 'slowCallRateThreshold'
  | 'resetTimeoutMultiplier'
  | 'maxResetTimeout'
  | 'resetTimeoutJitter'
  | 'retryAfter'
  | 'maxConcurrent'
  | 'maxQueue'
  | 'retryBudget'
  | 'fallback'
  | 'retry'
>(true);

// The guide's `ExecutionResult<T>` interface: what execute returns fits it.
interface GuideExecutionResult<T> {
  success: boolean;        // Whether execution succeeded
  data?: T;               // Result data if successful
  error?: Error;          // Error if failed
  fromCache: boolean;     // Whether result is from cache
  rejected: boolean;      // Whether request was rejected
  circuitState: CircuitState; // State at execution time
  executionTime: number;  // Execution time in ms
  fromFallback: boolean;  // Whether data came from a fallback function
  attempts: number;       // Tries made (1 without retry)
}

// The documented signatures, as function types the module functions must be assignable to.
const signatures: {
  execute: <T>(executorName: string, fn: () => Promise<T>) => Promise<ExecutionResult<T>>;
  getState: (executorName: string) => CircuitState | null;
  getStats: (executorName: string) => CircuitBreakerStats | null;
  getAllStats: () => Map<string, CircuitBreakerStats>;
  configure: (executorName: string, config: Partial<CircuitBreakerConfig>) => void;
  reset: (executorName: string) => void;
  resetAll: () => void;
  openCircuit: (executorName: string) => void;
  closeCircuit: (executorName: string) => void;
  isOpen: (executorName: string) => boolean;
  isClosed: (executorName: string) => boolean;
  isHalfOpen: (executorName: string) => boolean;
  getExecutors: () => string[];
  on: <E extends keyof CircuitBreakerEvents>(event: E, listener: CircuitBreakerEvents[E]) => void;
  off: <E extends keyof CircuitBreakerEvents>(event: E, listener: CircuitBreakerEvents[E]) => void;
  formatStats: (stats: CircuitBreakerStats) => string;
  getSummary: () => string;
  destroy: () => void;
} = circuitBreaker;

// createRegistry gives the same API.
const registry: CircuitBreakerRegistry = createRegistry({ defaults: { failureThreshold: 3 }, clock: { now: () => 0 } });
const sameApi: typeof signatures = registry;
// @ts-expect-error -- defaults are typed like configure's config
createRegistry({ defaults: { failureThreshold: '3' } });

// getState: CircuitState | null.
{
  const s: CircuitState | null = circuitBreaker.getState('x');
  // @ts-expect-error -- null must be handled
  const notNull: CircuitState = circuitBreaker.getState('x');
  const values: `${CircuitState}` = 'HALF_OPEN';
  // @ts-expect-error -- the enum's values are exactly CLOSED, OPEN, HALF_OPEN
  const wrong: `${CircuitState}` = 'HALF-OPEN';
}

// execute: the result narrows on `success`.
async function resultNarrowing() {
  const result = await circuitBreaker.execute('notion', async () => ({ id: 'page-1' }));
  assertType<typeof result, ExecutionResult<{ id: string }>>(true);
  const asInGuide: GuideExecutionResult<{ id: string }> = result;

  // @ts-expect-error -- data may be undefined until success is checked
  result.data.id;

  if (result.success) {
    assertType<typeof result.data, { id: string }>(true);
    const id: string = result.data.id;
  } else {
    assertType<typeof result.error, Error>(true);
    const message: string = result.error.message;
    // @ts-expect-error -- a failure never comes from the cache
    const cached: true = result.fromCache;
  }

  // A synchronous function and a value-returning one work; fn may take the AbortSignal.
  const sync = await circuitBreaker.execute('notion', () => 42);
  assertType<typeof sync, ExecutionResult<number>>(true);
  const withSignal = await circuitBreaker.execute('notion', (signal) => {
    assertType<typeof signal, AbortSignal>(true);
    return Promise.resolve('text');
  }, { cacheKey: 'page-1', signal: AbortSignal.timeout(1000) });
  assertType<typeof withSignal, ExecutionResult<string>>(true);

  // @ts-expect-error -- fn is required
  circuitBreaker.execute('notion');
  // @ts-expect-error -- unknown option
  circuitBreaker.execute('notion', async () => 1, { timeOut: 5 });
  // A call's own timeout.
  circuitBreaker.execute('notion', async () => 1, { timeout: 5 });
}

// Events: names and listener signatures are checked.
// @ts-expect-error -- no such event ('circuit:opened' is)
circuitBreaker.on('circuit:open', () => {});
// @ts-expect-error -- no such event
circuitBreaker.off('request:timeout', () => {});
// @ts-expect-error -- executionTime is a number
circuitBreaker.on('request:success', (executorName: string, executionTime: string) => {});
// @ts-expect-error -- request:failure hands an Error, not stats
circuitBreaker.on('request:failure', (executorName: string, stats: CircuitBreakerStats) => {});
// @ts-expect-error -- request:rejected hands only the name
circuitBreaker.on('request:rejected', (executorName: number) => {});
circuitBreaker.on('circuit:half-open', (executorName, stats) => {
  assertType<typeof executorName, string>(true);
  assertType<typeof stats, CircuitBreakerStats>(true);
});
circuitBreaker.on('request:failure', (executorName, error) => {
  assertType<typeof error, Error>(true);
});

// Configuration: keys and value types are checked.
// @ts-expect-error -- misspelt key
circuitBreaker.configure('notion', { failureTreshold: 3 });
// @ts-expect-error -- cacheFallback is a boolean
circuitBreaker.configure('notion', { cacheFallback: 'yes' });
assertType<typeof circuitBreaker.DEFAULT_CONFIG, Readonly<CircuitBreakerConfig>>(true);

// Errors.
{
  const error = new CircuitOpenError('notion', null);
  const name: string = error.executorName;
  const next: Date | null = error.nextAttemptTime;
  const isError: Error = error;
  assertType<typeof error.name, 'CircuitOpenError'>(true);
  const timeout = new circuitBreaker.TimeoutError('notion', 10_000);
  assertType<typeof timeout.name, 'TimeoutError'>(true);
}
