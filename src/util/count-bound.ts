/**
 * lru-cache options that bound a cache to `entries` entries without allocating
 * room for all of them up front. lru-cache's own `max` allocates its key, value,
 * link and (with a ttl) time arrays for `max` entries when the cache is made: a
 * 100,000-entry bound is 1.6-3.2 MiB of live heap from start-up on, most of it
 * never used, and the proxy's old generation grows in proportion to its live heap
 * (src/ops/heap-tuning.ts). Counting each entry as size 1 against `maxSize` evicts
 * the least recently used entry at the same count; the arrays grow with the entries.
 */
export function countBound(entries: number): { maxSize: number; sizeCalculation: () => number } {
  return { maxSize: Math.max(1, entries), sizeCalculation: () => 1 };
}
