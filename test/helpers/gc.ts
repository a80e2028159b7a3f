/**
 * For the gc tests: the seed through the proxy (an image tagged `old`
 * then deleted, `new`, a multi-arch index `multi` with untagged children, an
 * artifact referring to `new`), a byte-exact snapshot of a storage folder, and
 * `gc` run in process.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { type GcOptions, GcUsageError, runGc } from "../../src/commands/gc.js";
import type { GcResult } from "../../src/gc/report.js";
import { makeArtifact, pushEmptyBlob } from "./artifacts.js";
import { request } from "./http.js";
import { type Image, makeImage, makeIndex, pushBlob, pushImage, putManifest } from "./oci.js";

export const exec = promisify(execFile);

export interface Seed {
  repo: string;
  old: Image;
  oldDigest: string;
  newDigest: string;
  multiDigest: string;
  childDigests: string[];
  artifactDigest: string;
}

export async function seedGc(base: string, repo: string, auth?: string): Promise<Seed> {
  // 6.5 MiB of random bytes: gzip cannot shrink it.
  const old = makeImage({ layerCount: 1, layerSize: 6.5 * 1024 * 1024 });
  const oldDigest = await pushImage(base, repo, old, ["old"], auth);
  const fresh = makeImage({ layerCount: 1 });
  const newDigest = await pushImage(base, repo, fresh, ["new"], auth);
  const children = [makeImage({ layerCount: 1 }), makeImage({ layerCount: 1 })];
  const childDigests: string[] = [];
  for (const child of children) {
    for (const b of [...child.layers, child.config]) await pushBlob(base, repo, b, auth);
    childDigests.push(
      await putManifest(base, repo, child.manifest.digest, child.manifest.bytes, child.mediaType, auth),
    );
  }
  const index = makeIndex(children);
  const multiDigest = await putManifest(base, repo, "multi", index.bytes, index.mediaType, auth);
  await pushEmptyBlob(base, repo, auth);
  const artifact = makeArtifact(
    { mediaType: fresh.mediaType, digest: fresh.manifest.digest, size: fresh.manifest.size },
    { artifactType: "application/vnd.example.sbom" },
  );
  const artifactDigest = await putManifest(
    base,
    repo,
    artifact.digest,
    artifact.bytes,
    artifact.mediaType,
    auth,
  );
  const del = await request("DELETE", `${base}/v2/${repo}/tags/old`, {
    headers: auth ? { authorization: auth } : {},
  });
  if (del.status !== 202) throw new Error(`DELETE tag old: ${del.status} ${del.text}`);
  return { repo, old, oldDigest, newDigest, multiDigest, childDigests, artifactDigest };
}

/** Every file under `dir` with the hash of its content. */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(p, createHash("sha256").update(readFileSync(p)).digest("hex"));
    }
  };
  walk(dir);
  return out;
}

/** Bytes of every file under `dir`. */
export function diskBytes(dir: string): number {
  let n = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else n += statSync(p).size;
    }
  };
  walk(dir);
  return n;
}

export function gcOptions(over: Partial<GcOptions> & Pick<GcOptions, "registryConfig">): GcOptions {
  return {
    apply: false,
    json: false,
    quiet: true,
    adminUrl: null,
    registryUrl: "http://127.0.0.1:1",
    gcCommand: { argv: ["docker-registry", "garbage-collect", over.registryConfig] },
    restartCommand: null,
    leaseMs: 60_000,
    credentials: null,
    ...over,
  };
}

export async function runGcForTest(o: GcOptions): Promise<{ result: GcResult; err: string }> {
  let err = "";
  const result = await runGc(o, { out: () => {}, err: (t) => (err += t) }, new AbortController().signal);
  return { result, err };
}

export { GcUsageError };
