/**
 * Retry that respects the circuit. Each try is a full call through the breaker; a rejection
 * (open circuit, probe slots full, bulkhead full) ends the retries at once, and so does the
 * caller's abort. A per-executor budget keeps retries to a share of first tries, so a dead
 * service does not get several requests for every call made to it.
 */
import { failure } from '../core/call.js';
import { toError } from '../core/errors.js';
import type { ExecutionResult } from '../core/types.js';
import type { RetryPlan } from './retry-options.js';

/** The wait before try `attempt + 1`, after try `attempt` failed. */
export function retryDelay(plan: RetryPlan, attempt: number): number {
  const ceiling = Math.min(plan.maxDelay, plan.minDelay * plan.factor ** (attempt - 1));
  return plan.jitter ? Math.floor(Math.random() * ceiling) : ceiling;
}

const BUCKETS = 10;

/**
 * First tries and retries of one executor over the last `failureWindow`, in ten buckets
 * (memory is fixed whatever the traffic). A retry is allowed while the retries in the
 * window stay below `ratio` of the first tries, and at least 3 are always allowed.
 */
export class RetryBudget {
  readonly #stamps: number[] = new Array<number>(BUCKETS).fill(-1);
  readonly #firsts: number[] = new Array<number>(BUCKETS).fill(0);
  readonly #retries: number[] = new Array<number>(BUCKETS).fill(0);
  #width = 0;

  /** Counts a call's first try at `now`. */
  first(now: number, window: number): void {
    this.#firsts[this.#bucket(now, window)]!++;
  }

  /** Whether one more retry fits at `now`; if it does, it is counted. */
  tryRetry(now: number, window: number, ratio: number): boolean {
    const current = this.#bucket(now, window);
    if (ratio !== Infinity) {
      const oldest = Math.floor(now / this.#width) - BUCKETS;
      let firsts = 0;
      let retries = 0;
      for (let i = 0; i < BUCKETS; i++) {
        if (this.#stamps[i]! > oldest) {
          firsts += this.#firsts[i]!;
          retries += this.#retries[i]!;
        }
      }
      if (retries >= Math.max(3, ratio * firsts)) return false;
    }
    this.#retries[current]!++;
    return true;
  }

  /** The bucket for `now`, emptied if it last held an older span. */
  #bucket(now: number, window: number): number {
    const width = window / BUCKETS;
    if (width !== this.#width) {
      // A new window: what was counted under the old one is forgotten.
      this.#width = width;
      this.#stamps.fill(-1);
      // The counts too: tryRetry reads a bucket stamped -1 while the clock is under nine
      // spans (a fake clock started at 0, say).
      this.#firsts.fill(0);
      this.#retries.fill(0);
    }
    const stamp = Math.floor(now / width);
    const i = stamp % BUCKETS;
    if (this.#stamps[i] !== stamp) {
      this.#stamps[i] = stamp;
      this.#firsts[i] = 0;
      this.#retries[i] = 0;
    }
    return i;
  }
}

/** What the retry loop needs of a breaker (src/core/breaker.ts provides it). */
export interface Tries {
  readonly name: string;
  execute(
    fn: (signal?: AbortSignal) => unknown,
    cacheKey: string | null | undefined,
    signal: AbortSignal | undefined,
    timeout?: number,
  ): Promise<ExecutionResult<unknown>>;
  /** Whether a failed result counted against the circuit (false for one `isFailure` ignored). */
  counted(result: ExecutionResult<unknown>): boolean;
  /** Counts the first try of a call that may be retried. */
  firstTry(): void;
  /** Whether the retry budget allows one more retry (counting it if so). */
  mayRetry(): boolean;
  /** Counts a retry and emits `request:retry`. */
  retried(attempt: number, error: Error, delayMs: number): void;
}

/**
 * Whether a failed try is worth another: by default, a failure the circuit counted (a
 * timeout, or an error `isFailure` did not wave through); else what `retryIf` says, and a
 * `retryIf` that throws says no.
 */
function worthRetrying(breaker: Tries, plan: RetryPlan, result: ExecutionResult<unknown>): boolean {
  if (plan.retryIf === undefined) return breaker.counted(result);
  try {
    return plan.retryIf(result.error) === true;
  } catch {
    return false;
  }
}

/** Waits `ms`, or less if `signal` aborts; resolves to whether it aborted. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(true);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(false);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs `fn` through `breaker` up to `plan.attempts` times; the result carries `attempts`. */
export function retrying(
  breaker: Tries,
  fn: (signal?: AbortSignal) => unknown,
  cacheKey: string | null | undefined,
  signal: AbortSignal | undefined,
  plan: RetryPlan,
  timeout?: number,
): Promise<ExecutionResult<unknown>> {
  breaker.firstTry();
  // Most first tries succeed: they cost one `then`, not an async loop.
  return breaker.execute(fn, cacheKey, signal, timeout).then((first) =>
    first.success || first.rejected ? first : retryAfter(breaker, fn, cacheKey, signal, plan, first, timeout),
  );
}

/** The retries after a first try that failed. */
async function retryAfter(
  breaker: Tries,
  fn: (signal?: AbortSignal) => unknown,
  cacheKey: string | null | undefined,
  signal: AbortSignal | undefined,
  plan: RetryPlan,
  first: ExecutionResult<unknown>,
  timeout: number | undefined,
): Promise<ExecutionResult<unknown>> {
  for (let attempt = 1; ; attempt++) {
    const result = attempt === 1 ? first : await breaker.execute(fn, cacheKey, signal, timeout);
    result.attempts = attempt;
    if (
      result.success ||
      result.rejected ||
      attempt >= plan.attempts ||
      signal?.aborted === true ||
      !worthRetrying(breaker, plan, result) ||
      !breaker.mayRetry()
    ) {
      return result;
    }
    const delay = retryDelay(plan, attempt);
    breaker.retried(attempt + 1, result.error, delay);
    if (await pause(delay, signal)) {
      const aborted = failure(toError(signal!.reason), false, result.circuitState, 0);
      aborted.attempts = attempt;
      return aborted;
    }
  }
}
