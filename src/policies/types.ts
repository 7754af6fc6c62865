/**
 * Public types of the policies that compose around one breaker. They import nothing, so the
 * core's types can name them without an import circle.
 */

/**
 * How a call is retried (the `retry` execute option and configuration key). Every try is a
 * full call through the circuit breaker. Delays grow from `minDelay` by `factor` per retry,
 * up to `maxDelay`; with `jitter` each delay is drawn uniformly between 0 and that value
 * ("full jitter"), so that callers who failed together do not retry together.
 */
export interface RetryOptions {
  /** Tries in all, the first one included: 3 means up to 2 retries. A positive integer. */
  attempts: number;
  /** The delay before the first retry, in ms (before jitter). Default 100. */
  minDelay?: number;
  /** The longest delay, in ms (before jitter). Default 10000. */
  maxDelay?: number;
  /** How much each delay grows over the one before. At least 1; default 2. */
  factor?: number;
  /** Full jitter: each delay is drawn uniformly from [0, delay). Default true. */
  jitter?: boolean;
  /**
   * Whether a failed try is worth another (default: every failure and timeout). Never asked
   * for rejections or the caller's abort, which are never retried. One that throws means no.
   */
  retryIf?: (error: unknown) => boolean;
}

/**
 * What answers a call that would end with `success: false` (the `fallback` execute option
 * and configuration key): its value becomes the result's `data`, with `fromFallback: true`.
 * It may return a promise; if it throws or rejects, the original failure stays the result.
 */
export type Fallback = (error: Error, executorName: string) => unknown;
