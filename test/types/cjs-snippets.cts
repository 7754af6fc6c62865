/**
 * The CommonJS view of the package: `require('executor-circuit-breaker')` resolves through
 * the "require" condition of package.json `exports` to dist/index.d.cts. Type-checked only
 * (NodeNext configuration; `import = require` has no meaning for a bundler).
 */
import circuitBreaker = require('executor-circuit-breaker');

const state: circuitBreaker.CircuitState | null = circuitBreaker.getState('notion');
const open: boolean = state === circuitBreaker.CircuitState.OPEN;

async function createPage(): Promise<string> {
  const result = await circuitBreaker.execute('notion', async () => ({ id: 'page-1' }));
  if (result.success) return result.data.id;
  const error: Error = result.error;
  throw error;
}

const registry: circuitBreaker.CircuitBreakerRegistry = circuitBreaker.createRegistry();
registry.on('circuit:opened', (executorName, stats) => {
  const failures: number = stats.consecutiveFailures;
});
// @ts-expect-error -- no such event
registry.on('circuit:open', () => {});

const rejection = new circuitBreaker.CircuitOpenError('notion', new Date());
const next: Date | null = rejection.nextAttemptTime;
