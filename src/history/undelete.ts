/**
 * Undelete: put a tag back on a digest of its history, as named steps.
 *
 *   step            does
 *   check           input valid, history on, the read-only window open
 *   look            the tag now (HEAD; a tombstone counts as deleted), under the tag's lock
 *   decide          undelete-decision.ts: the target, or a refusal
 *   fetch           the manifest's bytes: kept by the history, else GET by digest
 *   put             PUT the bytes to the tag (in the repository's put phase)
 *   record          a TagMoved entry (via undelete)
 *
 * Nothing is written before `put`; a refusal or an error before it changes nothing.
 */

import { sha256Digest } from "../oci/digest.js";
import { OciError } from "../oci/errors.js";
import { isValidDigest, isValidName, isValidTag } from "../oci/grammar.js";
import { isSchema1 } from "../oci/media-types.js";
import type { Credentials } from "../registry-client/credentials.js";
import { describeFailure } from "../registry-client/failure.js";
import type { TagLocks } from "../tags/locks.js";
import type { HistoryChange, HistoryEvent, KeptManifest, TagMoved } from "./events.js";
import { type Failed, isFailed, type Manifest, type UndeleteRegistry } from "./registry-calls.js";
import { decideUndelete, type RefusalReason } from "./undelete-decision.js";

export interface UndeleteRequest {
  repository: string;
  tag: string;
  /** The digest to point the tag at; null: the digest it pointed at last. */
  to: string | null;
  /** Who asks, for the entry (the credentials' username wins). */
  user: string | null;
  /**
   * For the registry calls: a login (the admin endpoint's username and password), a
   * web UI visitor's own credentials; null: the proxy's service credentials, if any.
   */
  credentials: Credentials | null;
}

export type UndeleteResult =
  | { kind: "restored"; repository: string; tag: string; digest: string; previous: string | null }
  | { kind: "already"; repository: string; tag: string; digest: string }
  | { kind: "refused"; reason: RefusalReason; message: string; detail: Record<string, unknown> };

/** What an undelete needs of the proxy. */
export interface UndeleteDeps {
  /** The registry calls, with these credentials (null: the service credentials, if configured). */
  registryFor(credentials: Credentials | null): UndeleteRegistry;
  isImmutable(repository: string, tag: string): boolean;
  /** The read-only window (gc) is closed: no write now. */
  readOnly(): boolean;
  /** The tag deleter's own locks: an undelete and a delete of one tag run one after the other. */
  tagLocks: TagLocks;
  /** Runs a tag write in the repository's put phase (naming the tag, for the digest delete guard's cache). */
  inPutPhase<T>(repository: string, fn: () => Promise<T>, tag: string): Promise<T>;
  /** The tags lists of every replica see the change. */
  repositoryChanged(repository: string): Promise<void>;
}

/** What an undelete needs of the history. */
export interface UndeleteHistory {
  readonly windowMs: number;
  now(): number;
  events(repository: string): Promise<HistoryEvent[]>;
  manifest(repository: string, digest: string): Promise<KeptManifest | null>;
  record(change: HistoryChange, manifests?: readonly KeptManifest[]): Promise<void>;
}

/** Throws the 400 for a malformed repository, tag or digest. */
export function checkInput(repository: string, tag: string | null, digest: string | null): void {
  if (!isValidName(repository))
    throw new OciError("NAME_INVALID", `invalid repository name: ${JSON.stringify(repository)}`);
  if (tag !== null && !isValidTag(tag))
    throw new OciError("TAG_INVALID", `invalid tag: ${JSON.stringify(tag)}`);
  if (digest !== null && !isValidDigest(digest))
    throw new OciError("DIGEST_INVALID", `invalid digest: ${JSON.stringify(digest)}`);
}

/** A registry call that failed: the answer for the admin. */
function registryError(f: Failed, what: string): OciError {
  const reason = describeFailure(f);
  if (f.kind === "status" && (f.status === 401 || f.status === 403)) {
    // 403, not 401: the admin endpoint's own 401 means its token; this is the registry's refusal.
    return new OciError(
      "DENIED",
      `${what}: the registry refused the credentials (${reason}); give a username and password, or set delete.recoveryUsername and delete.recoveryPassword`,
      { step: what, reason: "registry-credentials", upstream: reason },
    );
  }
  return new OciError("UNAVAILABLE", `${what}: ${reason}`, { step: what, upstream: reason }, { status: 502 });
}

function gone(message: string, detail: Record<string, unknown>): UndeleteResult {
  return { kind: "refused", reason: "gone", message, detail };
}

/** The manifest's bytes: the history's copy (when it hashes right), else the registry's. */
async function fetchManifest(
  history: UndeleteHistory,
  registry: UndeleteRegistry,
  repository: string,
  digest: string,
): Promise<Manifest | null> {
  const kept = await history.manifest(repository, digest);
  if (kept && (isSchema1(kept.mediaType) || sha256Digest(kept.bytes) === digest)) {
    return { bytes: kept.bytes, mediaType: kept.mediaType, digest };
  }
  const got = await registry.manifest(repository, digest);
  if (isFailed(got)) throw registryError(got, `GET ${repository}@${digest}`);
  return got;
}

export async function undeleteTag(
  history: UndeleteHistory,
  deps: UndeleteDeps,
  r: UndeleteRequest,
): Promise<UndeleteResult> {
  checkInput(r.repository, r.tag, r.to);
  if (deps.readOnly()) {
    throw new OciError(
      "UNAVAILABLE",
      "the registry is read-only for maintenance (garbage collection); retry when it is done",
      { step: "check" },
      { headers: { "retry-after": "5" } },
    );
  }
  const { repository, tag } = r;
  const registry = deps.registryFor(r.credentials);
  return deps.tagLocks.run(`${repository}\n${tag}`, async (lease) => {
    const current = await registry.current(repository, tag);
    if (isFailed(current)) throw registryError(current, `HEAD ${repository}:${tag}`);
    const decision = decideUndelete({
      events: await history.events(repository),
      tag,
      to: r.to,
      current,
      immutable: deps.isImmutable(repository, tag),
      now: history.now(),
      windowMs: history.windowMs,
    });
    if (decision.kind === "refused") return decision;
    if (decision.kind === "already") return { kind: "already", repository, tag, digest: decision.digest };
    const { digest } = decision;
    const manifest = await fetchManifest(history, registry, repository, digest);
    if (manifest === null) {
      return gone(`${digest} is no longer in the registry (garbage-collected outside the window?)`, {
        digest,
      });
    }
    await lease?.check();
    const put = await deps.inPutPhase(repository, () => registry.put(repository, tag, manifest), tag);
    if (isFailed(put)) {
      if (put.kind === "status" && put.code === "MANIFEST_BLOB_UNKNOWN") {
        return gone(`a blob ${digest} needs is no longer in the registry (garbage-collected)`, { digest });
      }
      throw registryError(put, `PUT ${repository}:${tag}`);
    }
    const user = r.credentials?.kind === "login" ? r.credentials.username : r.user;
    const entry: Omit<TagMoved, "id" | "time" | "replica"> = {
      type: "TagMoved",
      repository,
      tag,
      from: current,
      to: digest,
      mediaType: manifest.mediaType,
      user,
      via: "undelete",
    };
    await history.record(entry, [{ repository, ...manifest }]);
    await deps.repositoryChanged(repository);
    return { kind: "restored", repository, tag, digest, previous: current };
  });
}
