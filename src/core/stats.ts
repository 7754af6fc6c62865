import type { CircuitBreakerStats, CircuitState } from './types.js';

/**
 * One executor's request counters, and the statistics snapshot made from them. The state
 * machine decides what happened; this only counts it. Times are on the registry's clock,
 * NaN for never.
 */
export class Counters {
  successful = 0;
  failed = 0;
  rejected = 0;
  retries = 0;
  ignored = 0;
  consecutiveFailures = 0;
  consecutiveSuccesses = 0;
  timesOpened = 0;
  timesClosed = 0;
  lastStateChange = NaN;
  lastFailure = NaN;
  lastSuccess = NaN;
  /** Calls that ran (for the mean response time) and their total time in ms. */
  ran = 0;
  totalTime = 0;

  /**
   * A call that ran for `time` ms and produced a value. `current`: it started in the
   * period it settles in; only such a call moves the consecutive counters.
   */
  succeeded(now: number, time: number, current: boolean): void {
    this.ran++;
    this.totalTime += time;
    this.successful++;
    this.lastSuccess = now;
    if (current) {
      this.consecutiveSuccesses++;
      this.consecutiveFailures = 0;
    }
  }

  /** A call that ran for `time` ms and failed (a timeout included); see {@link succeeded}. */
  failedAfter(now: number, time: number, current: boolean): void {
    this.ran++;
    this.totalTime += time;
    this.failed++;
    this.lastFailure = now;
    if (current) {
      this.consecutiveFailures++;
      this.consecutiveSuccesses = 0;
    }
  }

  /**
   * A call the caller gave up on: a failed request, but not the service's failure, so no
   * failure time and no streak. `ran`: `fn` had been called, for `time` ms.
   */
  abandoned(time: number, ran: boolean): void {
    if (ran) {
      this.ran++;
      this.totalTime += time;
    }
    this.failed++;
  }

  /**
   * A call that ran for `time` ms and failed in a way `isFailure` said not to count: a
   * failed request, but a healthy answer for the circuit, so no failure time and no streak.
   */
  ignoredFailure(time: number): void {
    this.ran++;
    this.totalTime += time;
    this.failed++;
    this.ignored++;
  }

  /** A fresh snapshot: new `Date`s every time, so changing one changes nothing here. */
  snapshot(executorName: string, state: CircuitState, nextAttempt: number | null): CircuitBreakerStats {
    return {
      executorName,
      state,
      totalRequests: this.successful + this.failed + this.rejected,
      successfulRequests: this.successful,
      failedRequests: this.failed,
      rejectedRequests: this.rejected,
      ignoredFailures: this.ignored,
      consecutiveFailures: this.consecutiveFailures,
      consecutiveSuccesses: this.consecutiveSuccesses,
      timesOpened: this.timesOpened,
      timesClosed: this.timesClosed,
      lastStateChange: toDate(this.lastStateChange),
      lastFailureTime: toDate(this.lastFailure),
      lastSuccessTime: toDate(this.lastSuccess),
      nextAttemptTime: nextAttempt === null ? null : new Date(nextAttempt),
      avgResponseTime: this.ran === 0 ? 0 : this.totalTime / this.ran,
      retries: this.retries,
    };
  }
}

function toDate(time: number): Date | null {
  return Number.isNaN(time) ? null : new Date(time);
}
