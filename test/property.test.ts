/**
 * Model-based property tests: random command sequences played against the real registry
 * (under vitest's fake timers) and the reference model in test/model/reference.ts, which is
 * written from CONTRACT.md and docs/decisions.md and imports nothing from src/. After every
 * command, test/model/harness.ts compares results, events, statistics, fn invocations and
 * pending timers, and checks the invariants listed there. See docs/reliability.md.
 *
 * A failure prints fast-check's shrunk counterexample (the command list, plus the
 * scheduler's release order for the interleaving property) and its seed and path. To replay
 * it: FC_SEED=<seed> FC_PATH=<path> npx vitest run test/property.test.ts -t '<property name>'.
 * PROPERTY_SCALE=10 runs ten times as many sequences.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import type { CircuitBreakerConfig } from '../src/index.js';
import { MIXES, commandArb, defaultsArb, type Command } from './model/commands.js';
import { Run, drainMicrotasks } from './model/harness.js';
import { parameters } from './model/parameters.js';

/** Runs per property; the three together make RUNS_TOTAL sequences. */
const RUNS = { single: 400, several: 300, interleaved: 300 } as const;
export const RUNS_TOTAL = RUNS.single + RUNS.several + RUNS.interleaved;

/** With PROPERTY_STATS=1: what the sequences reached (results by kind, steps), printed at the end. */
const tally = new Map<string, number>();
const bump = (key: string, n = 1): void => {
  tally.set(key, (tally.get(key) ?? 0) + n);
};

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeAll(() => {
  vi.useFakeTimers();
  process.on('unhandledRejection', onUnhandled);
});

afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  vi.useRealTimers();
  if (process.env.PROPERTY_STATS) console.log(Object.fromEntries([...tally].sort((a, b) => b[1] - a[1])));
});

/** One sequence: play it, destroy the registry, and make sure no rejection went unhandled. */
async function playOne(
  defaults: Partial<CircuitBreakerConfig>,
  executors: number,
  commands: readonly Command[],
  scheduler?: fc.Scheduler,
): Promise<void> {
  const run = new Run({ defaults, executors, ...(scheduler ? { scheduler } : {}) });
  try {
    await run.play(commands);
  } catch (error) {
    run.reg.destroy();
    vi.clearAllTimers();
    throw error;
  }
  run.dispose();
  bump('sequences');
  bump('steps', commands.length);
  for (const [kind, n] of run.tally) bump(`result: ${kind}`, n);
  await drainMicrotasks();
  if (unhandled.length > 0) {
    const reasons = unhandled.splice(0);
    throw new Error(`unhandled rejection(s): ${reasons.map(String).join('; ')}`);
  }
}

const { single: SINGLE, several: SEVERAL, interleaved: INTERLEAVED } = MIXES;

describe('the registry behaves as the reference model (fast-check, fake timers)', () => {
  it(`one executor: calls of every kind, timeouts, slow results across state changes (${RUNS.single} sequences)`, async () => {
    await fc.assert(
      fc.asyncProperty(defaultsArb(), fc.array(commandArb(SINGLE), { minLength: 1, maxLength: 80, size: 'max' }), (defaults, commands) =>
        playOne(defaults, SINGLE.executors, commands),
      ),
      parameters(RUNS.single),
    );
  });

  it(`three executors with manual control, reset, resetAll and destroy in between (${RUNS.several} sequences)`, async () => {
    await fc.assert(
      fc.asyncProperty(defaultsArb(), fc.array(commandArb(SEVERAL), { minLength: 1, maxLength: 60, size: 'max' }), (defaults, commands) =>
        playOne(defaults, SEVERAL.executors, commands),
      ),
      parameters(RUNS.several),
    );
  });

  it(`many calls in flight settling in an order fc.scheduler picks: probe limits and generations (${RUNS.interleaved} sequences)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        defaultsArb(3),
        fc.array(commandArb(INTERLEAVED), { minLength: 1, maxLength: 60, size: 'max' }),
        (scheduler, defaults, commands) => playOne(defaults, INTERLEAVED.executors, commands, scheduler),
      ),
      parameters(RUNS.interleaved),
    );
  });
});
