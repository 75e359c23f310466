/**
 * Retry back-off: exponential with "equal jitter" — half of the capped delay is fixed, half is
 * random — so retries of a failing dependency spread out instead of arriving together.
 * delay(n) ∈ [cap/2, cap], cap = min(maxMs, baseMs · 2^(n−1)), n = the attempt that failed (1-based).
 */
export function retryDelay(failedAttempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.max(0, failedAttempt - 1))
  return Math.round(cap / 2 + random() * (cap / 2))
}

/** Every attempt counts: a job gets at most maxRetries + 1 attempts. */
export function hasRetriesLeft(failedAttempt: number, maxRetries: number): boolean {
  return failedAttempt <= maxRetries
}
