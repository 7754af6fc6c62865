/**
 * Model-based property tests of the bulkhead and of retry: random command sequences played
 * against a real registry (under fake timers) and the reference models in
 * test/model/composition.ts. After every command the results so far, which fns ran, and the
 * slots in use are compared with the model; at the end every call has settled exactly once
 * and no slot is leaked (maxConcurrent new calls all run at once).
 *
 * A failure prints fast-check's shrunk counterexample and its seed; replay it with
 * FC_SEED=<seed> FC_PATH=<path> npx vitest run test/property-composition.test.ts.
 * PROPERTY_SCALE=10 runs ten times as many sequences.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BulkheadRejectedError,
  CircuitOpenError,
  TimeoutError,
  createRegistry,
  type ExecutionResult,
} from '../src/index.js';
import { BulkheadModel, RetryModel, type Behaviour, type Outcome } from './model/composition.js';
import { parameters } from './model/parameters.js';

const TIMEOUT = 1_000;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

beforeAll(() => {
  vi.useFakeTimers();
  process.on('unhandledRejection', onUnhandled);
});

afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  vi.useRealTimers();
});

type Command =
  | { kind: 'start'; behaviour: Behaviour; signal: boolean }
  | { kind: 'release'; pick: number; ok: boolean }
  | { kind: 'abort'; pick: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'open' }
  | { kind: 'close' };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('start' as const), behaviour: fc.constantFrom<Behaviour>('ok', 'fail', 'hold', 'hold'), signal: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat(), ok: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(1, 100, 400, 999, 1_000) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'open' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'close' as const }) },
);

interface RealCall {
  result: ExecutionResult<unknown> | null;
  settledTimes: number;
  invoked: number;
  /** Settles fn's promise, for a holding call whose fn ran. */
  settle: ((ok: boolean) => void) | null;
  controller: AbortController | null;
  reason: Error;
}

/** The outcome a real result shows, for comparison with the model's. */
function outcomeOf(call: RealCall): Outcome | null {
  const r = call.result;
  if (r === null) return null;
  if (r.success) return 'success';
  const ran = call.invoked > 0;
  if (r.error instanceof BulkheadRejectedError) return 'bulkhead';
  if (r.error instanceof CircuitOpenError) return 'open';
  if (r.error instanceof TimeoutError) return ran ? 'timeout' : 'timeout-waiting';
  if (r.error === call.reason) return ran ? 'aborted' : 'aborted-waiting';
  if (r.error.message === 'fail') return 'failure';
  return null;
}

