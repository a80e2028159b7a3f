/**
 * The steps of `gc`, each on its own: plan from the storage root, delete one
 * manifest by digest through the proxy (carrying the window's lease), run an
 * external command (the registry's garbage-collect, a restart), and measure what
 * was freed.
 */
import { spawn } from "node:child_process";
import { WINDOW_LEASE_HEADER } from "../ops/write-window.js";
import { createRegistryClient } from "../registry-client/client.js";
import type { FoundLogin } from "../registry-client/credential-sources.js";
import { ANONYMOUS, login } from "../registry-client/credentials.js";
import { isFailed, registryError } from "../registry-client/failure.js";
import {
  type CollectionPlan,
  type ManifestRefs,
  manifestRefs,
  planCollection,
  type RepositoryGraph,
  untaggedCount,
} from "./reachability.js";
import {
  blobSize,
  listBlobs,
  readBlob,
  type ScannedRepository,
  scanRepositories,
  writeRevisionLink,
} from "./storage-scan.js";

/** A manifest the tag history's window holds (the proxy's `GET /admin/history/_held`). */
export interface HeldRoot {
  repository: string;
  digest: string;
}

/** Every repository under a filesystem storage root, with the held manifests as roots. */
export function graphsFromStorage(
  root: string,
  held: readonly HeldRoot[] = [],
  onRepository?: (repository: ScannedRepository) => void,
): RepositoryGraph[] {
  return scanRepositories(root, onRepository).map((repo) => {
    const heldHere = held.filter((h) => h.repository === repo.name).map((h) => h.digest);
    const manifests = new Map<string, ManifestRefs>();
    const wanted = new Set([...repo.revisions, ...repo.tags.values(), ...heldHere]);
    for (const digest of wanted) {
      const body = readBlob(root, digest);
      if (body !== null) manifests.set(digest, manifestRefs(body));
    }
    return { name: repo.name, revisions: repo.revisions, tags: repo.tags, manifests, held: heldHere };
  });
}

/**
 * The plan for everything under a filesystem storage root; `held` manifests (and what
 * they need) are kept; `onRepository` hears of each repository as it is read.
 */
export function planFromStorage(
  root: string,
  held: readonly HeldRoot[] = [],
  onRepository?: (repository: ScannedRepository) => void,
): CollectionPlan {
  return planCollection(graphsFromStorage(root, held, onRepository), listBlobs(root), (d) =>
    blobSize(root, d),
  );
}

/** What the history's window keeps from collection: manifests and bytes a plan without it would free. */
export function windowHolds(root: string, held: readonly HeldRoot[], plan: CollectionPlan) {
  if (held.length === 0) return { manifests: 0, bytes: 0 };
  const without = planFromStorage(root);
  return { manifests: untaggedCount(without) - untaggedCount(plan), bytes: without.bytes - plan.bytes };
}

/**
 * Held manifests deleted by digest (no revision any more) whose bytes are still
 * stored get their revision link back, so that garbage-collect keeps them and
 * every blob they refer to; those whose bytes are gone are listed as lost.
 */
export function relinkHeld(
  root: string,
  held: readonly HeldRoot[],
): { relinked: HeldRoot[]; lost: HeldRoot[] } {
  const revisions = new Map(scanRepositories(root).map((r) => [r.name, new Set(r.revisions)]));
  const relinked: HeldRoot[] = [];
  const lost: HeldRoot[] = [];
  for (const h of held) {
    if (revisions.get(h.repository)?.has(h.digest)) continue;
    // Only a manifest whose every blob is still stored: a revision never names missing content.
    const body = readBlob(root, h.digest);
    const refs = body === null ? null : manifestRefs(body);
    const whole = refs !== null && [...refs.children, ...refs.blobs].every((d) => blobSize(root, d) !== null);
    (whole && writeRevisionLink(root, h.repository, h.digest) ? relinked : lost).push(h);
  }
  return { relinked, lost };
}

