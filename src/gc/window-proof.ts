/**
 * Inside the read-only window, before anything is deleted: proof that the window
 * gc holds guards the registry whose storage it collects.
 *
 *   1. a write without the lease through the proxy gc deletes through (an upload
 *      opened in a repository of the storage) must be refused with 503: the window
 *      holds that proxy's writes;
 *   2. the same write with the lease must open an upload session whose folder
 *      appears under the storage root gc read: that proxy's registry stores there.
 *
 * Each upload opened is cancelled again (DELETE of its Location, with the lease),
 * and what 2.8's cancel leaves of it in the storage gc collects (its hash state) is
 * removed: nothing is left behind.
 */
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { firstHeader } from "../http/headers.js";
import { WINDOW_LEASE_HEADER } from "../ops/write-window.js";
import type { RegistryCalls } from "../registry-client/client.js";
import { errorText, type Failure, isFailed, registryError } from "../registry-client/failure.js";
import type { HttpResponse } from "../registry-client/http.js";

export interface WindowProofInput {
  /** The calls to the proxy gc deletes through, with gc's credentials. */
  client: RegistryCalls;
  registryUrl: string;
  adminUrl: string;
  lease: string;
  root: string;
  /** A repository of the storage (no new repository is created). */
  repository: string;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The folder of upload `uuid` under the storage root (null for anything but a UUID). */
function uploadDir(i: WindowProofInput, uuid: string | null): string | null {
  if (uuid === null || !UUID_RE.test(uuid)) return null;
  return join(i.root, "docker", "registry", "v2", "repositories", i.repository, "_uploads", uuid);
}

/** Cancels the upload, and removes what 2.8 leaves of it under the root (hashstates/). */
async function cancel(i: WindowProofInput, answer: HttpResponse): Promise<void> {
  const location = answer.status === 202 ? firstHeader(answer.headers.location) : undefined;
  if (!location) return;
  await i.client.uploadCancel(i.repository, location, { headers: { [WINDOW_LEASE_HEADER]: i.lease } });
  const dir = uploadDir(i, firstHeader(answer.headers["docker-upload-uuid"]) ?? null);
  if (dir !== null) rmSync(dir, { recursive: true, force: true });
}

/** An upload's answer whatever its status (a 401 the client could not answer too); no answer throws. */
function answerOf(res: HttpResponse | Failure, i: WindowProofInput): HttpResponse {
  if (!isFailed(res)) return res;
  if (res.kind === "status") return { status: res.status, headers: res.headers, body: res.body };
  throw registryError(`POST /v2/${i.repository}/blobs/uploads/`, res);
}

/** Null when proven; otherwise what is wrong and what to fix. */
export async function proveWindowGuards(i: WindowProofInput): Promise<string | null> {
  const outside = answerOf(await i.client.uploadStart(i.repository), i);
  if (outside.status !== 503 || errorText(outside.body).code !== "UNAVAILABLE") {
    await cancel(i, outside);
    if (outside.status === 401 || outside.status === 403)
      return `the credentials may not push to ${i.repository} at ${i.registryUrl} (${outside.status}): gc proves the window with an upload it cancels`;
    return (
      `a write through ${i.registryUrl} was not held by the read-only window gc holds at ${i.adminUrl} ` +
      `(POST /v2/${i.repository}/blobs/uploads/ answered ${outside.status}): that proxy is not the one whose ` +
      "window gc holds, or writes reach the registry around it. Give the --registry and --admin of one proxy " +
      "(or of replicas sharing state.redisUrl)"
    );
  }
  const inside = answerOf(
    await i.client.uploadStart(i.repository, { headers: { [WINDOW_LEASE_HEADER]: i.lease } }),
    i,
  );
  const uuid = firstHeader(inside.headers["docker-upload-uuid"]) ?? null;
  try {
    const dir = uploadDir(i, uuid);
    if (inside.status !== 202 || dir === null)
      return `an upload with the window's lease through ${i.registryUrl} answered ${inside.status} (upload ${uuid}), not 202 with an upload id`;
    if (!existsSync(join(dir, "startedat"))) {
      return (
        `the registry behind ${i.registryUrl} does not store in ${i.root}: the upload ${uuid} it opened is not ` +
        `in ${dir}. Give the registry config of the registry that proxy fronts (--registry-config), and run gc ` +
        "where its storage is mounted"
      );
    }
    return null;
  } finally {
    await cancel(i, inside);
  }
}
