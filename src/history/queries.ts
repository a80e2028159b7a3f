/**
 * What the history says, as pure functions of a repository's events (oldest
 * first, as stored): a tag's entries, what it pointed at, which manifests the
 * window holds (gc's roots), what a purge or the bounds leave, and whether an
 * undelete may go ahead. No I/O, no clock: `now` is an argument.
 */
import { type HistoryEvent, type HistoryPurged, timeOf } from "./events.js";

/** An event as the history shows it: expired entries are listed but hold nothing. */
export type HistoryEntry = HistoryEvent & { expired: boolean };

/** A manifest the window holds: gc keeps it and every blob it needs. */
export interface HeldManifest {
  repository: string;
  digest: string;
  mediaType: string | null;
  /** The newest entry naming it (ISO). */
  since: string;
}

/** True when `e` is about `tag` (a purge of the whole repository is about every tag). */
export function concernsTag(e: HistoryEvent, tag: string): boolean {
  switch (e.type) {
    case "TagMoved":
    case "TagDeleted":
      return e.tag === tag;
    case "ManifestDeleted":
      return e.tags.includes(tag);
    case "HistoryPurged":
      return e.tag === null || e.tag === tag;
  }
}

export function isExpired(e: HistoryEvent, now: number, windowMs: number): boolean {
  return timeOf(e) < now - windowMs;
}

/** Entries newest first, each marked expired or not; `tag` narrows them to one tag. */
export function entriesOf(
  events: readonly HistoryEvent[],
  now: number,
  windowMs: number,
  tag: string | null = null,
): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (tag === null || concernsTag(e, tag)) out.push({ ...e, expired: isExpired(e, now, windowMs) });
  }
  return out;
}

/** The digests an event says the tag pointed at (before or after it). */
function digestsNamed(e: HistoryEvent, tag: string): Array<{ digest: string; mediaType: string | null }> {
  if (!concernsTag(e, tag)) return [];
  switch (e.type) {
    case "TagMoved": {
      const out = [{ digest: e.to, mediaType: e.mediaType as string | null }];
      if (typeof e.from === "string") out.push({ digest: e.from, mediaType: null });
      return out;
    }
    case "TagDeleted":
      return e.digest === null ? [] : [{ digest: e.digest, mediaType: e.mediaType }];
    case "ManifestDeleted":
      return [{ digest: e.digest, mediaType: e.mediaType }];
    case "HistoryPurged":
      return [];
  }
}

/** Every digest `tag` pointed at, with the newest entry naming each (newest first). */
export function digestsOfTag(
  events: readonly HistoryEvent[],
  tag: string,
): Map<string, { since: string; mediaType: string | null }> {
  const out = new Map<string, { since: string; mediaType: string | null }>();
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    for (const { digest, mediaType } of digestsNamed(e, tag)) {
      const seen = out.get(digest);
      if (!seen) out.set(digest, { since: e.time, mediaType });
      else if (seen.mediaType === null && mediaType !== null) seen.mediaType = mediaType;
    }
  }
  return out;
}

/**
 * The digest `tag` pointed at last, by its newest entry that names one: a delete's
 * digest, a push's target. Stops at a purge of the tag (null: nothing left to go back to).
 */
export function lastTarget(events: readonly HistoryEvent[], tag: string): string | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (!concernsTag(e, tag)) continue;
    if (e.type === "HistoryPurged") return null;
    if (e.type === "TagMoved") return e.to;
    if (e.type === "ManifestDeleted") return e.digest;
    if (e.digest !== null) return e.digest;
  }
  return null;
}

/** The newest purge of `tag` (or of the whole repository), if any. */
export function lastPurge(events: readonly HistoryEvent[], tag: string | null): HistoryPurged | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.type === "HistoryPurged" && (e.tag === null || tag === null || e.tag === tag)) return e;
  }
  return null;
}

/**
 * The manifests the window holds: every digest a tag pointed at in an entry
 * younger than the window. gc's own deletes hold nothing (they remove what no tag
 * reaches), nor does a delete by digest that took no tag.
 */
export function heldManifests(
  events: readonly HistoryEvent[],
  now: number,
  windowMs: number,
): HeldManifest[] {
  const held = new Map<string, HeldManifest>();
  const hold = (e: HistoryEvent, digest: string, mediaType: string | null) => {
    const key = `${e.repository}@${digest}`;
    const seen = held.get(key);
    if (!seen) held.set(key, { repository: e.repository, digest, mediaType, since: e.time });
    else {
      if (e.time > seen.since) seen.since = e.time;
      seen.mediaType ??= mediaType;
    }
  };
  for (const e of events) {
    if (e.via === "gc" || isExpired(e, now, windowMs)) continue;
    if (e.type === "TagMoved") {
      hold(e, e.to, e.mediaType);
      if (typeof e.from === "string") hold(e, e.from, null);
    } else if (e.type === "TagDeleted" && e.digest !== null) hold(e, e.digest, e.mediaType);
    else if (e.type === "ManifestDeleted" && e.tags.length > 0) hold(e, e.digest, e.mediaType);
  }
  return [...held.values()];
}

/**
 * A purge: the events left when a tag's entries (or, `tag` null, all of them) are
 * dropped, and how many went. A delete by digest loses only that tag from its list
 * (the entry goes with its last tag); earlier purge markers of the same scope go too.
 */
export function purgeEvents(
  events: readonly HistoryEvent[],
  tag: string | null,
): { kept: HistoryEvent[]; removed: number } {
  const kept: HistoryEvent[] = [];
  let removed = 0;
  for (const e of events) {
    if (tag === null) {
      if (e.type !== "HistoryPurged") removed++;
      continue;
    }
    if (e.type === "HistoryPurged") {
      if (e.tag !== tag) kept.push(e);
    } else if (e.type === "ManifestDeleted" && e.tags.includes(tag)) {
      removed++;
      const tags = e.tags.filter((t) => t !== tag);
      if (tags.length > 0) kept.push({ ...e, tags });
    } else if (concernsTag(e, tag)) removed++;
    else kept.push(e);
  }
  return { kept, removed };
}

/** The bounds: entries younger than `retainMs` (oldest first), at most `max` of them (the newest). */
export function retainEvents(
  events: readonly HistoryEvent[],
  now: number,
  retainMs: number,
  max: number,
): HistoryEvent[] {
  const young = events.filter((e) => timeOf(e) >= now - retainMs);
  return young.length > max ? young.slice(young.length - max) : young;
}

/** Digests of manifests any of `events` may still need (kept bytes not in this set can go). */
export function digestsReferenced(events: readonly HistoryEvent[]): Set<string> {
  const out = new Set<string>();
  for (const e of events) {
    if (e.type === "TagMoved") {
      out.add(e.to);
      if (typeof e.from === "string") out.add(e.from);
    } else if ((e.type === "TagDeleted" && e.digest !== null) || e.type === "ManifestDeleted") {
      out.add(e.digest!);
    }
  }
  return out;
}
