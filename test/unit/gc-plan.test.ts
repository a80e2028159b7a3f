import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { runGc } from "../../src/commands/gc.js";
import { GcUsageError, resolveGcOptions } from "../../src/commands/gc-options.js";
import { loadConfig } from "../../src/config.js";
import {
  type ManifestRefs,
  manifestRefs,
  planCollection,
  type RepositoryGraph,
  reachOf,
} from "../../src/gc/reachability.js";
import { parseRegistryConfig, storageProblem } from "../../src/gc/registry-config.js";

const d = (c: string) => `sha256:${c.repeat(64)}`;
const refs = (o: Partial<ManifestRefs> = {}): ManifestRefs => ({
  children: [],
  blobs: [],
  subject: null,
  ...o,
});

function graph(tags: Record<string, string>, manifests: Record<string, ManifestRefs>): RepositoryGraph {
  return {
    name: "r",
    revisions: Object.keys(manifests),
    tags: new Map(Object.entries(tags)),
    manifests: new Map(Object.entries(manifests)),
  };
}

describe("reachability", () => {
  it("tags reach their manifests and an index reaches its untagged children", () => {
    const g = graph(
      { multi: d("1") },
      {
        [d("1")]: refs({ children: [d("2"), d("3")] }),
        [d("2")]: refs(),
        [d("3")]: refs(),
        [d("4")]: refs(),
      },
    );
    assert.deepEqual(reachOf(g).unreachable, [d("4")]);
  });

  it("a referrer is reachable when its subject is, also a referrer of a referrer; not when its subject is not", () => {
    const g = graph(
      { app: d("1") },
      {
        [d("1")]: refs(),
        [d("2")]: refs({ subject: d("1") }),
        [d("3")]: refs({ subject: d("2") }),
        [d("5")]: refs(),
        [d("6")]: refs({ subject: d("5") }),
      },
    );
    assert.deepEqual(reachOf(g).unreachable, [d("5"), d("6")]);
  });

  it("a referrers tag (sha256-<hex>) is no root: its index is reachable only while its subject is", () => {
    const live = `sha256-${"1".repeat(64)}`;
    const dead = `sha256-${"5".repeat(64)}`;
    const g = graph(
      { app: d("1"), [live]: d("7"), [dead]: d("8") },
      {
        [d("1")]: refs(),
        [d("5")]: refs(),
        [d("7")]: refs({ children: [d("2")] }),
        [d("2")]: refs({ subject: d("1") }),
        [d("8")]: refs({ children: [d("6")] }),
        [d("6")]: refs({ subject: d("5") }),
      },
    );
    assert.deepEqual(reachOf(g).unreachable, [d("5"), d("6"), d("8")]);
    const plan = planCollection([g], [], () => 1);
    assert.equal(plan.repositories[0]!.unreachable[0], d("8"), "the referrers index is deleted first");
  });

  it("bytes freed: blobs only unreachable manifests refer to, never one a remaining manifest (any repository) keeps", () => {
    const shared = d("a");
    const a = {
      ...graph(
        { t: d("1") },
        { [d("1")]: refs({ blobs: [shared] }), [d("2")]: refs({ blobs: [shared, d("b")] }) },
      ),
      name: "a",
    };
    const b = { ...graph({}, { [d("3")]: refs({ blobs: [d("b"), d("c")] }) }), name: "b" };
    const sizes: Record<string, number> = {
      [d("1")]: 1,
      [d("2")]: 2,
      [d("3")]: 3,
      [shared]: 10,
      [d("b")]: 20,
      [d("c")]: 30,
      [d("f")]: 40,
    };
    const plan = planCollection([a, b], Object.keys(sizes), (x) => sizes[x] ?? null);
    assert.deepEqual([...plan.repositories[0]!.freed.keys()].sort(), [d("2"), d("b")].sort());
    assert.deepEqual(
      [...plan.repositories[1]!.freed.keys()].sort(),
      [d("3"), d("c")].sort(),
      "b is counted once",
    );
    assert.deepEqual([...plan.orphans.keys()], [d("f")]);
    assert.equal(plan.bytes, 2 + 20 + 3 + 30 + 40);
  });

  it("manifestRefs reads config, layers, index children, subject; garbage refers to nothing", () => {
    const m = manifestRefs(
      JSON.stringify({
        config: { digest: d("1") },
        layers: [{ digest: d("2") }],
        subject: { digest: d("3") },
      }),
    );
    assert.deepEqual(m, { children: [], blobs: [d("1"), d("2")], subject: d("3") });
    assert.deepEqual(manifestRefs(JSON.stringify({ manifests: [{ digest: d("4") }] })).children, [d("4")]);
    assert.deepEqual(manifestRefs("not json"), refs());
  });
});

