/**
 * What `gc --apply` checks before it takes the read-only window, so that a run
 * that cannot finish never holds writes and changes nothing: each failure says
 * what to fix (and gc exits 2).
 *
 *   storage           the root is a folder gc can read and garbage-collect can write
 *   gc command        its binary is there and runs (`--version`), or its path is executable
 *   admin listener    reachable with the admin token; it says which registry it fronts
 *                     (GET /admin/upstream), which must be the one the registry config
 *                     describes when the proxy knows its storage (embedded mode)
 *   proxy             its API (from the admin listener, or --registry) answers `/v2/` with
 *                     the credentials gc will use, and they may delete there; a few tags
 *                     read from the storage resolve to the same digests through it (a
 *                     proxy in front of another registry is refused without a write)
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, realpathSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { type AdminIdentity, proxyUrlFor } from "../ops/admin-identity.js";
import { findExecutable } from "../registry/binary.js";
import { createRegistryClient, type RegistryCalls } from "../registry-client/client.js";
import type { FoundLogin } from "../registry-client/credential-sources.js";
import { ANONYMOUS, login } from "../registry-client/credentials.js";
import { describeFailure, errorText, isFailed, registryError } from "../registry-client/failure.js";
import { scanRepositories } from "./storage-scan.js";
import { fetchIdentity } from "./window-client.js";

/** Tags compared between the storage and the proxy. */
const TAG_SAMPLE = 8;

/** A precondition not met: nothing was changed (exit 2). */
export class GcRefusedError extends Error {
  override readonly name = "GcRefusedError";
}

export interface PreflightInput {
  /** storage.filesystem.rootdirectory of the registry config. */
  root: string;
  registryConfig: string;
  gcCommand: { argv: readonly string[] } | { shell: string };
  adminUrl: string;
  adminToken: string | null;
  /** --registry, or null: learned from the admin listener. */
  registryUrl: string | null;
  /** The credentials for the proxy at `url`. */
  credentialsFor(url: URL): FoundLogin | null;
  /** A repository of the storage (the delete permission is checked there); null: the storage holds none. */
  repository: string | null;
}

export interface Preflight {
  identity: AdminIdentity;
  /** Where gc deletes (and proves the window): --registry, or the proxy's API from the admin listener. */
  registryUrl: string;
  credentials: FoundLogin | null;
}

const refuse = (message: string): never => {
  throw new GcRefusedError(message);
};

/**
 * The storage root holds the registry's layout, readable, and writable for
 * garbage-collect (`empty`: a registry that stored nothing yet has only its root).
 */
export function checkStorage(root: string, empty: boolean): void {
  const v2 = join(root, "docker", "registry", "v2");
  for (const dir of empty ? [root] : [v2, join(v2, "repositories"), join(v2, "blobs")]) {
    try {
      if (!statSync(dir).isDirectory()) refuse(`${dir} is not a folder`);
      accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
    } catch (err) {
      if (err instanceof GcRefusedError) throw err;
      refuse(
        `the registry's storage ${dir} cannot be read and written here (${(err as Error).message}): run gc where ` +
          "the storage is mounted, as a user that may write it (garbage-collect deletes blobs there)",
      );
    }
  }
}