/** Bytes of `blobs` no longer on disk. */
export function bytesGone(root: string, blobs: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const [digest, size] of blobs) if (blobSize(root, digest) === null) n += size;
  return n;
}

export interface DeleteOutcome {
  repository: string;
  digest: string;
  /** deleted; gone (404: already not there); failed */
  result: "deleted" | "gone" | "failed";
  reason?: string;
}

export interface ManifestDeleter {
  delete(repository: string, digest: string): Promise<DeleteOutcome>;
  close(): Promise<void>;
}

/**
 * Deletes manifests by digest through the proxy at `registryUrl`, as the window's
 * holder, answering the registry's auth challenges (Basic or token) with `credentials`.
 */
export function createManifestDeleter(
  registryUrl: string,
  lease: string,
  credentials: FoundLogin | null,
): ManifestDeleter {
  const client = createRegistryClient({ url: registryUrl, timeoutMs: 60_000 });
  const reg = client.as(credentials ? login(credentials.username, credentials.password) : ANONYMOUS);
  return {
    async delete(repository, digest) {
      const res = await reg.manifestDelete(repository, digest, { headers: { [WINDOW_LEASE_HEADER]: lease } });
      if (!isFailed(res)) return { repository, digest, result: "deleted" };
      if (res.kind === "status" && res.reason === undefined) {
        if (res.status === 404) return { repository, digest, result: "gone" };
        const text = res.body.toString().trim().slice(0, 300);
        return { repository, digest, result: "failed", reason: `${res.status} ${text}` };
      }
      return {
        repository,
        digest,
        result: "failed",
        reason: registryError(`DELETE ${repository}@${digest}`, res).message,
      };
    },
    close: () => client.close(),
  };
}

/** Deletes every unreachable manifest of the plan, one at a time, until `stop` aborts; closes the deleter. */
export async function deleteUnreachable(
  plan: CollectionPlan,
  deleter: ManifestDeleter,
  stop: AbortSignal,
): Promise<DeleteOutcome[]> {
  const outcomes: DeleteOutcome[] = [];
  try {
    for (const repo of plan.repositories) {
      for (const digest of repo.unreachable) {
        if (stop.aborted) return outcomes;
        outcomes.push(await deleter.delete(repo.name, digest));
      }
    }
    return outcomes;
  } finally {
    await deleter.close();
  }
}

/** Bytes of the plan's blobs gone from disk now, per repository and in total. */
export function measureFreed(root: string, plan: CollectionPlan) {
  const repositories: Record<string, number> = {};
  for (const r of plan.repositories) repositories[r.name] = bytesGone(root, r.freed);
  const orphans = bytesGone(root, plan.orphans);
  return { repositories, orphans, total: Object.values(repositories).reduce((a, b) => a + b, orphans) };
}

export interface CommandResult {
  ok: boolean;
  /** Exit code or signal, for the report. */
  status: string;
}

/**
 * Runs `argv` (no shell) or a shell command line, its output to `output`, in its
 * own process group: aborting `signal` sends the whole group SIGTERM (a shell's
 * children too, so no garbage-collect outlives the window). The result comes when
 * the command exits.
 */
export function runCommand(
  command: { argv: readonly string[] } | { shell: string },
  output: (chunk: Buffer) => void,
  signal: AbortSignal,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CommandResult> {
  const [file, args] =
    "argv" in command ? [command.argv[0]!, command.argv.slice(1)] : ["/bin/sh", ["-c", command.shell]];
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], env, detached: true });
    child.stdout.on("data", output);
    child.stderr.on("data", output);
    const stop = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGTERM");
      } catch {
        // the group is gone already
      }
    };
    signal.addEventListener("abort", stop, { once: true });
    child.once("error", (err) => {
      signal.removeEventListener("abort", stop);
      resolve({ ok: false, status: err.message });
    });
    child.once("exit", (code, sig) => {
      signal.removeEventListener("abort", stop);
      resolve({ ok: code === 0, status: sig ? `signal ${sig}` : `exit ${code}` });
    });
  });
}
