/**
 * The tag history in the web UI: what a visitor may read of it, and the
 * undelete ("put back this digest"), both through the history service in
 * process (deps.history), never over HTTP. The history itself is the proxy's
 * record, so a visitor sees a repository's entries only when the registry lets
 * their login read that repository (its tags list, asked with their
 * credentials); the undelete makes its registry calls with the visitor's own
 * credentials, as the admin endpoint makes them with the login it is given, so
 * the registry decides, and it is recorded under the visitor's name.
 */
import type { HistoryEntry } from "../history/queries.js";
import { undeleteRegistry } from "../history/registry-calls.js";
import type { UndeleteResult } from "../history/undelete.js";
import type { RefusalReason } from "../history/undelete-decision.js";
import { userOf } from "../history/user.js";
import type { Failure } from "../registry-client/failure.js";
import type { UiReader } from "./reads.js";

/** Entries a tag's page shows (the tag's history page shows them all). */
export const TAG_PAGE_ENTRIES = 20;
/** Entries the repository's recent changes show. */
export const REPOSITORY_ENTRIES = 100;

/** A history read: its entries, or the history is off. */
export type HistoryRead = { off: true } | { off: false; entries: HistoryEntry[]; windowMs: number };

/**
 * Whether the visitor may read the repository's history: null when the registry
 * lets their credentials read its tags list (or says, to them, that it has
 * none: a repository whose every tag went), else how the registry refused.
 */
export async function historyAccess(r: UiReader, name: string): Promise<Failure | null> {
  const refused = await r.reg.tagListCheck(name);
  if (refused === null) return null;
  const unknown = refused.kind === "status" && refused.status === 404;
  return unknown ? null : refused;
}

/** A tag's entries, newest first (the visitor's access checked by the caller). */
export async function readTagHistory(r: UiReader, name: string, tag: string): Promise<HistoryRead> {
  const history = r.deps.history;
  if (!history.enabled) return { off: true };
  return { off: false, entries: await history.tagEntries(name, tag), windowMs: history.windowMs };
}

/** A repository's recent changes, newest first (the visitor's access checked by the caller). */
export async function readRepositoryHistory(r: UiReader, name: string): Promise<HistoryRead> {
  const history = r.deps.history;
  if (!history.enabled) return { off: true };
  const entries = await history.repositoryEntries(name, REPOSITORY_ENTRIES);
  return { off: false, entries, windowMs: history.windowMs };
}

/** What the tag points at now, as the undelete sees it (a tag delete's tombstone: nothing), with the visitor's credentials. */
export function currentDigest(r: UiReader, name: string, tag: string): Promise<string | null | Failure> {
  return undeleteRegistry(r.reg).current(name, tag);
}

/** The digest a history entry says the tag pointed at (after a push, before a delete); null for none. */
export function digestOfEntry(e: HistoryEntry): string | null {
  switch (e.type) {
    case "TagMoved":
      return e.to;
    case "TagDeleted":
      return e.digest;
    case "ManifestDeleted":
      return e.digest;
    case "HistoryPurged":
      return null;
  }
}

/** Whether the row of `e` offers to put `tag` back on its digest (the tag not already there). */
export function offersPutBack(e: HistoryEntry, current: string | null | undefined): boolean {
  const digest = digestOfEntry(e);
  return digest !== null && !e.expired && e.via !== "gc" && digest !== current;
}

/** Puts `tag` back on `digest` with the visitor's credentials, recorded under the visitor's name. */
export function putBack(r: UiReader, name: string, tag: string, digest: string): Promise<UndeleteResult> {
  return r.deps.history.undelete({
    repository: name,
    tag,
    to: digest,
    user: userOf(r.visitor.authorization),
    credentials: r.visitor.credentials,
  });
}

/** A refused undelete's status and heading, by its reason. */
export const REFUSAL_PAGES: Readonly<
  Record<RefusalReason, { status: 403 | 404 | 409 | 410; heading: string }>
> = {
  "no-history": { status: 404, heading: "Not in the history" },
  "not-in-history": { status: 404, heading: "Not in the history" },
  "tag-exists": { status: 409, heading: "The tag exists" },
  immutable: { status: 403, heading: "This tag is immutable" },
  purged: { status: 410, heading: "Its content is gone" },
  expired: { status: 410, heading: "Its content is gone" },
  gone: { status: 410, heading: "Its content is gone" },
};
