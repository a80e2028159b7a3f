/**
 * Tag history: the typed events of an append-only log, one log per repository.
 * Every tag change that passes through the proxy is one event; the manifests a
 * deleted or moved tag pointed at are kept beside the log (KeptManifest), so the
 * tag can be put back while the window lasts. Types only.
 */

/** Who made a change, beyond the client's own push or delete. */
export type Via =
  /** A client's own request (push, tag delete, delete by digest). */
  | "client"
  /** `registry-compat-proxy prune` (its single-tag deletes). */
  | "prune"
  /** `gc --apply` (its deletes by digest inside the read-only window): never held. */
  | "gc"
  /** `undelete` (the admin endpoint, the CLI or the UI). */
  | "undelete"
  /** Another admin request (`history purge`). */
  | "admin";

interface EventBase {
  /** Unique (random) id. */
  id: string;
  /** ISO 8601, the proxy's clock when the change was answered. */
  time: string;
  repository: string;
  /**
   * Who: the Basic username, or the `sub` claim of a Bearer token (read, not
   * verified: the registry verified the token when it accepted the change), or the
   * name an admin request gave. null when the request carried neither.
   */
  user: string | null;
  /** The replica that saw the change (host name and a short instance id). */
  replica: string;
  via: Via;
}

/** A manifest PUT to a tag: a new tag (`from` null) or a tag moved from `from`. */
export interface TagMoved extends EventBase {
  type: "TagMoved";
  tag: string;
  /** The digest before: null when the tag did not exist; absent when it could not be learned. */
  from?: string | null;
  to: string;
  mediaType: string;
}

/** A tag delete (the swap, or a registry's native tag delete). */
export interface TagDeleted extends EventBase {
  type: "TagDeleted";
  tag: string;
  /** What the tag pointed at; null when the registry deleted it without the proxy learning that. */
  digest: string | null;
  mediaType: string | null;
}

/** A delete by digest: the manifest and every tag that pointed at it. */
export interface ManifestDeleted extends EventBase {
  type: "ManifestDeleted";
  digest: string;
  mediaType: string | null;
  /** The tags that pointed at the manifest just before (each lost with it). */
  tags: string[];
  /** False when the tags could not be listed (they are then unknown, not none). */
  tagsKnown: boolean;
}

/** `history purge`: the repository's entries (or one tag's) were dropped at this time. */
export interface HistoryPurged extends EventBase {
  type: "HistoryPurged";
  /** null: the whole repository. */
  tag: string | null;
  /** Entries dropped. */
  removed: number;
}

export type HistoryEvent = TagMoved | TagDeleted | ManifestDeleted | HistoryPurged;
export type HistoryEventType = HistoryEvent["type"];

/** The bytes of a manifest a tag pointed at, kept so that the tag can be put back. */
export interface KeptManifest {
  repository: string;
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

/** An event as it is recorded: the service adds id, time and replica. */
export type HistoryChange =
  | Omit<TagMoved, "id" | "time" | "replica">
  | Omit<TagDeleted, "id" | "time" | "replica">
  | Omit<ManifestDeleted, "id" | "time" | "replica">;

const TYPES: ReadonlySet<string> = new Set(["TagMoved", "TagDeleted", "ManifestDeleted", "HistoryPurged"]);

/** The event in `v` when it looks like one (stored data is read defensively); null otherwise. */
export function asHistoryEvent(v: unknown): HistoryEvent | null {
  if (typeof v !== "object" || v === null) return null;
  const e = v as Record<string, unknown>;
  if (!TYPES.has(e["type"] as string)) return null;
  if (typeof e["id"] !== "string" || typeof e["repository"] !== "string") return null;
  if (typeof e["time"] !== "string" || Number.isNaN(Date.parse(e["time"]))) return null;
  if (e["type"] === "ManifestDeleted" && !Array.isArray(e["tags"])) return null;
  return v as HistoryEvent;
}

/** The event's time in milliseconds. */
export function timeOf(e: HistoryEvent): number {
  return Date.parse(e.time);
}
