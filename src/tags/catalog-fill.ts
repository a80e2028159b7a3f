/**
 * Which repositories make a page of the proxy's `/v2/_catalog` (only those with
 * at least one tag), decided from what is known so far: the registry's names in
 * its order (one or more upstream pages, concatenated), what each one's tags
 * check found, and whether the registry has more. The answer is the next thing
 * to do: check some names, fetch the next upstream page, or the page itself.
 *
 * A page is full (`n` names) whenever more listed repositories follow, and has a
 * next-page Link exactly then: after `n` names are kept, the names after them are
 * checked until a listed one is found (Link) or the catalog ends (no Link).
 * With `n` null (the registry's first page had no Link: the catalog ends there)
 * every listed name is kept.
 *
 * Pure: no I/O.
 */

/** What a repository's tags check found: "listed" (tags, or nothing known: listed as the registry lists it) or "empty". */
export type CatalogVerdict = "listed" | "empty";

export type FillStep =
  /** These names need their check (in catalog order); then decide again. */
  | { kind: "check"; names: string[] }
  /** Every name known is decided and more are needed: fetch the registry's page after the last one. */
  | { kind: "fetch"; after: string }
  /** The page; `next` is the `last` of the next page's Link, null when nothing listed follows. */
  | { kind: "page"; repositories: string[]; next: string | null };

export interface FillState {
  /** Page size; null: no limit (the registry's catalog ended on its first page). */
  n: number | null;
  /** The registry's names after the client's `last`, in the registry's order. */
  candidates: readonly string[];
  verdicts: ReadonlyMap<string, CatalogVerdict>;
  /** The registry's last page had a next-page Link. */
  upstreamMore: boolean;
}

export function nextFillStep(s: FillState): FillStep {
  const kept: string[] = [];
  for (let i = 0; i < s.candidates.length; i++) {
    const name = s.candidates[i]!;
    const verdict = s.verdicts.get(name);
    if (verdict === undefined) {
      // Enough names for the rest of the page and the one after it, if all are listed.
      const want = s.n === null ? s.candidates.length : s.n - kept.length + 1;
      return { kind: "check", names: undecided(s, i, want) };
    }
    if (verdict === "empty") continue;
    if (s.n !== null && kept.length >= s.n) return { kind: "page", repositories: kept, next: kept.at(-1)! };
    kept.push(name);
  }
  const last = s.candidates.at(-1);
  if (s.upstreamMore && last !== undefined) return { kind: "fetch", after: last };
  return { kind: "page", repositories: kept, next: null };
}

/** Up to `want` names without a verdict, from index `from` on. */
function undecided(s: FillState, from: number, want: number): string[] {
  const names: string[] = [];
  for (let i = from; i < s.candidates.length && names.length < want; i++) {
    const name = s.candidates[i]!;
    if (!s.verdicts.has(name)) names.push(name);
  }
  return names;
}
