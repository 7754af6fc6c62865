import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as circuitBreaker from '../src/index.js';
import { CircuitState, type CircuitBreakerRegistry, type CircuitBreakerStats } from '../src/index.js';
import { formatSummary } from '../src/core/format.js';
import { healthCheck } from '../src/observability/health.js';
import { boom, fakeTimeRegistry, ok, tearDownFakeTimeRegistry, zeroStats } from './helpers.js';

// ---------------------------------------------------------------------------
// Helpers (the shared ones are in helpers.ts)
// ---------------------------------------------------------------------------

async function times(reg: CircuitBreakerRegistry, name: string, fn: () => unknown, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await reg.execute(name, fn);
}

/** The header of getSummary exactly as the user guide shows it. */
const SUMMARY_HEADER = [
  '========================================',
  '      CIRCUIT BREAKER SUMMARY',
  '========================================',
  '',
  'Executor         State       Requests   Success%   Rejected',
  '--------------------------------------------------------',
];

/**
 * Reproduces the user guide's numbers through real calls:
 * notion CLOSED 150 (145 ok, 5 failed), trello OPEN 85 (60 ok, 10 failed, 15 rejected),
 * slack CLOSED 200 (198 ok, 2 failed).
 */
async function seedScenario(reg: CircuitBreakerRegistry): Promise<void> {
  reg.configure('notion', { failureThreshold: 1_000 });
  reg.configure('trello', { failureThreshold: 10 });
  reg.configure('slack', { failureThreshold: 1_000 });

  for (let i = 0; i < 150; i++) await reg.execute('notion', i % 30 === 29 ? boom : ok(i));
  for (let i = 0; i < 200; i++) await reg.execute('slack', i % 100 === 99 ? boom : ok(i));
  await times(reg, 'trello', ok('card'), 60);
  await times(reg, 'trello', boom, 10); // the 10th opens the circuit
  await times(reg, 'trello', ok('never runs'), 15); // rejected (answered from the cache)
}

let reg: CircuitBreakerRegistry;

beforeEach(() => {
  reg = fakeTimeRegistry();
});

afterEach(() => {
  tearDownFakeTimeRegistry(reg, { destroyDefault: true });
});

// ---------------------------------------------------------------------------
// formatStats
// ---------------------------------------------------------------------------

