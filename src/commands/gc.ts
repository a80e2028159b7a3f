/**
 * `registry-compat-proxy gc`: reclaim the disk a 2.8 registry keeps after tag
 * deletes. A dry run by default: per repository, the manifests no tag reaches
 * and the bytes collecting them would free, read from the filesystem storage
 * root named in the registry's config; nothing changes.
 *
 * `--apply`, in order: check every precondition (gc/preflight.ts: storage, the
 * garbage-collect command, the admin listener and which registry its proxy fronts,
 * the proxy and the credentials; a failure changes nothing) → enter the proxy's
 * read-only window → prove it guards the registry gc collects (gc/window-proof.ts)
 * → plan again (inside it) → delete the unreachable manifests by digest through the proxy → run the
 * registry's garbage-collect WITHOUT `--delete-untagged` (on 2.x it deletes the
 * untagged children of multi-arch indexes) → restart the registry if asked
 * (`--restart-command`, the cache trap) → leave the window, always: on failure,
 * SIGINT and SIGTERM too; a `gc` killed outright loses its lease, which expires.
 */
import { readFileSync } from "node:fs";
import { loadConfig } from "../config.js";
import { planEmptyRepositories, removeEmptyRepositories } from "../gc/empty-repositories.js";
import { fetchHeld, historyReport } from "../gc/history-roots.js";
import { checkBeforeWindow, GcRefusedError, type Preflight } from "../gc/preflight.js";
import { type GcProgress, progressFor } from "../gc/progress.js";
import { parseRegistryConfig, type RegistryStorage, storageProblem } from "../gc/registry-config.js";
import { type GcResult, resultJson, resultLines } from "../gc/report.js";
import {
  createManifestDeleter,
  deleteUnreachable,
  measureFreed,
  planFromStorage,
  relinkHeld,
  runCommand,
} from "../gc/steps.js";
import { scanRepositories } from "../gc/storage-scan.js";
import { enterWindow, WindowError, WindowUnauthorizedError } from "../gc/window-client.js";
import { proveWindowGuards } from "../gc/window-proof.js";
import { createRegistryClient } from "../registry-client/client.js";
import { ANONYMOUS, login } from "../registry-client/credentials.js";
import { type GcOptions, GcUsageError, resolveGcOptions } from "./gc-options.js";

export interface GcIo {
  out(text: string): void;
  /** Progress and the commands' output (stderr). */
  err(text: string): void;
  progress?: GcProgress;
}

function cacheWords(s: RegistryStorage): string {
  return s.blobDescriptorCache === null ? "off" : s.blobDescriptorCache;
}

/** Why --apply must not run with this registry, or null. */
function applyProblem(o: GcOptions, s: RegistryStorage): string | null {
  if (!s.deleteEnabled)
    return "the registry has storage.delete.enabled off: manifests cannot be deleted by digest";
  if (o.adminUrl === null)
    return "no admin listener: set metrics.port in the proxy's config, or --admin URL (an embedded-mode proxy publishes its own: is it running on this data dir?)";
  if (s.blobDescriptorCache !== null && o.restartCommand === null) {
    return (
      `storage.cache.blobdescriptor is "${s.blobDescriptorCache}": after garbage-collect a running 2.8 keeps ` +
      "answering that the deleted blobs exist, so later pushes skip them and their images break. " +
      "Turn the cache off in the registry's config, or give --restart-command CMD (run after garbage-collect)"
    );
  }
  return null;
}

/** The registry config's storage, or a usage error saying why gc cannot collect it. */
function readStorage(o: GcOptions): RegistryStorage {
  let text: string;
  try {
    text = readFileSync(o.registryConfig, "utf8");
  } catch (err) {
    throw new GcUsageError(
      `cannot read the registry's config ${o.registryConfig}: ${(err as Error).message}`,
    );
  }
  const storage = parseRegistryConfig(text);
  const problem = storageProblem(storage);
  if (problem) throw new GcUsageError(problem);
  return storage;
}

type Step = (name: string, ok: boolean, detail?: string) => boolean;

