/**
 * The repositories page's catalog as `/v2/_catalog` through the proxy gives it
 * (catalog.listEmpty false): repositories without tags left out, by the same
 * answer (tags/catalog-answer.ts) and the same per-visitor checks
 * (tags/catalog-verdicts.ts), so a repository deleted from the UI leaves its list
 * at once. With a filter, the names matching it are checked in order until the
 * page is full (tags/catalog-fill.ts decides), never the whole catalog.
 */
import type { AppDeps } from "../deps.js";
import { firstErrorCode } from "../oci/errors.js";
import { parseNextLink } from "../oci/pagination.js";
import type { RegistryCalls } from "../registry-client/client.js";
import type { Failure } from "../registry-client/failure.js";
import { answerCatalog, CHECKS_AT_ONCE } from "../tags/catalog-answer.js";
import { type CatalogVerdict, nextFillStep } from "../tags/catalog-fill.js";
import { mapLimit } from "../util/concurrency.js";

/** What the catalog reads need of a page's reader (ui/reads.ts). */
export interface CatalogReader {
  deps: Pick<AppDeps, "catalogVerdicts">;
  visitor: { authorization: string | undefined };
  reg: RegistryCalls;
}

/** One page of the catalog without empty repositories: its names and the `last` of the next page (null: none). */
export async function listedCatalogPage(
  r: CatalogReader,
  q: { last: string | null; n: number },
): Promise<{ names: string[]; next: string | null } | Failure> {
  const query = `n=${q.n}${q.last === null ? "" : `&last=${encodeURIComponent(q.last)}`}`;
  const answer = await answerCatalog(
    { query, authorization: r.visitor.authorization, registry: r.reg },
    r.deps.catalogVerdicts,
  );
  const body = Buffer.isBuffer(answer.body) ? answer.body : Buffer.from(answer.body);
  if (answer.status !== 200) {
    return {
      ok: false,
      kind: "status",
      status: answer.status,
      headers: answer.headers,
      body,
      code: firstErrorCode(body),
    };
  }
  const names = (JSON.parse(body.toString("utf8")) as { repositories: string[] }).repositories;
  const link = parseNextLink(answer.headers.link);
  const next = link === null ? null : new URL(link, "http://x").searchParams.get("last");
  return { names, next };
}

/** From `matched` (names in the registry's order), the first `n` with tags, and whether one more with tags follows. */
export async function listedOf(
  r: CatalogReader,
  matched: readonly string[],
  n: number,
): Promise<{ names: string[]; next: string | null }> {
  const verdicts = new Map<string, CatalogVerdict>();
  for (;;) {
    const step = nextFillStep({ n, candidates: matched, verdicts, upstreamMore: false });
    if (step.kind !== "check") {
      // upstreamMore false: never "fetch", the names given are the whole list.
      return step.kind === "page" ? { names: step.repositories, next: step.next } : { names: [], next: null };
    }
    const found = await mapLimit(step.names, CHECKS_AT_ONCE, (name) =>
      r.deps.catalogVerdicts.verdict(name, r.visitor.authorization, r.reg),
    );
    for (const [i, name] of step.names.entries()) verdicts.set(name, found[i]!);
  }
}
