/**
 * A repository's complete tag list as fetched upstream, sorted when first needed.
 *
 * The cold first page (`tags/_list?n=100` with no `last`, the list just fetched)
 * needs only the `n` smallest tags, not the whole list in order: a bounded heap
 * picks them in one pass, cheaper than the full sort, and the handler sorts the
 * whole list after the answer is written, for the cache and the pages that
 * follow. Every other page sorts (once) and slices.
 * The answers are the same as `paginate(sortTags(raw), query)` in every case.
 *
 * Pure apart from the memoised sort.
 */
import { isSortedUnique, type Page, type PageQuery, paginate, sortTags } from "../oci/pagination.js";
import { listBytes } from "./list-cache.js";

export class TagList {
  #raw: readonly string[];
  #sorted: readonly string[] | null;
  /** Estimated heap bytes (list-cache.ts listBytes), measured once: the cache's size of this list. */
  readonly bytes: number;

  constructor(raw: readonly string[]) {
    this.#sorted = isSortedUnique(raw) ? raw : null;
    this.#raw = this.#sorted === null ? raw : [];
    this.bytes = listBytes(raw);
  }

  /** Tags held (before removing duplicates while unsorted); the cache's size measure. */
  get length(): number {
    return (this.#sorted ?? this.#raw).length;
  }

  /** Whether the sorted list is ready (no sort left to do). */
  get isSorted(): boolean {
    return this.#sorted !== null;
  }

  /** The list in compareTags order without duplicates (sorted on the first call). */
  sorted(): readonly string[] {
    if (this.#sorted === null) {
      this.#sorted = sortTags(this.#raw);
      this.#raw = [];
    }
    return this.#sorted;
  }

  #whole: { name: string; body: Buffer } | null = null;

  /**
   * The answer body for the whole list (`{"name","tags"}` and a newline), made once:
   * the legacy `tags/list` asks for it on every read, and rendering 20,000 tags per
   * request is work and garbage the cached list spares.
   */
  wholeBody(name: string): Buffer {
    if (this.#whole?.name !== name) {
      this.#whole = { name, body: Buffer.from(`${JSON.stringify({ name, tags: this.sorted() })}\n`) };
    }
    return this.#whole.body;
  }

  /** One page, exactly as `paginate(this.sorted(), query)`. */
  page(query: PageQuery): Page {
    if (this.#sorted === null && query.last === null && query.n !== null && query.n > 0) {
      const first = firstPage(this.#raw, query.n);
      if (first !== null) return first;
    }
    return paginate(this.sorted(), query);
  }
}

/**
 * The first page of `n` tags (`n` ≥ 1) of an unsorted list, as
 * `paginate(sortTags(raw), { n, last: null })` gives it, or null when selecting
 * does not pay or cannot decide: the page is the whole list, or the `n` smallest
 * hold a duplicate (the page would need more than `n` candidates).
 */
export function firstPage(raw: readonly string[], n: number): Page | null {
  if (n >= raw.length) return null;
  const tags = smallest(raw, n).sort();
  for (let i = 1; i < n; i++) if (tags[i - 1] === tags[i]) return null;
  const kth = tags[n - 1]!;
  // Every tag left out is ≥ kth; a next page exists when one is greater.
  for (const t of raw) if (t > kth) return { tags, next: kth };
  return { tags, next: null };
}

/** The `k` smallest strings of `items` (duplicates kept, in heap order), for 1 ≤ k < items.length. */
export function smallest(items: readonly string[], k: number): string[] {
  // A max-heap of the k smallest seen so far: its root is the one to beat.
  const heap: string[] = items.slice(0, k);
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(heap, i, heap[i]!);
  for (let j = k; j < items.length; j++) {
    const t = items[j]!;
    if (t < heap[0]!) siftDown(heap, 0, t);
  }
  return heap;
}

/** Puts `value` at `i` and moves it down until the max-heap holds again. */
function siftDown(heap: string[], i: number, value: string): void {
  const size = heap.length;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= size) break;
    const right = left + 1;
    const child = right < size && heap[right]! > heap[left]! ? right : left;
    if (heap[child]! <= value) break;
    heap[i] = heap[child]!;
    i = child;
  }
  heap[i] = value;
}