describe("the registry's config", () => {
  it("filesystem root, delete and the blob descriptor cache", () => {
    const s = parseRegistryConfig(
      "version: 0.1\nstorage:\n  cache:\n    blobdescriptor: inmemory\n  filesystem:\n    rootdirectory: /srv/reg\n  delete:\n    enabled: true\n",
    );
    assert.deepEqual(s, {
      driver: "filesystem",
      rootDirectory: "/srv/reg",
      deleteEnabled: true,
      blobDescriptorCache: "inmemory",
    });
    assert.equal(storageProblem(s), null);
    assert.equal(parseRegistryConfig("storage:\n  filesystem: {}\n").rootDirectory, "/var/lib/registry");
  });

  it("another storage driver: gc says plainly what it cannot see", () => {
    const s = parseRegistryConfig("storage:\n  s3:\n    bucket: b\n  delete:\n    enabled: true\n");
    assert.equal(s.driver, "s3");
    assert.match(storageProblem(s)!, /storage driver "s3".*cannot list|sees nothing/);
  });
});

describe("gc --apply refuses what would break images", () => {
  const dir = mkdtempSync(join(tmpdir(), "rcp-gc-unit-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const storage = `  filesystem:\n    rootdirectory: ${join(dir, "storage")}\n  delete:\n    enabled: true\n`;
  const base = {
    apply: true,
    json: false,
    quiet: true,
    adminUrl: "http://127.0.0.1:1",
    adminToken: null,
    registryUrl: "http://127.0.0.1:1",
    gcCommand: { shell: "false" },
    restartCommand: null,
    leaseMs: 1000,
    credentials: null,
  };
  const run = (registryConfig: string, over = {}) =>
    runGc({ ...base, registryConfig, ...over }, { out() {}, err() {} }, new AbortController().signal);

  it("the inmemory blob descriptor cache without --restart-command: refused before the window", async () => {
    const config = write("cache.yml", `storage:\n  cache:\n    blobdescriptor: inmemory\n${storage}`);
    await assert.rejects(
      run(config),
      (err: Error) => err instanceof GcUsageError && /blobdescriptor.*restart-command/s.test(err.message),
    );
  });

  it("deletes disabled, no admin listener, another driver, a missing config: refused", async () => {
    await assert.rejects(
      run(write("nodelete.yml", `storage:\n  filesystem:\n    rootdirectory: ${dir}\n`)),
      /delete\.enabled/,
    );
    await assert.rejects(run(write("ok.yml", `storage:\n${storage}`), { adminUrl: null }), /metrics\.port/);
    await assert.rejects(
      run(write("s3.yml", "storage:\n  s3: {}\n"), { apply: false }),
      /storage driver "s3"/,
    );
    await assert.rejects(run(join(dir, "missing.yml")), GcUsageError);
  });

  it("embedded mode needs no flags: the registry config, the binary and the admin URL come from the proxy's config; the proxy's own URL has no default (the admin listener names it)", () => {
    const config = loadConfig({
      env: {},
      overrides: { embedded: { dataDir: "/data" }, metrics: { port: 9090 } },
    });
    const o = resolveGcOptions({ apply: true }, config, {});
    assert.equal(o.registryConfig, "/data/registry/config.yml");
    assert.equal(o.adminUrl, "http://127.0.0.1:9090");
    assert.equal(o.registryUrl, null);
    assert.equal(
      resolveGcOptions({ apply: true, registry: "http://p:1" }, config, {}).registryUrl,
      "http://p:1",
    );
    assert.deepEqual(o.gcCommand, {
      argv: ["docker-registry", "garbage-collect", "/data/registry/config.yml"],
    });
    const external = loadConfig({ env: {}, overrides: { upstream: { url: "http://registry:5000" } } });
    assert.throws(() => resolveGcOptions({}, external, {}), /--registry-config/);
    const flags = resolveGcOptions(
      { "registry-config": "/r.yml", username: "u", password: "p" },
      external,
      {},
    );
    assert.deepEqual(flags.credentials, { username: "u", password: "p", source: "flags" });
    assert.throws(
      () => resolveGcOptions({ "registry-config": "/r.yml", username: "u" }, external, {}),
      /go together/,
    );
  });
});
