/**
 * The referrers tag schema on the upstream: reading the index a subject's
 * `<alg>-<ref>` tag holds, and changing it (read, change, write) one change at a
 * time per repository and subject. Every call carries the caller's own headers
 * (credentials included), so the proxy never writes with more rights than the
 * client that asked.
 *
 * The lock is in-process: 2.8 has no conditional PUT, so writers outside this
 * proxy (another replica, a client keeping the tag itself) can still race it.
 */
import type { OutgoingHttpHeaders } from "node:http";
import { firstErrorCode } from "../oci/errors.js";
import { ALL_MANIFEST_TYPES, MEDIA_TYPE } from "../oci/media-types.js";
import {
  emptyReferrersIndex,
  parseReferrersIndex,
  type ReferrersIndex,
  referrersTag,
  serialiseReferrersIndex,
} from "../oci/referrers.js";
import type { UpstreamClient, UpstreamResponse } from "../upstream/client.js";
import { createKeyedMutex } from "../util/keyed-mutex.js";

export type IndexRead =
  | { kind: "index"; index: ReferrersIndex }
  /** The tag does not exist (404): no referrers yet. */
  | { kind: "absent" }
  /** The tag holds something other than an OCI image index. */
  | { kind: "not-index"; reason: string }
  /** Any other upstream answer (401, 403, 5xx ...), to be relayed. */
  | { kind: "refused"; response: UpstreamResponse };

export type IndexUpdate =
  | { outcome: "updated" | "unchanged" }
  | { outcome: "skipped" | "failed"; reason: string };

export type IndexChange = (index: ReferrersIndex) => { index: ReferrersIndex; changed: boolean };

function tagPath(name: string, subject: string): string {
  return `/v2/${name}/manifests/${referrersTag(subject)}`;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export async function readReferrersIndex(
  upstream: UpstreamClient,
  headers: OutgoingHttpHeaders,
  name: string,
  subject: string,
  signal?: AbortSignal,
): Promise<IndexRead> {
  const res = await upstream.request({
    method: "GET",
    path: tagPath(name, subject),
    headers: { ...headers, accept: ALL_MANIFEST_TYPES },
    signal,
  });
  if (res.status === 404) return { kind: "absent" };
  if (res.status !== 200) return { kind: "refused", response: res };
  const parsed = parseReferrersIndex(res.body, headerValue(res.headers["content-type"]));
  return typeof parsed === "string"
    ? { kind: "not-index", reason: parsed }
    : { kind: "index", index: parsed };
}

/** The referrers indexes of one proxy: reads, and changes one at a time per repository and subject. */
export interface ReferrersIndexes {
  read: typeof readReferrersIndex;
  update(
    upstream: UpstreamClient,
    headers: OutgoingHttpHeaders,
    name: string,
    subject: string,
    change: IndexChange,
  ): Promise<IndexUpdate>;
}

export function createReferrersIndexes(): ReferrersIndexes {
  const lock = createKeyedMutex();
  return {
    read: readReferrersIndex,
    update: (upstream, headers, name, subject, change) =>
      lock.run(`${name}@${subject}`, () => updateIndex(upstream, headers, name, subject, change)),
  };
}

/**
 * Applies `change` to the subject's referrers index (under the caller's lock):
 * a missing tag starts from an empty index; a tag holding anything but an index
 * is left alone (`skipped`, as the spec tells clients to do); an unchanged index
 * is not written. Upstream transport errors reject.
 */
async function updateIndex(
  upstream: UpstreamClient,
  headers: OutgoingHttpHeaders,
  name: string,
  subject: string,
  change: IndexChange,
): Promise<IndexUpdate> {
  const read = await readReferrersIndex(upstream, headers, name, subject);
  if (read.kind === "refused") {
    return {
      outcome: "failed",
      reason: `reading ${referrersTag(subject)}: upstream ${read.response.status}`,
    };
  }
  if (read.kind === "not-index")
    return { outcome: "skipped", reason: `${referrersTag(subject)} ${read.reason}` };
  const next = change(read.kind === "index" ? read.index : emptyReferrersIndex());
  if (!next.changed) return { outcome: "unchanged" };
  const put = await upstream.request({
    method: "PUT",
    path: tagPath(name, subject),
    headers: { ...headers, "content-type": MEDIA_TYPE.ociIndex },
    body: serialiseReferrersIndex(next.index),
  });
  if (put.status !== 201) {
    const code = firstErrorCode(put.body) ?? "";
    return {
      outcome: "failed",
      reason: `writing ${referrersTag(subject)}: upstream ${put.status} ${code}`,
    };
  }
  return { outcome: "updated" };
}
