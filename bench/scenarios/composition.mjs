// Scenario 1b: the success path with the composition keys (bulkhead, retry, fallback) and
// through wrap, beside the same call with none of them set. (Scenario 1 compares the plain
// call with a build from before these keys, BENCH_BEFORE, where nothing else runs.)

export const title = '1b. success path with the bulkhead, retry, fallback and wrap';
export const note =
  'fn = async () => 1, default configuration (10 s timeout, cache on) plus the key named; ' +
  'maxConcurrent 100 is never reached (calls run one after the other)';

export function setup({ ours }) {
  const fn = async () => 1;
  const names = { plain: 'bench-c-plain', bulkhead: 'bench-c-bulkhead', retry: 'bench-c-retry', fallback: 'bench-c-fallback', wrap: 'bench-c-wrap' };
  ours.configure(names.bulkhead, { maxConcurrent: 100, maxQueue: 100 });
  ours.configure(names.retry, { retry: 3 });
  ours.configure(names.fallback, { fallback: () => 0 });
  const wrapped = ours.wrap(names.wrap, fn);
  const contenders = [
    { id: 'bare', label: 'bare await fn()', kind: 'baseline', op: fn },
    { id: 'ours', label: 'ours, none of the keys set', kind: 'ours', op: () => ours.execute(names.plain, fn) },
    { id: 'bulkhead', label: 'ours, maxConcurrent: 100', kind: 'ours', op: () => ours.execute(names.bulkhead, fn) },
    { id: 'wrap', label: 'ours, through wrap(name, fn)', kind: 'ours', op: () => wrapped() },
    { id: 'retry', label: 'ours, retry: 3 (first try succeeds)', kind: 'ours', op: () => ours.execute(names.retry, fn) },
    { id: 'fallback', label: 'ours, fallback set (not used)', kind: 'ours', op: () => ours.execute(names.fallback, fn) },
  ];
  return {
    contenders,
    teardown() {
      for (const name of Object.values(names)) ours.reset(name);
    },
  };
}
