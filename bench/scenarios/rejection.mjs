// Scenario 3: the rejection path on a circuit held open.
import { cockatielBreaker, opossumBreaker, shutdownAll } from './peers.mjs';

export const title = '3. rejection path, open circuit';
export const note =
  'ours: openCircuit(name), cacheFallback off, and on with a cached value; opossum: breaker.open(), ' +
  'without and with a fallback function; cockatiel: breaker.isolate(). fn is never called; the ' +
  'baseline is the bare await of the same async () => 1.';

export async function setup({ ours, CircuitBreaker, cockatiel, before }) {
  const fn = async () => 1;
  const noCache = 'bench-reject-nocache';
  const withCache = 'bench-reject-cache';
  ours.configure(noCache, { cacheFallback: false });
  await ours.execute(withCache, fn); // the value the cache answers with
  ours.openCircuit(noCache);
  ours.openCircuit(withCache);
  if (before) {
    before.configure(noCache, { cacheFallback: false });
    await before.execute(withCache, fn);
    before.openCircuit(noCache);
    before.openCircuit(withCache);
  }

  const opo = opossumBreaker(CircuitBreaker, fn);
  opo.open();
  const opoFallback = opossumBreaker(CircuitBreaker, fn);
  opoFallback.fallback(() => 1);
  opoFallback.open();
  const cki = cockatielBreaker(cockatiel);
  const isolation = cki.isolate();

  const contenders = [
    { id: 'bare', label: 'bare await fn()', kind: 'baseline', op: fn },
    { id: 'ours', label: 'ours, open, cache off', kind: 'ours', op: () => ours.execute(noCache, fn) },
    { id: 'ours-cache', label: 'ours, open, cache on (answers)', kind: 'ours', op: () => ours.execute(withCache, fn) },
    ...(before
      ? [
          { id: 'before-ours', label: 'before, open, cache off', kind: 'ours', op: () => before.execute(noCache, fn) },
          { id: 'before-ours-cache', label: 'before, open, cache on (answers)', kind: 'ours', op: () => before.execute(withCache, fn) },
        ]
      : []),
    { id: 'opossum', label: 'opossum, open, no fallback', kind: 'peer', short: 'opossum', op: () => opo.fire() },
    {
      id: 'opossum-fb',
      label: 'opossum, open, fallback',
      kind: 'peer',
      short: 'opossum(fallback)',
      op: () => opoFallback.fire(),
    },
    { id: 'cockatiel', label: 'cockatiel, isolated', kind: 'peer', short: 'cockatiel', op: () => cki.execute(fn) },
  ];
  return {
    contenders,
    check() {
      const probes = [ours.getState(noCache), ours.getState(withCache)];
      if (probes.some((s) => s !== 'OPEN')) return `our circuits were not open: ${probes.join(', ')}`;
      if (!opo.opened || !opoFallback.opened) return 'opossum was not open';
      return null;
    },
    teardown() {
      isolation.dispose();
      shutdownAll([opo, opoFallback]);
      ours.reset(noCache);
      ours.reset(withCache);
      before?.reset(noCache);
      before?.reset(withCache);
    },
  };
}
