/**
 * Recording the tag changes the handlers make (docs/history.md): small calls at
 * the points where a change happens, each a no-op while the history is off.
 *
 * - PUT to a tag: the digest before (a HEAD, made while the body arrives) and
 *   the one stored; a re-push of the same digest is no change.
 * - tag delete: the digest the swap found on the tag, with its bytes.
 * - DELETE by digest: the tags that pointed at it (looked up before the delete;
 *   not for gc's own deletes, which only remove what no tag reaches), with its bytes.
 */
import type { IncomingMessage } from "node:http";
import type { KeptManifest } from "../history/events.js";
import { digestBefore, viaOf } from "../history/observe.js";
import type { TagHistory } from "../history/service.js";
import { userOf } from "../history/user.js";
import { isMaintenance } from "../http/routing.js";
import { MEDIA_TYPE } from "../oci/media-types.js";
import type { RegistryClient } from "../registry-client/client.js";
import type { DigestQuery, DigestReferences } from "../tags/digest-references.js";
import { type CallerContext, callerCredentials } from "../upstream/caller-headers.js";

export interface HistoryRecordDeps {
  history: TagHistory;
  registry: RegistryClient;
  caller: CallerContext;
}

/** The media type a manifest was stored with: its Content-Type, else the one it declares, else schema 1 (as 2.8 reads it). */
export function mediaTypeOf(bytes: Buffer, contentType: string | undefined): string {
  if (contentType) return contentType;
  try {
    const declared = (JSON.parse(bytes.toString("utf8")) as { mediaType?: unknown }).mediaType;
    if (typeof declared === "string" && declared !== "") return declared;
  } catch {
    // not JSON: the registry refused it anyway
  }
  return MEDIA_TYPE.dockerSchema1Signed;
}

function who(req: IncomingMessage) {
  return {
    user: userOf(req.headers.authorization),
    via: viaOf(req.headers["user-agent"], isMaintenance(req)),
  };
}

/** What `name:tag` holds before a PUT (null: nothing), or null when the history is off. */
export function tagBefore(
  deps: HistoryRecordDeps,
  req: IncomingMessage,
  name: string,
  tag: string,
): Promise<string | null | undefined> | null {
  if (!deps.history.enabled) return null;
  return digestBefore(deps.registry.as(callerCredentials(req, deps.caller)), name, tag);
}

export async function recordTagPut(
  deps: HistoryRecordDeps,
  req: IncomingMessage,
  name: string,
  tag: string,
  stored: { bytes: Buffer; contentType: string | undefined; digest: string },
  from: string | null | undefined,
): Promise<void> {
  if (!deps.history.enabled || from === stored.digest) return;
  const mediaType = mediaTypeOf(stored.bytes, stored.contentType);
  await deps.history.record(
    {
      type: "TagMoved",
      repository: name,
      tag,
      ...(from === undefined ? {} : { from }),
      to: stored.digest,
      mediaType,
      ...who(req),
    },
    [{ repository: name, digest: stored.digest, mediaType, bytes: stored.bytes }],
  );
}

export async function recordTagDelete(
  deps: HistoryRecordDeps,
  req: IncomingMessage,
  name: string,
  tag: string,
  original: { bytes: Buffer; mediaType: string; digest: string } | null,
): Promise<void> {
  if (!deps.history.enabled) return;
  await deps.history.record(
    {
      type: "TagDeleted",
      repository: name,
      tag,
      digest: original?.digest ?? null,
      mediaType: original?.mediaType ?? null,
      ...who(req),
    },
    original ? [{ repository: name, ...original }] : [],
  );
}

/** The tags a DELETE by digest takes with it (`complete` false: they could not all be learned). */
export interface TagsLost {
  tags: string[];
  complete: boolean;
}

/**
 * The tags a DELETE of `q.digest` takes with it, or null when the history is off.
 * Never throws: a lookup that fails leaves them unknown, the delete goes on.
 */
export async function tagsLostWith(
  deps: HistoryRecordDeps,
  req: IncomingMessage,
  q: DigestQuery,
  references: (q: DigestQuery) => Promise<DigestReferences>,
): Promise<TagsLost | null> {
  if (!deps.history.enabled) return null;
  // gc deletes, inside its window, only manifests no tag reaches: not looked up.
  if (isMaintenance(req)) return { tags: [], complete: false };
  try {
    return { tags: (await references(q)).tags, complete: true };
  } catch {
    return { tags: [], complete: false };
  }
}

export async function recordDigestDelete(
  deps: HistoryRecordDeps,
  req: IncomingMessage,
  name: string,
  digest: string,
  manifest: { bytes: Buffer; mediaType: string | undefined } | null,
  lost: TagsLost,
): Promise<void> {
  const mediaType = manifest ? mediaTypeOf(manifest.bytes, manifest.mediaType) : null;
  const kept: KeptManifest[] =
    manifest && mediaType ? [{ repository: name, digest, mediaType, bytes: manifest.bytes }] : [];
  await deps.history.record(
    {
      type: "ManifestDeleted",
      repository: name,
      digest,
      mediaType,
      tags: lost.tags,
      tagsKnown: lost.complete,
      ...who(req),
    },
    kept,
  );
}
