/**
 * The steps of `gc`, each on its own: plan from the storage root, delete one
 * manifest by digest through the proxy (carrying the window's lease), run an
 * external command (the registry's garbage-collect, a restart), and measure what
 * was freed.
 */
import { spawn } from "node:child_process";
import { RegistryClient } from "../prune/client.js";
import type { Credentials } from "../prune/credentials.js";
import {
  type CollectionPlan,
  type ManifestRefs,
  manifestRefs,
  planCollection,
  type RepositoryGraph,
} from "./reachability.js";
import { blobSize, listBlobs, readBlob, scanRepositories } from "./storage-scan.js";

/** The plan for everything under a filesystem storage root. */
export function planFromStorage(root: string): CollectionPlan {
  const graphs: RepositoryGraph[] = scanRepositories(root).map((repo) => {
    const manifests = new Map<string, ManifestRefs>();
    const wanted = new Set([...repo.revisions, ...repo.tags.values()]);
    for (const digest of wanted) {
      const body = readBlob(root, digest);
      if (body !== null) manifests.set(digest, manifestRefs(body));
    }
    return { name: repo.name, revisions: repo.revisions, tags: repo.tags, manifests };
  });
  return planCollection(graphs, listBlobs(root), (d) => blobSize(root, d));
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
  credentials: Credentials | null,
): ManifestDeleter {
  const client = new RegistryClient({ baseUrl: new URL(registryUrl), credentials, timeoutMs: 60_000 });
  return {
    async delete(repository, digest) {
      try {
        const res = await client.deleteManifest(repository, digest, { "rcp-maintenance-lease": lease });
        if (res.status === 202 || res.status === 200) return { repository, digest, result: "deleted" };
        if (res.status === 404) return { repository, digest, result: "gone" };
        const text = res.body.toString().trim().slice(0, 300);
        return { repository, digest, result: "failed", reason: `${res.status} ${text}` };
      } catch (err) {
        return { repository, digest, result: "failed", reason: (err as Error).message };
      }
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