describe('formatStats', () => {
  it('starts exactly as the user guide shows for notion with 150 requests, 145 successful', async () => {
    await seedScenario(reg);
    const stats = reg.getStats('notion')!;
    expect(stats).toMatchObject({ totalRequests: 150, successfulRequests: 145, failedRequests: 5, rejectedRequests: 0 });
    const lines = reg.formatStats(stats).split('\n');
    expect(lines.slice(0, 8)).toEqual([
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

  it('shows an OPEN circuit with its rejections as a percentage of the total', async () => {
    await seedScenario(reg);
    const stats = reg.getStats('trello')!;
    expect(stats.state).toBe(CircuitState.OPEN);
    expect(reg.formatStats(stats).split('\n').slice(0, 8)).toEqual([
      '=== Circuit Breaker: trello ===',
      'State: OPEN',
      '',
      'Requests:',
      '  Total: 85',
      '  Successful: 60 (70.6%)',
      '  Failed: 10',
      '  Rejected: 15 (17.6%)',
    ]);
  });

  it('prints a success rate of 100.0% and a rejection rate of 0.0% for a breaker with no requests', () => {
    reg.configure('fresh', {});
    expect(reg.formatStats(reg.getStats('fresh')!).split('\n').slice(0, 8)).toEqual([
      '=== Circuit Breaker: fresh ===',
      'State: CLOSED',
      '',
      'Requests:',
      '  Total: 0',
      '  Successful: 0 (100.0%)',
      '  Failed: 0',
      '  Rejected: 0 (0.0%)',
    ]);
  });

  it('prints HALF_OPEN as the state of a half-open circuit', async () => {
    await times(reg, 'svc', boom, 5);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(reg.formatStats(reg.getStats('svc')!).split('\n')[1]).toBe('State: HALF_OPEN');
  });

  it.each([
    [1, 3, '33.3%'],
    [2, 3, '66.7%'],
    [1, 7, '14.3%'],
    [3, 3, '100.0%'],
    [0, 4, '0.0%'],
  ])('prints %i successes of %i requests as %s, to one decimal', async (good, total, shown) => {
    reg.configure('svc', { failureThreshold: 100 });
    await times(reg, 'svc', ok(), good);
    await times(reg, 'svc', boom, total - good);
    expect(reg.formatStats(reg.getStats('svc')!).split('\n')[5]).toBe(`  Successful: ${good} (${shown})`);
  });

  it('is the same through the module function, the registry method and on event stats', async () => {
    let fromEvent: CircuitBreakerStats | undefined;
    reg.on('circuit:opened', (_name, stats) => {
      fromEvent = stats;
    });
    await times(reg, 'svc', boom, 5);
    const stats = reg.getStats('svc')!;
    expect(circuitBreaker.formatStats(stats)).toBe(reg.formatStats(stats));
    expect(reg.formatStats(fromEvent!)).toBe(reg.formatStats(stats));
    expect(reg.formatStats(reg.getAllStats().get('svc')!)).toBe(reg.formatStats(stats));
  });

  it('does not change the stats it is given', async () => {
    await times(reg, 'svc', boom, 5);
    const stats = reg.getStats('svc')!;
    const copy = structuredClone(stats);
    reg.formatStats(stats);
    expect(stats).toEqual(copy);
  });

  it('prints no placeholder junk in any line, whatever the state', async () => {
    reg.configure('svc', { failureThreshold: 2 });
    const texts: string[] = [];
    texts.push(reg.formatStats((reg.configure('empty', {}), reg.getStats('empty')!)));
    await reg.execute('svc', ok());
    await times(reg, 'svc', boom, 2);
    await reg.execute('svc', ok());
    texts.push(reg.formatStats(reg.getStats('svc')!));
    for (const text of texts) {
      expect(text).not.toMatch(/undefined|NaN|\[object|Invalid Date/);
      expect(text.endsWith('\n')).toBe(false);
    }
  });
});

// ---------------------------------------------------------------------------
// getSummary
// ---------------------------------------------------------------------------

describe('getSummary', () => {
  it('prints exactly the user guide table for the guide scenario', async () => {
    await seedScenario(reg);
    expect(reg.getSummary()).toBe(
      [
        ...SUMMARY_HEADER,
        'notion           CLOSED      150        96.7%      0',
        'trello           OPEN        85         70.6%      15',
        'slack            CLOSED      200        99.0%      0',
      ].join('\n'),
    );
  });

  it('prints the same through the module functions', async () => {
    circuitBreaker.configure('notion', { failureThreshold: 1_000 });
    for (let i = 0; i < 150; i++) await circuitBreaker.execute('notion', i % 30 === 29 ? boom : ok(i));
    expect(circuitBreaker.getSummary()).toBe(
      [...SUMMARY_HEADER, 'notion           CLOSED      150        96.7%      0'].join('\n'),
    );
  });

  it('lists executors in creation order', async () => {
    await reg.execute('zeta', ok());
    await reg.execute('alpha', ok());
    await reg.execute('mid', ok());
    const rows = reg.getSummary().split('\n').slice(SUMMARY_HEADER.length);
    expect(rows.map((r) => r.split(' ')[0])).toEqual(['zeta', 'alpha', 'mid']);
  });

  it('prints percentages to one decimal and 100.0% for an executor with no requests', async () => {
    reg.configure('none', {});
    reg.configure('third', { failureThreshold: 100 });
    await reg.execute('third', ok());
    await times(reg, 'third', boom, 2);
    const rows = reg.getSummary().split('\n').slice(SUMMARY_HEADER.length);
    expect(rows).toEqual([
      'none             CLOSED      0          100.0%     0',
      'third            CLOSED      3          33.3%      0',
    ]);
  });

  it('shows HALF_OPEN for a circuit whose reset timeout has passed', async () => {
    reg.configure('svc', { failureThreshold: 1, cacheFallback: false });
    await reg.execute('svc', boom);
    await reg.execute('svc', ok()); // rejected
    await vi.advanceTimersByTimeAsync(30_000);
    const rows = reg.getSummary().split('\n').slice(SUMMARY_HEADER.length);
    expect(rows).toEqual(['svc              HALF_OPEN   2          0.0%       1']);
  });

  it('prints the header and no rows for an empty registry', () => {
    const lines = reg.getSummary().split('\n');
    expect(lines.slice(0, SUMMARY_HEADER.length)).toEqual(SUMMARY_HEADER);
    const rest = lines.slice(SUMMARY_HEADER.length).join('\n');
    expect(rest).not.toMatch(/CLOSED|OPEN|HALF_OPEN|%/);
  });

  it('prints the header and no rows after destroy', async () => {
    await reg.execute('svc', ok());
    reg.destroy();
    const lines = reg.getSummary().split('\n');
    expect(lines.slice(0, SUMMARY_HEADER.length)).toEqual(SUMMARY_HEADER);
    expect(lines.slice(SUMMARY_HEADER.length).join('\n')).not.toContain('svc');
  });

  describe('long names', () => {
    const columns = ['State', 'Requests', 'Success%', 'Rejected'] as const;

    /** Checks that every row's cells start exactly under the header's column titles. */
    function expectAligned(summary: string, rows: Array<[string, string, string, string, string]>): void {
      const lines = summary.split('\n');
      const header = lines[4]!;
      const rule = lines[5]!;
      const starts = columns.map((title) => header.indexOf(title));
      expect(header.startsWith('Executor ')).toBe(true);
      expect(starts.every((s, i) => i === 0 || s > starts[i - 1]!)).toBe(true);
      const body = lines.slice(SUMMARY_HEADER.length);
      expect(body).toHaveLength(rows.length);
      body.forEach((line, r) => {
        const [name, ...cells] = rows[r]!;
        expect(line.startsWith(name)).toBe(true);
        cells.forEach((cell, c) => {
          expect(line.slice(starts[c]!).startsWith(cell)).toBe(true);
          // at least one space before every cell, so cells never run together
          expect(line[starts[c]! - 1]).toBe(' ');
          expect(line.slice(0, starts[c]!).trimEnd().length).toBeLessThan(starts[c]!);
        });
      });
      // The rule grows with the executor column, keeping its documented proportion.
      expect(rule).toMatch(/^-+$/);
      expect(rule.length - starts[0]!).toBe(56 - 17);
    }

    it('widen the executor column and keep every column aligned', async () => {
      const long = 'a-very-long-executor-name-for-tests';
      await reg.execute('short', ok());
      await reg.execute(long, ok());
      await reg.execute(long, boom);
      const summary = reg.getSummary();
      expectAligned(summary, [
        ['short', 'CLOSED', '1', '100.0%', '0'],
        [long, 'CLOSED', '2', '50.0%', '0'],
      ]);
      expect(summary.split('\n')[4]!.indexOf('State')).toBeGreaterThan(long.length);
    });

    it('a name of exactly 16 characters fits the documented column', async () => {
      const name = 'x'.repeat(16);
      await reg.execute(name, ok());
      expect(reg.getSummary()).toBe([...SUMMARY_HEADER, `${name} CLOSED      1          100.0%     0`].join('\n'));
    });

    it('a name of 17 characters is still followed by a space', async () => {
      const name = 'y'.repeat(17);
      await reg.execute(name, ok());
      await reg.execute('n', ok());
      expectAligned(reg.getSummary(), [
        [name, 'CLOSED', '1', '100.0%', '0'],
        ['n', 'CLOSED', '1', '100.0%', '0'],
      ]);
    });

    it('an OPEN circuit with rejections stays aligned next to a long name', async () => {
      const long = 'service-with-a-really-quite-long-name';
      reg.configure('t', { failureThreshold: 1, cacheFallback: false });
      await reg.execute('t', boom);
      await times(reg, 't', ok(), 12);
      await reg.execute(long, ok());
      expectAligned(reg.getSummary(), [
        ['t', 'OPEN', '13', '0.0%', '12'],
        [long, 'CLOSED', '1', '100.0%', '0'],
      ]);
    });
  });
});

describe('the success rate of an executor with no calls', () => {
  let reg: CircuitBreakerRegistry;
  beforeEach(() => {
    reg = fakeTimeRegistry();
  });
  afterEach(() => tearDownFakeTimeRegistry(reg));

  it('is 100.0% everywhere: formatStats, getSummary and the health report agree', () => {
    reg.configure('idle', {});
    const block = reg.formatStats(reg.getStats('idle')!);
    const row = reg.getSummary().split('\n').at(-1)!;
    const health = healthCheck({ breakers: reg }).body.circuits['idle']!;
    expect(block).toContain('  Successful: 0 (100.0%)');
    expect(block).toContain('  Rejected: 0 (0.0%)');
    expect(row.split(/\s+/)).toEqual(['idle', 'CLOSED', '0', '100.0%', '0']);
    expect(health.successRate).toBe('100.0%');
  });
});

describe('the whole printed text', () => {
  const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);

  it('formatStats prints every line of every section, times in ISO 8601', async () => {
    reg.destroy();
    reg = fakeTimeRegistry({ now: T0 });
    reg.configure('svc', { failureThreshold: 2, resetTimeout: 30_000, cacheFallback: false });
    const slow = reg.execute('svc', () => new Promise((resolve) => setTimeout(() => resolve('ok'), 40)));
    await vi.advanceTimersByTimeAsync(40);
    await slow;
    await reg.execute('svc', boom);
    await reg.execute('svc', boom); // opens
    await reg.execute('svc', ok()); // rejected
    const at = new Date(T0 + 40).toISOString();
    expect(reg.formatStats(reg.getStats('svc')!)).toBe(
      [
        '=== Circuit Breaker: svc ===',
        'State: OPEN',
        '',
        'Requests:',
        '  Total: 4',
        '  Successful: 1 (25.0%)',
        '  Failed: 2',
        '  Rejected: 1 (25.0%)',
        '',
        'Streaks:',
        '  Consecutive failures: 2',
        '  Consecutive successes: 0',
        '',
        'Transitions:',
        '  Times opened: 1',
        '  Times closed: 0',
        `  Last state change: ${at}`,
        `  Next attempt: ${new Date(T0 + 40 + 30_000).toISOString()}`,
        '',
        'Timing:',
        '  Avg response time: 13.3ms',
        `  Last success: ${at}`,
        `  Last failure: ${at}`,
      ].join('\n'),
    );
  });

  it('formatStats says never and none before anything happened', () => {
    reg.configure('idle', {});
    expect(reg.formatStats(reg.getStats('idle')!).split('\n').slice(8)).toEqual([
      '',
      'Streaks:',
      '  Consecutive failures: 0',
      '  Consecutive successes: 0',
      '',
      'Transitions:',
      '  Times opened: 0',
      '  Times closed: 0',
      '  Last state change: never',
      '  Next attempt: none',
      '',
      'Timing:',
      '  Avg response time: 0.0ms',
      '  Last success: never',
      '  Last failure: never',
    ]);
  });

  it('getSummary of a registry with no breaker says so under the header', () => {
    expect(reg.getSummary()).toBe([...SUMMARY_HEADER, '(no circuit breakers yet)'].join('\n'));
  });
});

describe('getSummary: a request count wider than its column', () => {
  it('widens the column, keeping a space after the count', () => {
    const big = { ...zeroStats('big'), totalRequests: 12_345_678_901, successfulRequests: 12_345_678_901 };
    expect(formatSummary([big]).split('\n').slice(4)).toEqual([
      'Executor         State       Requests    Success%   Rejected',
      '---------------------------------------------------------',
      'big              CLOSED      12345678901 100.0%     0',
    ]);
  });
});