/** A dry run: the plan, with the tag history's window when the proxy can be asked (it goes on without). */
async function dryRun(o: GcOptions, root: string, shown: GcResult["storage"]): Promise<GcResult> {
  const held = o.adminUrl === null ? null : await fetchHeld(o.adminUrl, o.adminToken);
  const roots = held?.ok ? held.manifests : [];
  const plan = planFromStorage(root, roots);
  return {
    dryRun: true,
    storage: shown,
    plan,
    history: historyReport(root, held, roots, plan),
    empty: planEmptyRepositories(root, roots),
    deletes: [],
    steps: [],
    exitCode: 0,
  };
}

/** The window's proof (gc/window-proof.ts) through the proxy gc deletes through, with its credentials. */
async function proveWindow(
  o: GcOptions,
  pre: Preflight,
  lease: string,
  root: string,
  repository: string,
): Promise<string | null> {
  const client = createRegistryClient({ url: pre.registryUrl, timeoutMs: 30_000 });
  const creds = pre.credentials;
  return proveWindowGuards({
    client: client.as(creds ? login(creds.username, creds.password) : ANONYMOUS),
    registryUrl: pre.registryUrl,
    adminUrl: o.adminUrl!,
    lease,
    root,
    repository,
  }).finally(() => client.close());
}

/**
 * Inside the proven window: what the tag history's window holds is kept, the
 * untagged manifests are deleted by digest, then garbage-collect (and the
 * restart) run. Fills `result`; its exit code 0 when every step passed.
 */
async function collect(
  c: { o: GcOptions; progress: GcProgress; stop: AbortSignal; root: string; pre: Preflight; lease: string },
  result: GcResult,
  step: Step,
): Promise<GcResult> {
  const { o, progress, stop, root, pre } = c;
  // The tag history's window: what an undelete inside it needs stays (asked inside the window).
  const held = await fetchHeld(o.adminUrl!, o.adminToken);
  if (!held.ok) {
    step("read the tag history's window", false, held.why);
    return result;
  }
  const scan = progress.scanning(root);
  result.plan = planFromStorage(root, held.manifests, scan.repository);
  scan.read(result.plan);
  result.history = historyReport(root, held, held.manifests, result.plan);
  result.empty = planEmptyRepositories(root, held.manifests);
  const { relinked, lost } = relinkHeld(root, held.manifests);
  result.history.relinked = relinked.length;
  result.history.lost = lost.map((h) => `${h.repository}@${h.digest}`);
  if (relinked.length > 0) {
    step(
      "keep the window's manifests deleted by digest (revision links written again)",
      true,
      `${relinked.length}`,
    );
  }
  progress.deleting(result.plan, pre.registryUrl);
  const deleter = progress.counting(createManifestDeleter(pre.registryUrl, c.lease, pre.credentials));
  result.deletes = await deleteUnreachable(result.plan, deleter, stop);
  const failed = result.deletes.filter((d) => d.result === "failed").length;
  step(
    "delete untagged manifests by digest",
    failed === 0,
    `${result.deletes.length - failed} deleted, ${failed} failed`,
  );
  if (stop.aborted) return interrupted(result, step, stop);
  result.empty.removed = removeEmptyRepositories(root, result.empty.remove, held.manifests);
  step("remove the storage of repositories without tags", true, `${result.empty.removed.length} removed`);
  const output = progress.collecting();
  const gc = await runCommand(o.gcCommand, output, stop, {
    ...process.env,
    RCP_REGISTRY_CONFIG: o.registryConfig,
  });
  const gcOk = step("registry garbage-collect (without --delete-untagged)", gc.ok, gc.status);
  if (stop.aborted) return interrupted(result, step, stop);
  let restartOk = true;
  if (o.restartCommand !== null) {
    const restart = await runCommand({ shell: o.restartCommand }, progress.restarting(), stop);
    restartOk = step("restart the registry (blob descriptor cache)", restart.ok, restart.status);
  }
  result.freed = measureFreed(root, result.plan);
  result.exitCode = failed === 0 && gcOk && restartOk ? 0 : 1;
  return result;
}

