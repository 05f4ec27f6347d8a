/**
 * The saved version's result cache (`metadata.restified.cache`), in words.
 */

/**
 * A duration in seconds as a person reads it: `45 s`, `5 min`, `1 h 30 min`.
 */
export function formatTtl(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) {
    return '0 s';
  }
  if (seconds < 60) {
    return `${Number(seconds.toFixed(1))} s`;
  }
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) {
    return `${minutes} min`;
  }
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest ? `${hours} h ${rest} min` : `${hours} h`;
}

/**
 * One line on what the saved version keeps, from the spec route's `cache`
 * (null: nothing is kept, every call runs).
 */
export function describeCache(
  cache: { ttl: number } | null | undefined
): string {
  if (!cache) {
    return 'Saved version: every call runs; no answer is kept.';
  }
  return (
    `Saved version: an answer is kept ${formatTtl(cache.ttl)} and given ` +
    'again to the same call (same values, same Accept) without running; ' +
    'saving the notebook drops it.'
  );
}
