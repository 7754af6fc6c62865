// Scenario 4: a fn that takes the AbortSignal against one that cannot.
import { cockatielBreaker, cockatielWithTimeout, opossumBreaker, shutdownAll } from './peers.mjs';

export const title = '4. fn that takes the AbortSignal vs one that ignores it';
export const note =
  'ours creates an AbortController only for a fn that declares a parameter (fn.length > 0): not for ' +
  '() => ..., but for (signal) => ... and for a fresh (signal) => ... closure per call. Peers: opossum never ' +
  'hands fn a signal; cockatiel+timeout makes an AbortController for every call whatever fn is.';

export function setup({ ours, CircuitBreaker, cockatiel }) {
  const noParam = () => Promise.resolve(1);
  const withSignal = async (signal) => 1;
  const opo = opossumBreaker(CircuitBreaker, withSignal);
  const ckiTimeout = cockatielWithTimeout(cockatiel, cockatielBreaker(cockatiel));
  const contenders = [
    { id: 'bare', label: 'bare await (() => Promise.resolve(1))()', kind: 'baseline', op: noParam },
    { id: 'bare-s', label: 'bare await (async (signal) => 1)()', kind: 'baseline', op: () => withSignal(undefined) },
    {
      id: 'ours',
      label: 'ours, () => Promise.resolve(1)',
      kind: 'ours',
      op: () => ours.execute('bench-nosignal', noParam),
    },
    {
      id: 'ours-s',
      label: 'ours, async (signal) => 1',
      kind: 'ours',
      baseline: 'bare-s',
      op: () => ours.execute('bench-signal', withSignal),
    },
    {
      id: 'ours-s-fresh',
      label: 'ours, a new async (signal) => 1 per call',
      kind: 'ours',
      baseline: 'bare-s',
      op: () => ours.execute('bench-signal', async (signal) => 1),
    },
    {
      id: 'opossum',
      label: 'opossum, default, async (signal) => 1',
      kind: 'peer',
      short: 'opossum',
      baseline: 'bare-s',
      op: () => opo.fire(),
    },
    {
      id: 'cockatiel-t',
      label: 'cockatiel + timeout, async (signal) => 1',
      kind: 'peer',
      short: 'cockatiel+timeout',
      baseline: 'bare-s',
      op: () => ckiTimeout.execute(withSignal),
    },
  ];
  return {
    contenders,
    teardown() {
      shutdownAll([opo]);
      for (const name of ['bench-nosignal', 'bench-signal']) ours.reset(name);
    },
  };
}
