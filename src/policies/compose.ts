/**
 * Retry and fallback around one breaker's call: the registry's one call site for them.
 */
import type { ExecutionResult } from '../core/types.js';
import { withFallback } from './fallback.js';
import { retrying, type Tries } from './retry.js';
import type { RetryPlan } from './retry-options.js';
import type { Fallback } from './types.js';

/** The retry and fallback an executor's configuration sets (null: neither). */
export interface Policies {
  readonly retry: RetryPlan | null;
  readonly fallback: Fallback | undefined;
}

/** A call's own retry and fallback, from its options, which override the executor's. */
export interface CallPolicies {
  /** null: retry turned off for this call; undefined: the executor's. */
  readonly retry?: RetryPlan | null;
  readonly fallback?: Fallback;
}

/** Runs one call with the retry and fallback in force for it. */
export function runComposed(
  breaker: Tries,
  own: Policies | null,
  fn: (signal?: AbortSignal) => unknown,
  cacheKey: string | null | undefined,
  signal: AbortSignal | undefined,
  call: CallPolicies | undefined,
  timeout?: number,
): Promise<ExecutionResult<unknown>> {
  const plan = call?.retry !== undefined ? call.retry : (own?.retry ?? null);
  const fallback = call?.fallback ?? own?.fallback;
  const tries =
    plan === null ? breaker.execute(fn, cacheKey, signal, timeout) : retrying(breaker, fn, cacheKey, signal, plan, timeout);
  if (fallback === undefined) return tries;
  // A caller who gave up waits for nothing more.
  return tries.then((result) =>
    result.success || signal?.aborted === true ? result : withFallback(result, fallback, breaker.name),
  );
}
