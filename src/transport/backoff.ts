/**
 * Reconnection delays: exponential backoff with "equal jitter" (half fixed, half random), so
 * that peers that lost a member at the same moment do not all knock again at the same time.
 */

/**
 * backoffDelay returns the delay in milliseconds before attempt number `attempt` (0 is the
 * first retry): min(maxMs, initialMs * 2^attempt), of which the upper half is scaled by
 * `random()` (a number in [0, 1)). The result lies in [base / 2, base).
 */
export function backoffDelay(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number,
): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 52));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(base / 2 + (r * base) / 2);
}
