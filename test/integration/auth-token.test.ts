/**
 * The proxy in front of a real docker-registry 2.8 with token (Bearer) auth and
 * the test suite's token server: challenges reach clients unchanged, the full
 * token dance works for skopeo, podman and raw HTTP, and the upstream alone
 * decides what a token allows.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  fetchToken,
  normalizeChallenge,
  parseChallenge,
  requestWithToken,
  scopesOf,
} from "../helpers/bearer.js";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";
import { ALL_MANIFEST_TYPES, blobOf, makeImage, writeOciLayout } from "../helpers/oci.js";
import { podmanArgs } from "../helpers/podman.js";
import { requireTools } from "../helpers/prereq.js";
import { startTokenServer, type TokenServer } from "../helpers/token-server.js";

const exec = promisify(execFile);
const ALICE = "alice:alice-pw";
const BOB = "bob:bob-pw";

describe("token (Bearer) registry behind the proxy", () => {
  let tokens: TokenServer;
  let host: string;
  let dir: string;
  before(async () => {
    tokens = await startTokenServer({
      users: {
        alice: { password: "alice-pw", repositories: { "*": ["*"] }, catalog: true },
        bob: { password: "bob-pw", repositories: { "*": ["pull"] } },
      },
      anonymous: { "tok/public": ["pull"] },
    });
  });
  const fx = useRegistryAndProxy(() => ({ registry: { token: tokens.registryAuth } }));
  before(async () => {
    host = fx.proxy.url.replace("http://", "");
    dir = mkdtempSync(join(tmpdir(), "rcp-token-"));
    const image = makeImage();
    writeOciLayout(join(dir, "src"), image);
  });
  after(async () => {
    await tokens?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const D0 = `sha256:${"0".repeat(64)}`;

  it("challenges (realm, service, scope) reach the client exactly as the upstream sends them", async () => {
    const cases: Array<[string, string, string[]]> = [
      ["GET", "/v2/", []],
      ["GET", "/v2/_catalog", ["registry:catalog:*"]],
      ["GET", "/v2/tok/a/tags/list", ["repository:tok/a:pull"]],
      ["HEAD", "/v2/tok/a/manifests/latest", ["repository:tok/a:pull"]],
      ["GET", `/v2/tok/a/blobs/${D0}`, ["repository:tok/a:pull"]],
      ["PUT", "/v2/tok/a/manifests/latest", ["repository:tok/a:pull,push"]],
      ["POST", "/v2/tok/a/blobs/uploads/", ["repository:tok/a:pull,push"]],
      ["DELETE", `/v2/tok/a/manifests/${D0}`, ["repository:tok/a:delete"]],
      ["DELETE", `/v2/tok/a/blobs/${D0}`, ["repository:tok/a:delete"]],
      [
        "POST",
        `/v2/tok/a/blobs/uploads/?mount=${D0}&from=tok/b`,
        ["repository:tok/a:pull,push", "repository:tok/b:pull"],
      ],
    ];
    for (const [method, path, scopes] of cases) {
      const direct = await request(method, `${fx.registry.url}${path}`);
      const res = await request(method, `${fx.proxy.url}${path}`);
      assert.equal(res.status, 401, `${method} ${path}`);
      const got = parseChallenge(res.headers["www-authenticate"]);
      assert.equal(got?.scheme, "Bearer");
      assert.equal(got?.params["realm"], tokens.realm, "the realm is not rewritten");
      assert.equal(got?.params["service"], tokens.service);
      assert.deepEqual(scopesOf(got), scopes, `${method} ${path}`);
      // Same challenge as the registry's own (2.8 varies the order of scopes and actions).
      assert.deepEqual(
        normalizeChallenge(res.headers["www-authenticate"]),
        normalizeChallenge(direct.headers["www-authenticate"]),
      );
      if (method !== "HEAD") assert.equal(res.text, direct.text, `${method} ${path}`);
      assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
    }
  });

  it("the full token dance pushes and pulls an image over raw HTTP through the proxy", async () => {
    const image = makeImage({ docker: true });
    for (const blob of [...image.layers, image.config]) {
      const start = await requestWithToken("POST", `${fx.proxy.url}/v2/tok/raw/blobs/uploads/`, ALICE);
      assert.equal(start.res.status, 202, start.res.text);
      assert.ok(start.token);
      const loc = new URL(start.res.headers.location as string);
      assert.equal(loc.origin, fx.proxy.url, "upload Location names the proxy");
      loc.searchParams.set("digest", blob.digest);
      const put = await request("PUT", loc.toString(), {
        headers: { authorization: `Bearer ${start.token}`, "content-type": "application/octet-stream" },
        body: blob.bytes,
      });
      assert.equal(put.status, 201, put.text);
    }
    const manifest = await requestWithToken("PUT", `${fx.proxy.url}/v2/tok/raw/manifests/v1`, ALICE, {
      headers: { "content-type": image.mediaType },
      body: image.manifest.bytes,
    });
    assert.equal(manifest.res.status, 201, manifest.res.text);
    const pulled = await requestWithToken("GET", `${fx.proxy.url}/v2/tok/raw/manifests/v1`, BOB, {
      headers: { accept: ALL_MANIFEST_TYPES },
    });
    assert.equal(pulled.res.status, 200);
    assert.deepEqual(pulled.res.body, image.manifest.bytes);
    const granted = tokens.requests().filter((r) => r.account === "alice");
    assert.ok(granted.some((r) => r.scopes.includes("repository:tok/raw:pull,push")));
  });

  it("skopeo pushes, pulls and lists tags with --creds through the proxy via the token server", async () => {
    const before = tokens.requests().length;
    const ref = `docker://${host}/tok/skopeo:v1`;
    await exec("skopeo", [
      "copy",
      "--dest-tls-verify=false",
      "--dest-creds",
      ALICE,
      `oci:${join(dir, "src")}:latest`,
      ref,
    ]);
    await exec("skopeo", [
      "copy",
      "--src-tls-verify=false",
      "--src-creds",
      BOB,
      ref,
      `oci:${join(dir, "back")}:v1`,
    ]);
    const tags = await exec("skopeo", [
      "list-tags",
      "--tls-verify=false",
      "--creds",
      BOB,
      `docker://${host}/tok/skopeo`,
    ]);
    assert.deepEqual(JSON.parse(tags.stdout).Tags, ["v1"]);
    const seen = tokens.requests().slice(before);
    assert.ok(
      seen.some((r) => r.account === "alice" && r.scopes.some((s) => s.includes("tok/skopeo:pull,push"))),
    );
    assert.ok(seen.some((r) => r.account === "bob" && r.granted.some((g) => g.actions.includes("pull"))));
  });

  it("a pull-only user can pull but not push: insufficient_scope reaches the client unchanged", async () => {
    const { res, token } = await requestWithToken(
      "POST",
      `${fx.proxy.url}/v2/tok/skopeo/blobs/uploads/`,
      BOB,
    );
    assert.ok(token, "bob got a (pull-only) token");
    assert.equal(res.status, 401);
    const direct = await request("POST", `${fx.registry.url}/v2/tok/skopeo/blobs/uploads/`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.deepEqual(
      normalizeChallenge(res.headers["www-authenticate"]),
      normalizeChallenge(direct.headers["www-authenticate"]),
    );
    const challenge = parseChallenge(res.headers["www-authenticate"]);
    assert.equal(challenge?.params["error"], "insufficient_scope");
    assert.deepEqual(scopesOf(challenge), ["repository:tok/skopeo:pull,push"]);
    assert.equal(res.text, direct.text);

    await assert.rejects(
      exec("skopeo", [
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        BOB,
        `oci:${join(dir, "src")}:latest`,
        `docker://${host}/tok/skopeo:bob`,
      ]),
      /denied|unauthorized/i,
    );
    const pull = await requestWithToken("GET", `${fx.proxy.url}/v2/tok/skopeo/tags/list`, BOB);
    assert.equal(pull.res.status, 200);
  });

  it("an anonymous token pulls a public repository; other repositories stay closed", async () => {
    const blob = blobOf(Buffer.from("public blob"));
    const up = await requestWithToken("POST", `${fx.proxy.url}/v2/tok/public/blobs/uploads/`, ALICE);
    const loc = new URL(up.res.headers.location as string);
    loc.searchParams.set("digest", blob.digest);
    const put = await request("PUT", loc.toString(), {
      headers: { authorization: `Bearer ${up.token}`, "content-type": "application/octet-stream" },
      body: blob.bytes,
    });
    assert.equal(put.status, 201);
    const anon = await requestWithToken(
      "GET",
      `${fx.proxy.url}/v2/tok/public/blobs/${blob.digest}`,
      undefined,
    );
    assert.equal(anon.res.status, 200);
    assert.deepEqual(anon.res.body, blob.bytes);
    const closed = await requestWithToken("GET", `${fx.proxy.url}/v2/tok/skopeo/tags/list`, undefined);
    assert.equal(closed.res.status, 401);
    assert.equal(
      parseChallenge(closed.res.headers["www-authenticate"])?.params["error"],
      "insufficient_scope",
    );
  });

  it("an expired token is refused with invalid_token, for raw requests and for skopeo", async () => {
    const expired = tokens.issue("alice", [{ type: "repository", name: "tok/skopeo", actions: ["pull"] }], {
      expiresInSeconds: -600,
    });
    const res = await request("GET", `${fx.proxy.url}/v2/tok/skopeo/tags/list`, {
      headers: { authorization: `Bearer ${expired}` },
    });
    assert.equal(res.status, 401);
    assert.equal(parseChallenge(res.headers["www-authenticate"])?.params["error"], "invalid_token");
    const fresh = tokens.issue("alice", [{ type: "repository", name: "tok/skopeo", actions: ["pull"] }]);
    const ok = await request("GET", `${fx.proxy.url}/v2/tok/skopeo/tags/list`, {
      headers: { authorization: `Bearer ${fresh}` },
    });
    assert.equal(ok.status, 200, "the same claims, unexpired, are accepted");

    tokens.setExpired(true);
    try {
      await assert.rejects(
        exec("skopeo", ["inspect", "--tls-verify=false", "--creds", ALICE, `docker://${host}/tok/skopeo:v1`]),
        /unauthorized|authentication required|invalid/i,
      );
    } finally {
      tokens.setExpired(false);
    }
  });

  it("a token for another service (wrong aud) is refused", async () => {
    const other = await startTokenServer({ service: "other-registry" });
    try {
      const token = other.issue("alice", [{ type: "repository", name: "tok/skopeo", actions: ["pull"] }]);
      const res = await request("GET", `${fx.proxy.url}/v2/tok/skopeo/tags/list`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(res.status, 401);
      assert.equal(parseChallenge(res.headers["www-authenticate"])?.params["error"], "invalid_token");
    } finally {
      await other.stop();
    }
  });

  it("podman pulls and pushes with --creds through the proxy (private root, vfs storage)", async () => {
    requireTools("podman", "skopeo");
    const root = mkdtempSync(join(tmpdir(), "rcp-podman-"));
    const podman = podmanArgs(root);
    try {
      // Its own source image, so the test does not depend on the skopeo test before it.
      await exec("skopeo", [
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        ALICE,
        `oci:${join(dir, "src")}:latest`,
        `docker://${host}/tok/podman-src:v1`,
      ]);
      const image = `${host}/tok/podman-src:v1`;
      await exec("podman", [...podman, "pull", "--tls-verify=false", "--creds", BOB, image], {
        timeout: 120_000,
      });
      await exec(
        "podman",
        [...podman, "push", "--tls-verify=false", "--creds", ALICE, image, `docker://${host}/tok/podman:v1`],
        { timeout: 120_000 },
      );
      const check = await requestWithToken("GET", `${fx.proxy.url}/v2/tok/podman/tags/list`, BOB);
      assert.deepEqual(check.res.json<{ tags: string[] }>().tags, ["v1"]);
      await assert.rejects(
        exec(
          "podman",
          [...podman, "push", "--tls-verify=false", "--creds", BOB, image, `docker://${host}/tok/podman:bob`],
          { timeout: 120_000 },
        ),
        /denied|unauthorized/i,
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("fetchToken gets exactly the intersection of asked and allowed actions", async () => {
    const challenge = { scheme: "Bearer", params: { realm: tokens.realm, service: tokens.service } };
    await fetchToken(challenge, BOB, ["repository:tok/x:pull,push,delete"]);
    const last = tokens.requests().at(-1);
    assert.deepEqual(last?.granted, [{ type: "repository", name: "tok/x", actions: ["pull"] }]);
    await assert.rejects(fetchToken(challenge, "bob:wrong", ["repository:tok/x:pull"]), /401/);
  });
});
