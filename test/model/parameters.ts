import type fc from 'fast-check';

const SCALE = Number(process.env.PROPERTY_SCALE ?? '1');

/**
 * fast-check parameters for a property of `numRuns` sequences, scaled by PROPERTY_SCALE.
 * With FC_SEED (and FC_PATH) set, it replays that seed and stops at the first
 * counterexample instead of shrinking it.
 */
export function parameters(numRuns: number): fc.Parameters<unknown> {
  const params: fc.Parameters<unknown> = { numRuns: Math.max(1, Math.round(numRuns * SCALE)) };
  if (process.env.FC_SEED !== undefined) {
    params.seed = Number(process.env.FC_SEED);
    if (process.env.FC_PATH !== undefined) params.path = process.env.FC_PATH;
    params.endOnFailure = true;
  }
  return params;
}
