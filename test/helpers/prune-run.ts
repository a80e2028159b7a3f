/**
 * Running `prune` in tests: as a function (captured output), its registry
 * client optionally wrapped (a tag moved at the right moment, small catalog
 * pages), and pulling an image back by digest to prove it survived.
 */
import assert from "node:assert/strict";
import { connectPrune, type PruneRun, runPrune } from "../../src/commands/prune.js";
import { parsePruneOptions, type RawPruneArgs } from "../../src/prune/options.js";
import type { RegistryCalls } from "../../src/registry-client/client.js";
import { request } from "./http.js";
import { ALL_MANIFEST_TYPES, sha256 } from "./oci.js";

export interface PruneResult {
  run: PruneRun;
  /** stdout as text. */
  text: string;
  /** stdout parsed as JSON lines (with `json: true`). */
  lines: Array<Record<string, unknown>>;
  stderr: string;
}

export async function runPruneForTest(
  registry: string,
  args: Partial<RawPruneArgs> & { catalogPageSize?: number },
  options: { env?: NodeJS.ProcessEnv; wrap?: (registry: RegistryCalls) => RegistryCalls; now?: Date } = {},
): Promise<PruneResult> {
  const { catalogPageSize, ...rest } = args;
  const raw: RawPruneArgs = {
    registry,
    repos: [],
    match: [],
    exclude: [],
    apply: false,
    dryRun: false,
    json: true,
    showKept: false,
    quiet: false,
    rest: [],
    ...rest,
  };
  const parsed = parsePruneOptions(raw, { env: options.env ?? {}, home: "/nonexistent" });
  const out: string[] = [];
  const err: string[] = [];
  const connected = connectPrune(parsed);
  const wrapped = options.wrap ? options.wrap(connected.registry) : connected.registry;
  // Small catalog pages, to follow its Link pages with few repositories.
  const reg: RegistryCalls = catalogPageSize
    ? { ...wrapped, catalog: (o) => wrapped.catalog({ ...o, pageSize: catalogPageSize }) }
    : wrapped;
  let run: PruneRun;
  try {
    run = await runPrune(
      parsed,
      {
        stdout: { write: (s) => out.push(s) },
        stderr: { write: (s) => err.push(s) },
        stderrIsTTY: false,
        now: () => options.now ?? new Date(),
      },
      reg,
    );
  } finally {
    await connected.close();
  }
  const text = out.join("");
  const lines = raw.json
    ? text
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    : [];
  return { run, text, lines, stderr: err.join("") };
}

export { tagsOf } from "./tag-delete.js";

/** The digest `repo:tag` points at (HEAD with every manifest type accepted), or null. */
export async function digestOf(base: string, repo: string, tag: string): Promise<string | null> {
  const res = await request("HEAD", `${base}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: ALL_MANIFEST_TYPES },
  });
  if (res.status === 404) return null;
  assert.equal(res.status, 200);
  return res.headers["docker-content-digest"] as string;
}

/** Pulls a manifest by digest and everything it references (children, config, layers), checking digests. */
export async function pullByDigest(base: string, repo: string, digest: string): Promise<void> {
  const m = await request("GET", `${base}/v2/${repo}/manifests/${digest}`, {
    headers: { accept: ALL_MANIFEST_TYPES },
  });
  assert.equal(m.status, 200, `manifest ${repo}@${digest}: ${m.status} ${m.text}`);
  assert.equal(sha256(m.body), digest);
  const doc = m.json<{
    manifests?: Array<{ digest: string }>;
    config?: { digest: string };
    layers?: Array<{ digest: string }>;
  }>();
  for (const child of doc.manifests ?? []) await pullByDigest(base, repo, child.digest);
  for (const blob of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) {
    const b = await request("GET", `${base}/v2/${repo}/blobs/${blob.digest}`);
    assert.equal(b.status, 200, `blob ${repo}@${blob.digest}: ${b.status}`);
    assert.equal(sha256(b.body), blob.digest);
  }
}
