/**
 * Credentials never appear in the proxy's logs, metrics or error answers:
 * authenticated pushes and pulls (Basic and Bearer), hostile requests carrying
 * credentials, and upstream failures, with the proxy logging at debug level.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { requestWithToken } from "../helpers/bearer.js";
import { withProxy } from "../helpers/fixture.js";
import { createHtpasswd, type Htpasswd } from "../helpers/htpasswd.js";
import { request } from "../helpers/http.js";
import { makeImage, pushImage, writeOciLayout } from "../helpers/oci.js";
import { requireTools } from "../helpers/prereq.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { startTokenServer, type TokenServer } from "../helpers/token-server.js";

requireTools("skopeo");

const exec = promisify(execFile);
const PASSWORD = "Sup3r-Secret-Passw0rd";
const CREDS = `alice:${PASSWORD}`;

/** Every spelling of a secret that must not leak. */
function formsOf(secret: string): string[] {
  return [secret, Buffer.from(secret).toString("base64"), Buffer.from(secret).toString("base64url")];
}

function assertNoSecrets(where: string, text: string, secrets: string[]) {
  for (const s of secrets) assert.ok(!text.includes(s), `${where} leaks ${s.slice(0, 24)}…`);
}

describe("credentials never reach logs, metrics or error details", () => {
  let htpasswd: Htpasswd;
  let tokens: TokenServer;
  let basicRegistry: TestRegistry;
  let tokenRegistry: TestRegistry;
  let basicProxy: TestProxy;
  let tokenProxy: TestProxy;
  let dir: string;

  before(async () => {
    htpasswd = createHtpasswd({ alice: PASSWORD });
    tokens = await startTokenServer({
      users: { alice: { password: PASSWORD, repositories: { "*": ["*"] }, catalog: true } },
    });
    [basicRegistry, tokenRegistry] = await Promise.all([
      startRegistry({ htpasswdFile: htpasswd.file }),
      startRegistry({ token: tokens.registryAuth }),
    ]);
    basicProxy = await startProxy(basicRegistry.url, { log: { level: "trace" } });
    tokenProxy = await startProxy(tokenRegistry.url, { log: { level: "trace" } });
    dir = mkdtempSync(join(tmpdir(), "rcp-logs-"));
    writeOciLayout(join(dir, "src"), makeImage());
  });
  after(async () => {
    await basicProxy?.stop();
    await tokenProxy?.stop();
    await basicRegistry?.stop();
    await tokenRegistry?.stop();
    await tokens?.stop();
    htpasswd?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("Basic: push and pull with skopeo and raw HTTP, then hostile and failing requests, leave no password in logs or answers", async () => {
    const host = basicProxy.url.replace("http://", "");
    const auth = htpasswd.basic("alice");
    await exec("skopeo", [
      "copy",
      "--dest-tls-verify=false",
      "--dest-creds",
      CREDS,
      `oci:${join(dir, "src")}:latest`,
      `docker://${host}/logs/basic:v1`,
    ]);
    await exec("skopeo", [
      "copy",
      "--src-tls-verify=false",
      "--src-creds",
      CREDS,
      `docker://${host}/logs/basic:v1`,
      `oci:${join(dir, "b1")}:v1`,
    ]);
    await pushImage(basicProxy.url, "logs/raw", makeImage(), ["v1"], auth);
    const bodies: string[] = [];
    for (const path of ["/v2/logs/../x/tags/list", "/v2/UPPER/manifests/a", "/v2/a/manifests/sha256:zz"]) {
      const res = await request("GET", `${basicProxy.url}${path}`, {
        headers: { authorization: auth, cookie: `s=${PASSWORD}` },
      });
      assert.equal(res.status, 400);
      bodies.push(res.text);
    }
    const metrics = await request("GET", `${basicProxy.url}/metrics`);
    bodies.push(metrics.text);

    // An upstream that went away: the failure is logged (with the request), the credentials are not.
    const gone = await startRegistry({ htpasswdFile: htpasswd.file });
    const goneUrl = gone.url;
    await gone.stop();
    await withProxy(goneUrl, { log: { level: "trace" } }, async (broken) => {
      const res = await request("GET", `${broken.url}/v2/logs/basic/manifests/v1`, {
        headers: { authorization: auth },
      });
      assert.equal(res.status, 503);
      bodies.push(res.text);
      assert.ok(
        broken.logs().some((l) => l.includes("upstream exchange failed")),
        "the failure was logged",
      );
      assertNoSecrets("failure log", broken.logs().join("\n"), [...formsOf(PASSWORD), ...formsOf(CREDS)]);
    });
    const secrets = [...formsOf(PASSWORD), ...formsOf(CREDS), auth];
    assertNoSecrets("proxy logs", basicProxy.logs().join("\n"), secrets);
    assertNoSecrets("proxy answers", bodies.join("\n"), secrets);
  });

  it("Bearer: the token dance with skopeo and raw HTTP leaves neither the password nor any token in logs or answers", async () => {
    const host = tokenProxy.url.replace("http://", "");
    await exec("skopeo", [
      "copy",
      "--dest-tls-verify=false",
      "--dest-creds",
      CREDS,
      `oci:${join(dir, "src")}:latest`,
      `docker://${host}/logs/token:v1`,
    ]);
    await exec("skopeo", [
      "copy",
      "--src-tls-verify=false",
      "--src-creds",
      CREDS,
      `docker://${host}/logs/token:v1`,
      `oci:${join(dir, "b2")}:v1`,
    ]);
    const { res, token } = await requestWithToken("GET", `${tokenProxy.url}/v2/logs/token/tags/list`, CREDS);
    assert.equal(res.status, 200);
    assert.ok(token);
    const bodies: string[] = [];
    for (const path of ["/v2/logs/%2e%2e/tags/list", "/v2/logs/token/manifests/-x"]) {
      const bad = await request("DELETE", `${tokenProxy.url}${path}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(bad.status, 400);
      bodies.push(bad.text);
    }
    const issued = tokens.issuedTokens();
    assert.ok(issued.length >= 3, "tokens were issued");
    const secrets = [
      ...formsOf(PASSWORD),
      ...formsOf(CREDS),
      ...issued.flatMap((t) => [...formsOf(t), t.split(".")[2]!]),
    ];
    assertNoSecrets("proxy logs", tokenProxy.logs().join("\n"), secrets);
    assertNoSecrets("proxy answers", bodies.join("\n"), secrets);
  });
});
