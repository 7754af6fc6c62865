/**
 * The fallback function: what answers a call that would end with `success: false`.
 */
import type { ExecutionFailure, ExecutionResult } from '../core/types.js';
import type { Fallback } from './types.js';

/**
 * `result` answered by `fallback` when it failed: `success: true`, `fromFallback: true`, and
 * the rest of the result (rejected, circuitState, executionTime, attempts) kept. A fallback
 * that throws or rejects leaves `result` as it was.
 */
export async function withFallback(
  result: ExecutionFailure,
  fallback: Fallback,
  executorName: string,
): Promise<ExecutionResult<unknown>> {
  let data: unknown;
  try {
    data = await fallback(result.error, executorName);
  } catch {
    return result;
  }
  return {
    success: true,
    data,
    error: undefined,
    fromCache: false,
    fromFallback: true,
    rejected: result.rejected,
    circuitState: result.circuitState,
    executionTime: result.executionTime,
    attempts: result.attempts,
  };
}
