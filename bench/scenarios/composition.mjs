// Scenario 1b: the success path with the composition keys, and with none of them set.
//
// "before" is the same success path in another build of this library (BENCH_BEFORE: the
// path of its dist/index.js, e.g. a build of the commit before the composition keys), in
// the same run, so that "none of these set costs the same as before" is a ratio measured
// side by side. Without BENCH_BEFORE that row is left out.

export const title = '1b. success path with the bulkhead, retry, fallback and wrap';
export const note =
  'fn = async () => 1, default configuration (10 s timeout, cache on) plus the key named; ' +
  'maxConcurrent 100 is never reached (calls run one after the other)';

export function setup({ ours, before }) {
  const fn = async () => 1;
  const names = { plain: 'bench-c-plain', bulkhead: 'bench-c-bulkhead', retry: 'bench-c-retry', fallback: 'bench-c-fallback', wrap: 'bench-c-wrap' };
  ours.configure(names.bulkhead, { maxConcurrent: 100, maxQueue: 100 });
  ours.configure(names.retry, { retry: 3 });
  ours.configure(names.fallback, { fallback: () => 0 });
  const wrapped = ours.wrap(names.wrap, fn);
  const contenders = [
    { id: 'bare', label: 'bare await fn()', kind: 'baseline', op: fn },
    { id: 'ours', label: 'ours, none of the keys set', kind: 'ours', op: () => ours.execute(names.plain, fn) },
    ...(before
      ? [{ id: 'before', label: `ours before (${before.label})`, kind: 'ours', op: () => before.lib.execute(names.plain, fn) }]
      : []),
    { id: 'bulkhead', label: 'ours, maxConcurrent: 100', kind: 'ours', op: () => ours.execute(names.bulkhead, fn) },
    { id: 'wrap', label: 'ours, through wrap(name, fn)', kind: 'ours', op: () => wrapped() },
    { id: 'retry', label: 'ours, retry: 3 (first try succeeds)', kind: 'ours', op: () => ours.execute(names.retry, fn) },
    { id: 'fallback', label: 'ours, fallback set (not used)', kind: 'ours', op: () => ours.execute(names.fallback, fn) },
  ];
  return {
    contenders,
    teardown() {
      for (const name of Object.values(names)) ours.reset(name);
      before?.lib.reset(names.plain);
    },
  };
}
