/**
 * No spelling of a request writes where the plain path is refused (issue 24),
 * against the real docker-registry 2.8, which routes on the path decoded once
 * (registry-2.8 notes §13). fast-check generates spellings of each refused write:
 * every character of the path literal or percent-encoded (either hex case, or
 * twice), with now and then a `;`, an empty segment or a `/./` slipped in at a
 * segment's edge. Each spelling goes to the proxy, and must not succeed:
 *
 * - a PUT to an immutable tag and a DELETE by digest of an immutable tag's
 *   manifest (plain: 403);
 * - a manifest PUT and an upload POST while `gc` holds the read-only window
 *   (plain: 503), on the replica that entered it, on a second replica that holds
 *   it through Redis, and on that replica with Redis down.
 *
 * A spelling the registry reads as the plain path must get the plain path's answer
 * or a 400 refusal; afterwards the registry's storage shows nothing written.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { request } from "../helpers/http.js";
import { MT } from "../helpers/oci.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { emptyIndex, errorCode, seed } from "../helpers/tags.js";

const REPO = "spell/app";

/** Go's `url.unescape` in path mode: what the registry routes on (null: Go answers 400). */
function goPath(raw: string): string | null {
  if (/%(?![0-9a-fA-F]{2})/.test(raw)) return null;
  return raw.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

/**
 * A spelling of `path` (see the module comment). Each character is literal or
 * encoded once (either hex case); at most one is encoded twice and at most two
 * structural changes are made, each in some spellings only, so that many spellings
 * are ones the registry reads as the plain path (noSpellingWrites checks that).
 */
function spellingOf(path: string): fc.Arbitrary<string> {
  const chars = [...path.slice(1)];
  const one = (ch: string) => {
    const hex = ch.charCodeAt(0).toString(16).padStart(2, "0");
    return fc.constantFrom(ch, ch, ch, `%${hex}`, `%${hex.toUpperCase()}`);
  };
  // Structural changes, only where a segment starts: `//`, `/./`, `;/`, `%3b/`, `%2f`.
  const extra = fc.constantFrom("/", "./", ";", "%3b", "%2f");
  const slashes = chars.flatMap((c, i) => (c === "/" ? [i] : []));
  const twice = fc.oneof(
    { arbitrary: fc.constant(null), weight: 4 },
    { arbitrary: fc.nat(chars.length - 1), weight: 1 },
  );
  const inserts = fc.oneof(
    { arbitrary: fc.constant([] as Array<[number, string]>), weight: 2 },
    {
      arbitrary: fc.array(fc.tuple(fc.constantFrom(...slashes), extra), { minLength: 1, maxLength: 2 }),
      weight: 1,
    },
  );
  return fc.tuple(fc.tuple(...chars.map(one)), twice, inserts).map(([spelt, doubled, changes]) => {
    const out = [...spelt];
    if (doubled !== null) out[doubled] = `%25${chars[doubled]!.charCodeAt(0).toString(16).padStart(2, "0")}`;
    // From the last position back, so earlier positions stay where they were.
    for (const [at, what] of [...changes].sort((a, b) => b[0] - a[0])) {
      out.splice(what === ";" || what === "%3b" ? at : at + 1, 0, what);
    }
    return `/${out.join("")}`;
  });
}

interface Write {
  method: string;
  path: string;
  body?: Buffer;
  /** The plain path's answer. */
  plain: number;
}

/** Sends every generated spelling of `write` to `base`; none may succeed. */
async function noSpellingWrites(base: string, write: Write, numRuns: number): Promise<void> {
  const send = (path: string) =>
    request(write.method, `${base}${path}`, {
      headers: write.body ? { "content-type": MT.ociIndex } : {},
      ...(write.body ? { body: write.body } : {}),
    });
  const plain = await send(write.path);
  assert.equal(plain.status, write.plain, `plain ${write.method} ${write.path}: ${plain.text}`);
  let readAsPlain = 0;
  await fc.assert(
    fc.asyncProperty(spellingOf(write.path), async (spelt) => {
      const res = await send(spelt);
      assert.ok(res.status >= 300, `${write.method} ${spelt} answered ${res.status}`);
      if (goPath(spelt) === write.path && spelt !== write.path) {
        readAsPlain++;
        // The registry serves this spelling as the plain route: the plain answer, or refused.
        const same = res.status === write.plain && errorCode(res) === errorCode(plain);
        assert.ok(same || res.status === 400, `${write.method} ${spelt}: ${res.status} ${res.text}`);
      }
    }),
    // A write that got through changes the registry: shrinking after it would mislead.
    { numRuns, endOnFailure: true },
  );
  // Not vacuous: many of the spellings sent are ones the registry routes as the plain path.
  assert.ok(
    readAsPlain >= numRuns / 10,
    `only ${readAsPlain} of ${numRuns} spellings read as the plain path`,
  );
}

async function digestOf(base: string, tag: string): Promise<string | undefined> {
  const res = await request("HEAD", `${base}/v2/${REPO}/manifests/${tag}`, {
    headers: { accept: MT.ociIndex },
  });
  return res.status === 200 ? (res.headers["docker-content-digest"] as string) : undefined;
}

function uploadsIn(registry: TestRegistry): string[] {
  const dir = join(registry.dir, "storage", "docker", "registry", "v2", "repositories", REPO, "_uploads");
  return existsSync(dir) ? readdirSync(dir) : [];
}

async function enter(admin: string): Promise<string> {
  const res = await request("POST", `${admin}/admin/read-only`, {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ holder: "spelling-test", leaseMs: 120_000 }),
  });
  assert.equal(res.status, 200, res.text);
  return res.json<{ lease: { id: string } }>().lease.id;
}

