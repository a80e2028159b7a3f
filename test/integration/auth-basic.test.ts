/**
 * The proxy in front of a real docker-registry 2.8 with htpasswd (Basic) auth:
 * credentials pass through, the upstream's challenge reaches the client unchanged.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { createHtpasswd, type Htpasswd } from "../helpers/htpasswd.js";
import { request } from "../helpers/http.js";
import { ALL_MANIFEST_TYPES, makeImage, pushImage, writeOciLayout } from "../helpers/oci.js";
import { requireTools } from "../helpers/prereq.js";

requireTools("skopeo");

const exec = promisify(execFile);

describe("htpasswd (Basic) registry behind the proxy", () => {
  let htpasswd: Htpasswd;
  let host: string;
  before(async () => {
    htpasswd = createHtpasswd({ alice: "alice-Secret-1", bob: "bob:with:colons" });
  });
  const fx = useRegistryAndProxy(() => ({ registry: { htpasswdFile: htpasswd.file } }));
  before(async () => {
    host = fx.proxy.url.replace("http://", "");
  });
  after(async () => {
    htpasswd?.cleanup();
  });

  /** The 401 as the registry itself answers it, for comparison. */
  async function direct401(method: string, path: string) {
    const res = await request(method, `${fx.registry.url}${path}`);
    assert.equal(res.status, 401);
    return res;
  }

  it("GET /v2/ without credentials answers 401 with the upstream's Basic challenge and body unchanged", async () => {
    const direct = await direct401("GET", "/v2/");
    const res = await request("GET", `${fx.proxy.url}/v2/`);
    assert.equal(res.status, 401);
    assert.equal(res.headers["www-authenticate"], 'Basic realm="basic-realm"');
    assert.equal(res.headers["www-authenticate"], direct.headers["www-authenticate"]);
    assert.equal(res.text, direct.text);
    assert.equal(res.headers["content-type"], direct.headers["content-type"]);
    assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
  });

  it("GET /v2/ with a wrong password or an unknown user answers 401 with the same challenge", async () => {
    for (const auth of [
      htpasswd.basic("alice", "wrong"),
      htpasswd.basic("alice", ""),
      `Basic ${Buffer.from("mallory:x").toString("base64")}`,
      "Basic !!!notbase64",
    ]) {
      const res = await request("GET", `${fx.proxy.url}/v2/`, { headers: { authorization: auth } });
      assert.equal(res.status, 401, auth);
      assert.equal(res.headers["www-authenticate"], 'Basic realm="basic-realm"');
    }
  });

  it("GET /v2/ with good credentials answers 200 (a password holding colons too)", async () => {
    for (const user of ["alice", "bob"]) {
      const res = await request("GET", `${fx.proxy.url}/v2/`, {
        headers: { authorization: htpasswd.basic(user) },
      });
      assert.equal(res.status, 200, user);
      assert.equal(res.text, "{}");
    }
  });

  it("push and pull over raw HTTP with Basic credentials; without them every step answers 401", async () => {
    const image = makeImage({ docker: true });
    const auth = htpasswd.basic("alice");
    const digest = await pushImage(fx.proxy.url, "basic/raw", image, ["v1"], auth);
    const got = await request("GET", `${fx.proxy.url}/v2/basic/raw/manifests/v1`, {
      headers: { authorization: auth, accept: ALL_MANIFEST_TYPES },
    });
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, image.manifest.bytes);
    assert.equal(got.headers["docker-content-digest"], digest);
    const blob = await request("GET", `${fx.proxy.url}/v2/basic/raw/blobs/${image.layers[0]!.digest}`, {
      headers: { authorization: auth },
    });
    assert.equal(blob.status, 200);
    assert.deepEqual(blob.body, image.layers[0]!.bytes);

    for (const [method, path] of [
      ["GET", "/v2/basic/raw/manifests/v1"],
      ["HEAD", `/v2/basic/raw/blobs/${image.layers[0]!.digest}`],
      ["GET", "/v2/basic/raw/tags/list"],
      ["POST", "/v2/basic/raw/blobs/uploads/"],
      ["PUT", "/v2/basic/raw/manifests/v2"],
    ] as const) {
      const direct = await direct401(method, path);
      const res = await request(method, `${fx.proxy.url}${path}`);
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.equal(res.headers["www-authenticate"], direct.headers["www-authenticate"]);
      assert.equal(res.text, direct.text, `${method} ${path}`);
    }
  });

  it("GET /v2/_catalog answers 401 without credentials and the repositories with them", async () => {
    const direct = await direct401("GET", "/v2/_catalog");
    const anon = await request("GET", `${fx.proxy.url}/v2/_catalog`);
    assert.equal(anon.status, 401);
    assert.equal(anon.text, direct.text);
    const res = await request("GET", `${fx.proxy.url}/v2/_catalog`, {
      headers: { authorization: htpasswd.basic("bob") },
    });
    assert.equal(res.status, 200);
    assert.ok(res.json<{ repositories: string[] }>().repositories.includes("basic/raw"));
  });

  it("skopeo pushes and pulls with --dest-creds/--src-creds through the proxy; no or wrong credentials fail unauthorized", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rcp-basic-skopeo-"));
    try {
      const image = makeImage({ layerCount: 2 });
      writeOciLayout(join(dir, "src"), image);
      const src = `oci:${join(dir, "src")}:latest`;
      const ref = `docker://${host}/basic/skopeo:v1`;
      await exec("skopeo", [
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        htpasswd.creds("alice"),
        src,
        ref,
      ]);
      await exec("skopeo", [
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        htpasswd.creds("bob"),
        ref,
        `oci:${join(dir, "back")}:v1`,
      ]);
      const inspect = await exec("skopeo", [
        "inspect",
        "--tls-verify=false",
        "--creds",
        htpasswd.creds("alice"),
        ref,
      ]);
      assert.equal(JSON.parse(inspect.stdout).Digest, image.manifest.digest);

      const denied = [
        ["copy", "--dest-tls-verify=false", src, `docker://${host}/basic/skopeo:v2`],
        [
          "copy",
          "--dest-tls-verify=false",
          "--dest-creds",
          "alice:wrong",
          src,
          `docker://${host}/basic/skopeo:v2`,
        ],
        ["inspect", "--tls-verify=false", "--no-creds", ref],
        ["inspect", "--tls-verify=false", "--creds", "alice:wrong", ref],
      ];
      for (const args of denied) {
        await assert.rejects(exec("skopeo", args), /unauthorized|authentication required/i, args.join(" "));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
