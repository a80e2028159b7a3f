/**
 * The referrers tag schema on the upstream: reading the index a subject's
 * `<alg>-<ref>` tag holds, and changing it (read, change, write) one change at a
 * time per repository and subject. Every call is made with the caller's own
 * credentials, so the proxy never writes with more rights than the client that
 * asked.
 *
 * The lock is in-process: 2.8 has no conditional PUT, so writers outside this
 * proxy (another replica, a client keeping the tag itself) can still race it.
 */
import { MEDIA_TYPE } from "../oci/media-types.js";
import {
  emptyReferrersIndex,
  parseReferrersIndex,
  type ReferrersIndex,
  referrersTag,
  serialiseReferrersIndex,
} from "../oci/referrers.js";
import type { RegistryCalls } from "../registry-client/client.js";
import { describeFailure, type Failure, isFailed } from "../registry-client/failure.js";
import { createKeyedMutex } from "../util/keyed-mutex.js";

export type IndexRead =
  | { kind: "index"; index: ReferrersIndex }
  /** The tag does not exist (404): no referrers yet. */
  | { kind: "absent" }
  /** The tag holds something other than an OCI image index. */
  | { kind: "not-index"; reason: string }
  /** Any other upstream answer (401, 403, 5xx ...), to be relayed. */
  | { kind: "refused"; response: Extract<Failure, { kind: "status" }> }
  /** No answer (unreachable, timed out, the client went away). */
  | { kind: "failed"; failure: Failure };

export type IndexUpdate =
  | { outcome: "updated" | "unchanged" }
  | { outcome: "skipped" | "failed"; reason: string };

export type IndexChange = (index: ReferrersIndex) => { index: ReferrersIndex; changed: boolean };

export async function readReferrersIndex(
  reg: RegistryCalls,
  name: string,
  subject: string,
  signal?: AbortSignal,
): Promise<IndexRead> {
  const got = await reg.manifestGet(name, referrersTag(subject), signal ? { signal } : {});
  if (got === null) return { kind: "absent" };
  if (isFailed(got))
    return got.kind === "status" ? { kind: "refused", response: got } : { kind: "failed", failure: got };
  const parsed = parseReferrersIndex(got.bytes, got.mediaType);
  return typeof parsed === "string"
    ? { kind: "not-index", reason: parsed }
    : { kind: "index", index: parsed };
}

/** The referrers indexes of one proxy: reads, and changes one at a time per repository and subject. */
export interface ReferrersIndexes {
  read: typeof readReferrersIndex;
  update(reg: RegistryCalls, name: string, subject: string, change: IndexChange): Promise<IndexUpdate>;
}

export function createReferrersIndexes(): ReferrersIndexes {
  const lock = createKeyedMutex();
  return {
    read: readReferrersIndex,
    update: (reg, name, subject, change) =>
      lock.run(`${name}@${subject}`, () => updateIndex(reg, name, subject, change)),
  };
}

/**
 * Applies `change` to the subject's referrers index (under the caller's lock):
 * a missing tag starts from an empty index; a tag holding anything but an index
 * is left alone (`skipped`, as the spec tells clients to do); an unchanged index
 * is not written; an upstream that does not answer is a failed update.
 */
async function updateIndex(
  reg: RegistryCalls,
  name: string,
  subject: string,
  change: IndexChange,
): Promise<IndexUpdate> {
  const tag = referrersTag(subject);
  const read = await readReferrersIndex(reg, name, subject);
  if (read.kind === "refused")
    return { outcome: "failed", reason: `reading ${tag}: upstream ${read.response.status}` };
  if (read.kind === "failed")
    return { outcome: "failed", reason: `reading ${tag}: ${describeFailure(read.failure)}` };
  if (read.kind === "not-index") return { outcome: "skipped", reason: `${tag} ${read.reason}` };
  const next = change(read.kind === "index" ? read.index : emptyReferrersIndex());
  if (!next.changed) return { outcome: "unchanged" };
  const put = await reg.manifestPut(name, tag, {
    bytes: serialiseReferrersIndex(next.index),
    mediaType: MEDIA_TYPE.ociIndex,
  });
  if (isFailed(put)) {
    const why = put.kind === "status" ? `upstream ${put.status} ${put.code ?? ""}` : describeFailure(put);
    return { outcome: "failed", reason: `writing ${tag}: ${why}` };
  }
  return { outcome: "updated" };
}