/** The garbage-collect command can run: its binary exists (and answers --version), or its path is executable. */
export function checkGcCommand(command: { argv: readonly string[] } | { shell: string }): void {
  if ("argv" in command) {
    const binary = command.argv[0]!;
    const found = findExecutable(binary);
    if (found === null)
      refuse(`cannot find ${binary} (for garbage-collect) on PATH: install it, or give --gc-command CMD`);
    const run = spawnSync(found!, ["--version"], { timeout: 30_000, stdio: ["ignore", "pipe", "pipe"] });
    if (run.error || run.status !== 0) {
      const why = run.error?.message ?? `exit ${run.status ?? run.signal}`;
      refuse(`${found} --version does not run (${why}): garbage-collect could not run either`);
    }
    return;
  }
  if (findExecutable("sh", "/bin:/usr/bin") === null) refuse("no /bin/sh to run --gc-command");
  // A command named by its path (deploy/kubernetes-gc: /tools/registry garbage-collect ...).
  const first = /^\s*([^\s;&|<>'"`$()]+)/.exec(command.shell)?.[1];
  if (first?.includes("/") && findExecutable(first) === null)
    refuse(`--gc-command names ${first}, which is not an executable file here`);
}

function samePath(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  return real(a) === real(b);
}

/** The proxy's API answers with gc's credentials, and they may delete in `repository`. */
/**
 * A sample of the tags the storage holds (spread over its repositories) must name
 * the same manifests through the proxy: a proxy in front of another registry shows
 * here, before the window, with nothing written. (A tag pushed again in between
 * shows too: run gc again.)
 */
async function checkSameTags(client: RegistryCalls, url: string, root: string): Promise<void> {
  const tagged = scanRepositories(root).flatMap((r) =>
    [...r.tags].map(([tag, digest]) => ({ r, tag, digest })),
  );
  const step = Math.max(1, Math.floor(tagged.length / TAG_SAMPLE));
  for (let k = 0; k < tagged.length && k / step < TAG_SAMPLE; k += step) {
    const { r, tag, digest } = tagged[k]!;
    const seen = await client.manifestHead(r.name, tag);
    const got =
      seen === null ? "no such tag" : isFailed(seen) ? describeFailure(seen) : (seen.digest ?? "no digest");
    if (got !== digest) {
      refuse(
        `${r.name}:${tag} is ${digest} in the storage gc reads (${root}) but ${got} through the proxy at ${url}: ` +
          "that proxy does not front the registry of this config. Give the registry config of the registry it " +
          "fronts (--registry-config), or the proxy in front of this one (--admin, --registry)",
      );
    }
  }
}

async function checkProxy(
  client: RegistryCalls,
  url: string,
  repository: string | null,
  root: string,
): Promise<void> {
  const what = (status: number, body: Buffer) => {
    const { text } = errorText(body);
    return `${status}${text ? ` ${text}` : ""}`;
  };
  const ping = await client.ping();
  if (isFailed(ping) && ping.kind !== "status")
    return refuse(`cannot reach the proxy at ${url} (${describeFailure(ping)}): give --registry URL`);
  if (ping === 401 || (isFailed(ping) && ping.status === 401))
    refuse(
      `the proxy at ${url} answered 401 to GET /v2/: give credentials that the registry accepts ` +
        "(--username/--password, REGISTRY_USERNAME/REGISTRY_PASSWORD or the docker/podman auth file)",
    );
  if (isFailed(ping)) refuse(`the proxy at ${url} answered GET /v2/ with ${what(ping.status, ping.body)}`);
  if (repository === null) return;
  await checkSameTags(client, url, root);
  // Writes nothing: the zero digest never exists (404 when deletes are allowed).
  const zero = `sha256:${"0".repeat(64)}`;
  const answer = await client.manifestDelete(repository, zero);
  if (isFailed(answer) && answer.kind !== "status")
    throw registryError(`DELETE ${repository}@${zero}`, answer);
  const probe = answer as { status: number; body: Buffer };
  if (probe.status === 404) return;
  if (probe.status === 401 || probe.status === 403)
    refuse(
      `the credentials may not delete in ${repository} at ${url} (${what(probe.status, probe.body)}): ` +
        "gc deletes untagged manifests by digest",
    );
  if (probe.status === 405)
    refuse(`the registry behind ${url} has deletes disabled (${what(probe.status, probe.body)})`);
  refuse(`a delete through ${url} is not possible now: ${what(probe.status, probe.body)}`);
}

/** Runs every check; the proxy's API URL and the credentials for it come back. */
export async function checkBeforeWindow(i: PreflightInput): Promise<Preflight> {
  checkStorage(i.root, i.repository === null);
  checkGcCommand(i.gcCommand);
  const identity = await fetchIdentity(i.adminUrl, i.adminToken).catch((err: Error) => {
    if (err.name === "WindowUnauthorizedError") throw err;
    return refuse(err.message);
  });
  if (identity.embedded !== null && !samePath(identity.embedded.storage, i.root)) {
    refuse(
      `the proxy whose admin listener is ${i.adminUrl} fronts its embedded registry, which stores in ` +
        `${identity.embedded.storage} (config ${identity.embedded.registryConfig}), but the registry config ` +
        `${i.registryConfig} stores in ${i.root}: its window would not hold the writes of the registry gc ` +
        "collects. Give that registry's config, or the admin listener (--admin) of the proxy in front of it",
    );
  }
  const registryUrl = i.registryUrl ?? proxyUrlFor(identity, i.adminUrl);
  let credentials: FoundLogin | null;
  try {
    credentials = i.credentialsFor(new URL(registryUrl));
  } catch (err) {
    return refuse((err as Error).message);
  }
  const client = createRegistryClient({ url: registryUrl, timeoutMs: 30_000 });
  try {
    const reg = client.as(credentials ? login(credentials.username, credentials.password) : ANONYMOUS);
    await checkProxy(reg, registryUrl, i.repository, i.root);
  } finally {
    await client.close();
  }
  return { identity, registryUrl, credentials };
}