describe("no spelling of a refused write succeeds (real registry, two replicas on Redis)", () => {
  let registry: TestRegistry;
  let redis: TestRedis;
  let a: TestProxy;
  let b: TestProxy;
  let immutableDigest: string;

  before(async () => {
    registry = await startRegistry();
    redis = await startRedis();
    const config = {
      tags: { immutable: ["v*"] },
      metrics: { port: 0 },
      state: { redisUrl: redis.url },
      maintenance: { writeWaitMs: 10_000 },
      log: { level: "warn" },
    };
    a = await startProxy(registry.url, config);
    b = await startProxy(registry.url, config);
    immutableDigest = await seed(registry.url, REPO, ["v1.0", "keep"]);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await redis?.dispose();
    await registry?.stop();
  });

  it("the registry itself writes through such spellings (what the proxy must not let past)", async () => {
    const res = await request("PUT", `${registry.url}/%762/${REPO}/%6danifests/direct`, {
      headers: { "content-type": MT.ociIndex },
      body: emptyIndex("direct"),
    });
    assert.equal(res.status, 201, res.text);
  });

  it("PUT to an immutable tag and DELETE by digest of its manifest: no spelling succeeds; v1.0 keeps its digest", async () => {
    await noSpellingWrites(
      a.url,
      { method: "PUT", path: `/v2/${REPO}/manifests/v1.0`, body: emptyIndex("moved"), plain: 403 },
      100,
    );
    await noSpellingWrites(
      a.url,
      { method: "DELETE", path: `/v2/${REPO}/manifests/${immutableDigest}`, plain: 403 },
      100,
    );
    assert.equal(await digestOf(registry.url, "v1.0"), immutableDigest);
    assert.equal(await digestOf(registry.url, "keep"), immutableDigest);
  });

  it("while gc holds the read-only window: no spelling of a manifest PUT or upload POST succeeds, on either replica, and with Redis down", async () => {
    const lease = await enter(a.proxy.metricsUrl()!);
    try {
      const writes: Write[] = [
        { method: "PUT", path: `/v2/${REPO}/manifests/held`, body: emptyIndex("held"), plain: 503 },
        { method: "POST", path: `/v2/${REPO}/blobs/uploads/`, plain: 503 },
      ];
      for (const proxy of [a, b]) for (const w of writes) await noSpellingWrites(proxy.url, w, 40);
      await redis.stop();
      try {
        for (const w of writes) await noSpellingWrites(b.url, w, 40);
      } finally {
        await redis.start();
      }
      assert.equal(await digestOf(registry.url, "held"), undefined, "no manifest was written");
      assert.deepEqual(uploadsIn(registry), [], "no upload was started");
    } finally {
      await request("DELETE", `${a.proxy.metricsUrl()!}/admin/read-only/${lease}`);
    }
  });
});
