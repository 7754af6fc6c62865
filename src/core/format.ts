import { show } from './config.js';
import type { CircuitBreakerStats } from './types.js';

/**
 * `part` as a percentage of `whole` with one decimal; `empty` when there is no whole: 100
 * for the success rate (nothing has failed), 0 for the rejection rate.
 */
function percent(part: number, whole: number, empty: number): string {
  return `${(whole > 0 ? (part / whole) * 100 : empty).toFixed(1)}%`;
}

function when(date: Date | null, none: string): string {
  return date === null ? none : date.toISOString();
}

function checkStats(stats: unknown): asserts stats is CircuitBreakerStats {
  if (stats === null || typeof stats !== 'object' || typeof (stats as CircuitBreakerStats).executorName !== 'string') {
    throw new TypeError(`formatStats: expected the stats of one executor (from getStats), got ${show(stats)}`);
  }
}

/**
 * One executor's statistics as a block of text for logs and consoles.
 *
 * ```text
 * === Circuit Breaker: notion ===
 * State: CLOSED
 *
 * Requests:
 *   Total: 150
 *   Successful: 145 (96.7%)
 *   Failed: 5
 *   Rejected: 0 (0.0%)
 * ...
 * ```
 */
export function formatStats(stats: CircuitBreakerStats): string {
  checkStats(stats);
  const total = stats.totalRequests;
  return [
    `=== Circuit Breaker: ${stats.executorName} ===`,
    `State: ${stats.state}`,
    '',
    'Requests:',
    `  Total: ${total}`,
    `  Successful: ${stats.successfulRequests} (${percent(stats.successfulRequests, total, 100)})`,
    `  Failed: ${stats.failedRequests}`,
    `  Rejected: ${stats.rejectedRequests} (${percent(stats.rejectedRequests, total, 0)})`,
    '',
    'Streaks:',
    `  Consecutive failures: ${stats.consecutiveFailures}`,
    `  Consecutive successes: ${stats.consecutiveSuccesses}`,
    '',
    'Transitions:',
    `  Times opened: ${stats.timesOpened}`,
    `  Times closed: ${stats.timesClosed}`,
    `  Last state change: ${when(stats.lastStateChange, 'never')}`,
    `  Next attempt: ${when(stats.nextAttemptTime, 'none')}`,
    '',
    'Timing:',
    `  Avg response time: ${stats.avgResponseTime.toFixed(1)}ms`,
    `  Last success: ${when(stats.lastSuccessTime, 'never')}`,
    `  Last failure: ${when(stats.lastFailureTime, 'never')}`,
  ].join('\n');
}

// Column widths of the summary table as documented; a wider value widens its column.
const EXECUTOR = 17;
const STATE = 12;
const REQUESTS = 11;
const SUCCESS = 11;
const RULE = 56;

/**
 * Every executor on one line each, in a table with aligned columns.
 *
 * ```text
 * ========================================
 *       CIRCUIT BREAKER SUMMARY
 * ========================================
 *
 * Executor         State       Requests   Success%   Rejected
 * --------------------------------------------------------
 * notion           CLOSED      150        96.7%      0
 * ```
 */
export function formatSummary(all: Iterable<CircuitBreakerStats>): string {
  const rows = [...all];
  const executor = Math.max(EXECUTOR, ...rows.map((s) => s.executorName.length + 1));
  const requests = Math.max(REQUESTS, ...rows.map((s) => String(s.totalRequests).length + 1));
  const line = (name: string, state: string, total: string, rate: string, rejected: string): string =>
    name.padEnd(executor) + state.padEnd(STATE) + total.padEnd(requests) + rate.padEnd(SUCCESS) + rejected;
  const lines = [
    '='.repeat(40),
    '      CIRCUIT BREAKER SUMMARY',
    '='.repeat(40),
    '',
    line('Executor', 'State', 'Requests', 'Success%', 'Rejected'),
    '-'.repeat(RULE + executor - EXECUTOR + requests - REQUESTS),
  ];
  for (const s of rows) {
    lines.push(
      line(s.executorName, s.state, String(s.totalRequests), percent(s.successfulRequests, s.totalRequests, 100), String(s.rejectedRequests)),
    );
  }
  if (rows.length === 0) lines.push('(no circuit breakers yet)');
  return lines.join('\n');
}
