/**
 * The one registry client (src/registry-client/) against docker-registry 2.8.2:
 * its noun-verb calls on an open registry, and its one auth flow with each kind
 * of credentials: a caller's own headers (a 401 comes back unanswered), a login
 * answering Basic (learned once per origin) and Bearer challenges (one token per
 * login and scope, never shared between logins), anonymous tokens, and a token
 * realm that refuses. Redirects and their credentials on a scripted origin pair.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { createRegistryClient, type RegistryClient } from "../../src/registry-client/client.js";
import { ANONYMOUS, asCaller, login, PLAIN } from "../../src/registry-client/credentials.js";
import { isFailed } from "../../src/registry-client/failure.js";
import { startFakeUpstream } from "../helpers/fake-upstream.js";
import { createHtpasswd, type Htpasswd } from "../helpers/htpasswd.js";
import { makeImage, pushImage } from "../helpers/oci.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { startTokenServer, type TokenServer } from "../helpers/token-server.js";

function clientFor(url: string): RegistryClient {
  return createRegistryClient({ url, timeoutMs: 10_000 });
}

describe("registry client: the calls on an open registry", () => {
  let registry: TestRegistry;
  let client: RegistryClient;
  const image = makeImage({ layerCount: 1 });

  before(async () => {
    registry = await startRegistry();
    client = clientFor(registry.url);
    await pushImage(registry.url, "rc/app", image, ["v1", "v2"]);
    await pushImage(registry.url, "rc/other", image, ["x"]);
  });
  after(async () => {
    await client?.close();
    await registry?.stop();
  });

  it("ping answers 200; catalog follows its Link pages; tagList lists every tag", async () => {
    const reg = client.as(PLAIN);
    assert.equal(await reg.ping(), 200);
    assert.deepEqual(await reg.catalog({ pageSize: 1 }), ["rc/app", "rc/other"]);
    assert.deepEqual([...((await reg.tagList("rc/app")) as string[])].sort(), ["v1", "v2"]);
    const unknown = await reg.tagList("rc/none");
    assert.ok(isFailed(unknown) && unknown.kind === "status");
    assert.equal(unknown.status, 404);
    assert.equal(unknown.code, "NAME_UNKNOWN");
  });

  it("manifestHead and manifestGet give the stored digest, type and bytes; null when absent", async () => {
    const reg = client.as(PLAIN);
    assert.deepEqual(await reg.manifestHead("rc/app", "v1"), {
      digest: image.manifest.digest,
      mediaType: image.mediaType,
    });
    const got = await reg.manifestGet("rc/app", "v1");
    assert.ok(got && !isFailed(got));
    assert.equal(got.digest, image.manifest.digest);
    assert.deepEqual(got.bytes, image.manifest.bytes);
    assert.equal(await reg.manifestHead("rc/app", "nope"), null);
    assert.equal(await reg.manifestGet("rc/app", "nope"), null);
  });

  it("manifestPut checks the digest stored; manifestDelete answers the registry's 202", async () => {
    const reg = client.as(PLAIN);
    const put = await reg.manifestPut("rc/app", "v3", {
      bytes: image.manifest.bytes,
      mediaType: image.mediaType,
      digest: image.manifest.digest,
    });
    assert.deepEqual(put, { digest: image.manifest.digest });
    const wrong = await reg.manifestPut("rc/app", "v4", {
      bytes: image.manifest.bytes,
      mediaType: image.mediaType,
      digest: `sha256:${"0".repeat(64)}`,
    });
    assert.ok(isFailed(wrong) && wrong.kind === "digest-mismatch");
    await pushImage(registry.url, "rc/gone", image, ["t"]);
    const deleted = await reg.manifestDelete("rc/gone", image.manifest.digest);
    assert.ok(!isFailed(deleted));
    assert.equal(deleted.status, 202);
    const again = await reg.manifestDelete("rc/gone", image.manifest.digest);
    assert.ok(isFailed(again) && again.kind === "status" && again.status === 404);
  });

  it("blobHead gives the size; blobGet the bytes; a missing blob is null or a 404", async () => {
    const reg = client.as(PLAIN);
    const config = image.config;
    assert.deepEqual(await reg.blobHead("rc/app", config.digest), { size: config.bytes.length });
    assert.deepEqual(await reg.blobGet("rc/app", config.digest), config.bytes);
    const missing = `sha256:${"1".repeat(64)}`;
    assert.equal(await reg.blobHead("rc/app", missing), null);
    const gone = await reg.blobGet("rc/app", missing);
    assert.ok(isFailed(gone) && gone.kind === "status" && gone.status === 404);
  });

  it("a registry that does not answer is a network failure naming the call", async () => {
    const dead = clientFor("http://127.0.0.1:9");
    try {
      const res = await dead.as(PLAIN).manifestHead("a", "b");
      assert.ok(isFailed(res) && res.kind === "network");
      assert.equal(res.error.kind, "unreachable");
      assert.equal(res.where, "HEAD http://127.0.0.1:9/v2/a/manifests/b");
    } finally {
      await dead.close();
    }
  });
});

describe("registry client: Basic auth (htpasswd)", () => {
  let htpasswd: Htpasswd;
  let registry: TestRegistry;

  before(async () => {
    htpasswd = createHtpasswd({ alice: "pw" });
    registry = await startRegistry({ htpasswdFile: htpasswd.file });
    await pushImage(registry.url, "basic/app", makeImage({ layerCount: 1 }), ["v1"], htpasswd.basic("alice"));
  });
  after(async () => {
    await registry?.stop();
    htpasswd?.cleanup();
  });

  it("a caller's 401 comes back with the challenge, unanswered; its own Authorization passes", async () => {
    const client = clientFor(registry.url);
    try {
      const refused = await client.as(PLAIN).manifestHead("basic/app", "v1");
      assert.ok(isFailed(refused) && refused.kind === "status");
      assert.equal(refused.status, 401);
      assert.match(String(refused.headers["www-authenticate"]), /^Basic /);
      const own = await client
        .as(asCaller({ authorization: htpasswd.basic("alice") }))
        .manifestHead("basic/app", "v1");
      assert.ok(own && !isFailed(own));
    } finally {
      await client.close();
    }
  });

  it("a login answers the Basic challenge once, then sends Basic up front", async () => {
    const fake = await startFakeUpstream(registry.url);
    const client = clientFor(fake.url);
    try {
      const reg = client.as(login("alice", "pw"));
      assert.deepEqual(await reg.tagList("basic/app"), ["v1"]);
      assert.deepEqual(
        fake.requests.map((r) => r.authScheme ?? "none"),
        ["none", "Basic"],
      );
      fake.clearRequests();
      assert.ok(!isFailed(await reg.manifestHead("basic/app", "v1")));
      assert.deepEqual(
        fake.requests.map((r) => r.authScheme ?? "none"),
        ["Basic"],
      );
      const wrong = await client.as(login("alice", "nope")).tagList("basic/app");
      assert.ok(isFailed(wrong) && wrong.kind === "status" && wrong.status === 401);
    } finally {
      await client.close();
      await fake.stop();
    }
  });
});

describe("registry client: Bearer tokens (distribution token auth)", () => {
  let tokens: TokenServer;
  let registry: TestRegistry;
  let client: RegistryClient;

  before(async () => {
    tokens = await startTokenServer({
      users: {
        bob: { password: "pw", repositories: { "*": ["pull", "push", "delete"] }, catalog: true },
        carol: { password: "pw", repositories: { "tok/app": ["pull"] } },
      },
      anonymous: { "tok/app": ["pull"] },
    });
    registry = await startRegistry({ token: tokens.registryAuth });
    const push = tokens.issue("bob", [{ type: "repository", name: "tok/app", actions: ["pull", "push"] }]);
    await pushImage(registry.url, "tok/app", makeImage({ layerCount: 1 }), ["a", "b"], `Bearer ${push}`);
    client = clientFor(registry.url);
  });
  after(async () => {
    await client?.close();
    await registry?.stop();
    await tokens?.stop();
  });

  it("one token per login and scope, reused by every later call of that login", async () => {
    const start = tokens.requests().length;
    const reg = client.as(login("bob", "pw"));
    assert.deepEqual([...((await reg.tagList("tok/app")) as string[])].sort(), ["a", "b"]);
    await Promise.all(["a", "b", "a", "b"].map((t) => reg.manifestHead("tok/app", t)));
    assert.ok(!isFailed(await reg.catalog()));
    const asked = tokens.requests().slice(start);
    assert.deepEqual(asked.map((q) => `${q.account} ${q.scopes.join(" ")}`).sort(), [
      "bob registry:catalog:*",
      "bob repository:tok/app:pull",
    ]);
  });

  it("another login gets its own token, never the first one's", async () => {
    const start = tokens.requests().length;
    assert.ok(!isFailed(await client.as(login("carol", "pw")).manifestHead("tok/app", "a")));
    assert.deepEqual(
      tokens
        .requests()
        .slice(start)
        .map((q) => q.account),
      ["carol"],
    );
    const catalog = await client.as(login("carol", "pw")).catalog();
    assert.ok(isFailed(catalog) && catalog.kind === "status" && catalog.status === 401, "carol may not list");
  });

  it("anonymous credentials fetch an anonymous token; a caller's 401 is not answered", async () => {
    const start = tokens.requests().length;
    assert.ok(!isFailed(await client.as(ANONYMOUS).manifestHead("tok/app", "a")));
    assert.deepEqual(
      tokens
        .requests()
        .slice(start)
        .map((q) => q.account),
      [null],
    );
    const plain = await client.as(PLAIN).manifestHead("tok/app", "a");
    assert.ok(isFailed(plain) && plain.kind === "status" && plain.status === 401);
    assert.match(String(plain.headers["www-authenticate"]), /^Bearer realm=/);
  });

  it("a refused token request is the registry's 401, naming the token request", async () => {
    const res = await client.as(login("bob", "wrong")).manifestHead("tok/app", "a");
    assert.ok(isFailed(res) && res.kind === "status");
    assert.equal(res.status, 401);
    assert.match(res.reason ?? "", /^token request to http:\/\/127\.0\.0\.1:\d+\/token: 401/);
  });
});

describe("registry client: redirects", () => {
  it("GET follows a redirect to another origin without the credentials; a caller's redirect comes back", async () => {
    const seen: Array<string | undefined> = [];
    const storage = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { "content-type": "application/octet-stream" }).end("blob bytes");
    });
    await new Promise<void>((r) => storage.listen(0, "127.0.0.1", r));
    const storageUrl = `http://127.0.0.1:${(storage.address() as AddressInfo).port}`;
    const front = http.createServer((req, res) => {
      if (!req.headers.authorization) {
        res.writeHead(401, { "www-authenticate": 'Basic realm="x"' }).end();
        return;
      }
      res.writeHead(307, { location: `${storageUrl}/blob?signed=1` }).end();
    });
    await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
    const client = clientFor(`http://127.0.0.1:${(front.address() as AddressInfo).port}`);
    try {
      const digest = `sha256:${"2".repeat(64)}`;
      const got = await client.as(login("u", "p")).blobGet("r", digest);
      assert.deepEqual(got, Buffer.from("blob bytes"));
      assert.deepEqual(seen, [undefined], "the storage origin never sees the credentials");
      const relayed = await client.as(asCaller({ authorization: "Basic eDp5" })).request({
        method: "GET",
        path: `/v2/r/blobs/${digest}`,
      });
      assert.equal(relayed.status, 307);
    } finally {
      await client.close();
      storage.close();
      front.close();
    }
  });
});