async function flush(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

async function playBulkhead(maxConcurrent: number, maxQueue: number, commands: Command[]): Promise<void> {
  const reg = createRegistry({
    defaults: { failureThreshold: 1_000_000, requestTimeout: TIMEOUT, cacheFallback: false, maxConcurrent, maxQueue },
  });
  const model = new BulkheadModel(maxConcurrent, maxQueue, TIMEOUT);
  const real: RealCall[] = [];
  const name = 'svc';
  try {
    for (const command of commands) {
      switch (command.kind) {
        case 'start': {
          const call: RealCall = { result: null, settledTimes: 0, invoked: 0, settle: null, controller: command.signal ? new AbortController() : null, reason: new Error(`abort ${real.length}`) };
          real.push(call);
          const fn = (): unknown => {
            call.invoked++;
            if (command.behaviour === 'ok') return 'ok';
            if (command.behaviour === 'fail') throw new Error('fail');
            return new Promise((resolve, reject) => {
              call.settle = (ok) => (ok ? resolve('ok') : reject(new Error('fail')));
            });
          };
          const options = call.controller === null ? undefined : { signal: call.controller.signal };
          void reg.execute(name, fn, options).then((result) => {
            call.settledTimes++;
            call.result = result;
          });
          model.start(command.behaviour);
          break;
        }
        case 'release': {
          const holding = real.map((c, i) => [c, i] as const).filter(([c]) => c.settle !== null);
          if (holding.length === 0) break;
          const [call, id] = holding[command.pick % holding.length]!;
          call.settle!(command.ok);
          call.settle = null;
          model.release(id, command.ok);
          break;
        }
        case 'abort': {
          const withSignal = real.map((c, i) => [c, i] as const).filter(([c]) => c.controller !== null && !c.controller.signal.aborted);
          if (withSignal.length === 0) break;
          const [call, id] = withSignal[command.pick % withSignal.length]!;
          call.controller!.abort(call.reason);
          model.abort(id);
          break;
        }
        case 'advance':
          await vi.advanceTimersByTimeAsync(command.ms);
          model.advance(command.ms);
          break;
        case 'open':
          reg.openCircuit(name);
          model.setOpen(true);
          break;
        case 'close':
          reg.closeCircuit(name);
          model.setOpen(false);
          break;
      }
      await flush();
      // The results so far, which fns ran, and no call run while rejected.
      real.forEach((call, id) => {
        const expected = model.calls[id]!;
        const where = `call #${id} after ${JSON.stringify(command)}`;
        expect(outcomeOf(call), where).toBe(expected.outcome);
        expect(call.invoked, `${where}: fn invocations`).toBe(expected.ran ? 1 : 0);
        if (call.result?.rejected) expect(call.invoked, `${where}: ran while rejected`).toBe(0);
        expect(call.settledTimes, `${where}: settled`).toBe(expected.outcome === null ? 0 : 1);
      });
      // Never more calls holding a slot than maxConcurrent.
      const holdingSlot = real.filter((c) => c.invoked > 0 && c.result === null).length;
      expect(holdingSlot).toBe(model.running);
      expect(holdingSlot).toBeLessThanOrEqual(maxConcurrent);
    }
    // Every call settles, exactly once: run out every deadline.
    await vi.advanceTimersByTimeAsync(TIMEOUT * 2);
    for (const call of real) expect(call.settledTimes).toBe(1);
    // No slot leaked: with the circuit closed, maxConcurrent new calls all run at once.
    reg.closeCircuit(name);
    let ran = 0;
    for (let i = 0; i < maxConcurrent; i++) {
      void reg.execute(name, () => {
        ran++;
        return new Promise(() => {});
      });
    }
    expect(ran).toBe(maxConcurrent);
  } finally {
    reg.destroy();
  }
  await flush();
  expect(unhandled).toEqual([]);
}

describe('bulkhead against its model', () => {
  it('no slot leaked, no call run while rejected, every call settles once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.array(commandArb, { maxLength: 40 }), async (maxConcurrent, maxQueue, commands) => {
        vi.setSystemTime(0);
        await playBulkhead(maxConcurrent, maxQueue, commands);
      }),
      parameters(300),
    );
  });
});

describe('retry against its model', () => {
  it('each try is a call through the breaker; a rejection ends the retries; the budget holds', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom(0, 0.2, 0.5, Infinity),
        fc.array(fc.boolean(), { maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 12 }),
        async (threshold, ratio, script, attemptsPerCall) => {
          vi.setSystemTime(0);
          const reg = createRegistry({ defaults: { failureThreshold: threshold, cacheFallback: false, retryBudget: ratio, resetTimeout: 3_600_000 } });
          const model = new RetryModel(threshold, ratio, script);
          const answers = [...script];
          let invoked = 0;
          const fn = (): Promise<string> => {
            invoked++;
            // A try while the circuit is OPEN would be a call run while rejected.
            expect(reg.getState('svc')).not.toBe('OPEN');
            return (answers.shift() ?? true) ? Promise.resolve('ok') : Promise.reject(new Error('fail'));
          };
          try {
            for (const attempts of attemptsPerCall) {
              const before = invoked;
              let settled = 0;
              let result: ExecutionResult<unknown> | null = null;
              void reg.execute('svc', fn, { retry: { attempts, minDelay: 0, jitter: false } }).then((r) => {
                settled++;
                result = r;
              });
              for (let i = 0; i < 20 && settled === 0; i++) await vi.advanceTimersByTimeAsync(1);
              const expected = model.call(attempts);
              expect(settled).toBe(1);
              const r = result as unknown as ExecutionResult<unknown>;
              expect({ invoked: invoked - before, attempts: r.attempts, outcome: r.success ? 'success' : r.rejected ? 'rejected' : 'failure' }).toEqual(expected);
              if (r.rejected) expect(r.error).toBeInstanceOf(CircuitOpenError);
            }
            expect(reg.getStats('svc')!.retries).toBe(model.retries);
          } finally {
            reg.destroy();
          }
        },
      ),
      parameters(300),
    );
  });
});
