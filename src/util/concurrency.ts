/** Bounded parallelism over a list: every item (`mapLimit`), or until one is found (`findLimit`). */

/**
 * Bounded parallelism: runs `work` over `items` with at most `limit` at a time,
 * results in input order. `work` should not throw (return failures as values);
 * if it does, the first error is rethrown after the running ones settle.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { err: unknown } | undefined;
  async function worker(): Promise<void> {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        results[i] = await work(items[i]!, i);
      } catch (err) {
        failure ??= { err };
      }
    }
  }
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker);
  await Promise.all(workers);
  if (failure) throw failure.err;
  return results;
}

/**
 * The first of `items` (in no particular order) for which `test` resolves true,
 * testing at most `limit` at a time and starting no more once one did; null when
 * none does. A rejection of `test` rejects, after the running ones settle.
 */
export async function findLimit<T>(
  items: readonly T[],
  limit: number,
  test: (item: T) => Promise<boolean>,
): Promise<T | null> {
  let found: { item: T } | null = null;
  await mapLimit(items, limit, async (item) => {
    if (found === null && (await test(item))) found ??= { item };
  });
  return (found as { item: T } | null)?.item ?? null;
}
