/**
 * What `history` prints: a tag's entries (full digests, for `undelete --to`) or a
 * repository's recent changes, as tables. Pure: the admin answer in, lines out.
 */
import type { RepositoryEntries, TagEntries } from "../history/admin-client.js";
import type { HistoryEntry } from "../history/queries.js";
import { describeWindow } from "../history/undelete-decision.js";
import { formatTable } from "../prune/report.js";

/** The change an entry made, in a word or two. */
export function changeOf(e: HistoryEntry): string {
  switch (e.type) {
    case "TagMoved":
      if (e.via === "undelete") return "undeleted";
      return e.from === null ? "created" : e.from === undefined ? "pushed" : "moved";
    case "TagDeleted":
      return "deleted";
    case "ManifestDeleted":
      return "digest deleted";
    case "HistoryPurged":
      return "purged";
  }
}

/** The digest the entry is about: the tag's new target, or what was deleted. */
function digestOf(e: HistoryEntry): string {
  switch (e.type) {
    case "TagMoved":
      return e.to;
    case "TagDeleted":
      return e.digest ?? "(unknown)";
    case "ManifestDeleted":
      return e.digest;
    case "HistoryPurged":
      return `${e.removed} entries dropped`;
  }
}

export function shortDigest(d: string): string {
  const colon = d.indexOf(":");
  return colon === -1 || d.length < colon + 13 ? d : d.slice(0, colon + 13);
}

function noteOf(e: HistoryEntry, tag: string | null): string {
  const notes: string[] = [];
  if (e.type === "TagMoved" && typeof e.from === "string") notes.push(`from ${shortDigest(e.from)}`);
  if (e.type === "ManifestDeleted") {
    const others = tag === null ? e.tags : e.tags.filter((t) => t !== tag);
    if (!e.tagsKnown) notes.push("tags not looked up");
    else if (others.length > 0) notes.push(`${tag === null ? "tags" : "with"} ${others.join(", ")}`);
  }
  if (e.expired) notes.push("expired: content no longer held");
  return notes.join("; ");
}

function tagsOf(e: HistoryEntry): string {
  if (e.type === "ManifestDeleted") return e.tags.length > 0 ? e.tags.join(",") : "(no tag)";
  if (e.type === "HistoryPurged") return e.tag ?? "(all)";
  return e.tag;
}

function header(what: string, windowMs: number, count: number): string {
  const window = windowMs > 0 ? `window ${describeWindow(windowMs)}` : "history off";
  return `${what}: ${count} ${count === 1 ? "entry" : "entries"}, newest first (${window})`;
}

export function tagLines(a: TagEntries): string[] {
  const lines = [header(`${a.repository}:${a.tag}`, a.windowMs, a.entries.length)];
  if (a.entries.length === 0) return [...lines, "  no entries"];
  const rows = [["WHEN", "CHANGE", "DIGEST", "WHO", "VIA", "NOTE"]];
  for (const e of a.entries) {
    rows.push([e.time, changeOf(e), digestOf(e), e.user ?? "-", e.via, noteOf(e, a.tag)]);
  }
  return [...lines, ...formatTable(rows)];
}

export function repositoryLines(a: RepositoryEntries): string[] {
  const lines = [header(a.repository, a.windowMs, a.entries.length)];
  if (a.entries.length === 0) return [...lines, "  no entries"];
  const rows = [["WHEN", "TAG", "CHANGE", "DIGEST", "WHO", "VIA", "NOTE"]];
  for (const e of a.entries) {
    const digest = e.type === "HistoryPurged" ? digestOf(e) : shortDigest(digestOf(e));
    rows.push([e.time, tagsOf(e), changeOf(e), digest, e.user ?? "-", e.via, noteOf(e, null)]);
  }
  return [...lines, ...formatTable(rows)];
}