export async function runGc(o: GcOptions, io: GcIo, stop: AbortSignal): Promise<GcResult> {
  const storage = readStorage(o);
  const root = storage.rootDirectory!;
  const shown = { driver: storage.driver, root, cache: cacheWords(storage) };
  const progress = io.progress ?? progressFor(o, io.err, {});
  if (!o.apply) return dryRun(o, root, shown);
  const refused = applyProblem(o, storage);
  if (refused) throw new GcUsageError(refused);
  // Everything that can be known before holding writes is checked first (exit 2, nothing changed).
  progress.phase(`checking the storage, the garbage-collect command, ${o.adminUrl} and the proxy`);
  // The window is proven on one repository; the plan itself is read inside the window.
  const repository = scanRepositories(root)[0]?.name ?? null;
  const pre = await checkBeforeWindow({
    root,
    registryConfig: o.registryConfig,
    gcCommand: o.gcCommand,
    adminUrl: o.adminUrl!,
    adminToken: o.adminToken,
    registryUrl: o.registryUrl,
    credentialsFor: (url) =>
      o.registryUrl !== null || !o.credentialsFor ? o.credentials : o.credentialsFor(url),
    repository,
  });
  if (repository === null) {
    progress.phase("the storage holds no repository: nothing to collect");
    const plan = planFromStorage(root);
    return { dryRun: false, storage: shown, plan, deletes: [], steps: [], exitCode: 0 };
  }

  progress.phase(`entering the read-only window on ${o.adminUrl}`);
  const window = await enterWindow(o.adminUrl!, `gc pid ${process.pid}`, o.leaseMs, o.adminToken);
  const result: GcResult = {
    dryRun: false,
    storage: shown,
    plan: { repositories: [], orphans: new Map(), bytes: 0 },
    deletes: [],
    steps: [],
    exitCode: 1,
  };
  const step: Step = (name, ok, detail = "") => {
    result.steps.push({ name, ok, detail });
    progress[ok ? "phase" : "failed"](`${name}${detail ? ` (${detail})` : ""}`);
    return ok;
  };
  try {
    if (window.gaveUpOn.length > 0) {
      const writes = window.gaveUpOn.map((w) => `${w.method} ${w.path}`).join(", ");
      step("writes finished before the window", false, `still in flight: ${writes}`);
      return result;
    }
    const problem = await proveWindow(o, pre, window.lease, root, repository);
    if (problem !== null) {
      step("the window guards the registry gc collects", false, `${problem}. Nothing was changed`);
      result.exitCode = 2;
      return result;
    }
    step("the window guards the registry gc collects", true, `${pre.registryUrl} → ${root}`);
    return await collect({ o, progress, stop, root, pre, lease: window.lease }, result, step);
  } finally {
    const manifestsDeleted = result.deletes.filter((d) => d.result === "deleted").length;
    const left = await window.leave({ manifestsDeleted, bytesFreed: result.freed?.total ?? 0 });
    step("leave the read-only window", left, left ? "" : "not answered: the lease expires by itself");
  }
}

function interrupted(r: GcResult, step: (n: string, ok: boolean, d?: string) => boolean, stop: AbortSignal) {
  step("interrupted", false, String(stop.reason ?? "signal"));
  r.exitCode = 1;
  return r;
}

/**
 * The CLI entry: returns the exit code (0 done, 1 something failed, 2 usage or
 * configuration, the admin token missing or refused included).
 */
export async function gcCommand(values: Record<string, unknown>, io: GcIo): Promise<number> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => controller.abort(signal);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const configFile = typeof values["config"] === "string" ? values["config"] : undefined;
    const o = resolveGcOptions(values, loadConfig({ file: configFile }));
    const progress = progressFor(o, io.err, process.stderr);
    const result = await runGc(o, { ...io, progress }, controller.signal);
    if (o.apply) progress.summary(result);
    if (o.json) io.out(`${resultJson(result)}\n`);
    else io.out(`${resultLines(result).join("\n")}\n`);
    return result.exitCode;
  } catch (err) {
    if (err instanceof GcUsageError) {
      io.err(`gc: ${err.message}\n`);
      return 2;
    }
    if (err instanceof GcRefusedError) {
      io.err(`gc: ${err.message}. Nothing was changed\n`);
      return 2;
    }
    if (err instanceof WindowUnauthorizedError) {
      // Refused before the window: nothing was changed.
      io.err(
        `gc: ${err.message}. Nothing was changed. Pass the proxy's admin token (metrics.adminToken) with ` +
          "--admin-token-file FILE, the ADMIN_TOKEN environment variable, or the proxy's config (--config FILE)\n",
      );
      return 2;
    }
    if (err instanceof WindowError) {
      io.err(`gc: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
