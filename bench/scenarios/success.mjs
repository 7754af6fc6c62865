// Scenario 1: the success path on a closed circuit.
import { cockatielBreaker, cockatielWithTimeout, opossumBreaker, peerContenders, shutdownAll } from './peers.mjs';

export const title = '1. success path, closed circuit';
export const note = 'fn = async () => 1; every contender with its default configuration unless named';

export function setup({ ours, CircuitBreaker, cockatiel, before }) {
  const fn = async () => 1;
  const name = 'bench-success';
  const noTimeout = 'bench-success-no-timeout';
  const policies = 'bench-success-policies';
  ours.configure(noTimeout, { requestTimeout: Infinity });
  before?.configure(noTimeout, { requestTimeout: Infinity });
  const beforeLabel = process.env.BENCH_BEFORE_LABEL ?? process.env.BENCH_BEFORE;
  ours.configure(policies, {
    isFailure: (error) => error?.status !== 404,
    failureRateThreshold: 0.5,
    slowCallDuration: 1_000,
    slowCallRateThreshold: 0.5,
  });
  const opo = opossumBreaker(CircuitBreaker, fn);
  const opoNoTimeout = opossumBreaker(CircuitBreaker, fn, { timeout: false });
  const cki = cockatielBreaker(cockatiel);
  const ckiTimeout = cockatielWithTimeout(cockatiel, cockatielBreaker(cockatiel));
  const contenders = [
    { id: 'bare', label: 'bare await fn()', kind: 'baseline', op: fn },
    { id: 'ours', label: 'ours, default (10 s timeout, cache on)', kind: 'ours', op: () => ours.execute(name, fn) },
    {
      id: 'ours-fresh',
      label: 'ours, default, closure per call (a new async () => 1 each call)',
      kind: 'ours',
      op: () => ours.execute(name, async () => 1),
    },
    { id: 'ours-no-timeout', label: 'ours, requestTimeout: Infinity', kind: 'ours', op: () => ours.execute(noTimeout, fn) },
    {
      id: 'ours-policies',
      label: 'ours, isFailure + failureRateThreshold + slowCallDuration',
      kind: 'ours',
      op: () => ours.execute(policies, fn),
    },
    // The build before, given the same variety of calls as ours (all it supports), so that
    // neither build's code is specialised for one kind of call where the other's is not.
    ...(before
      ? [
          { id: 'before-ours', label: `before (${beforeLabel}), default`, kind: 'ours', op: () => before.execute(name, fn) },
          {
            id: 'before-ours-fresh',
            label: `before (${beforeLabel}), closure per call`,
            kind: 'ours',
            op: () => before.execute(name, async () => 1),
          },
          {
            id: 'before-ours-no-timeout',
            label: `before (${beforeLabel}), requestTimeout: Infinity`,
            kind: 'ours',
            op: () => before.execute(noTimeout, fn),
          },
        ]
      : []),
    ...peerContenders({ opo, opoNoTimeout, cki, ckiTimeout }, fn, 'default'),
  ];
  return {
    contenders,
    teardown() {
      shutdownAll([opo, opoNoTimeout]);
      ours.reset(name);
      ours.reset(noTimeout);
      ours.reset(policies);
      before?.reset(name);
      before?.reset(noTimeout);
    },
  };
}
