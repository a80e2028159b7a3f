/**
 * Faults a real registry will not produce on demand, injected by the scripted
 * fake upstream in front of a real docker-registry 2.8 (everything not scripted
 * reaches the real registry, so the state checked afterwards is real).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, afterEach, describe, it } from "node:test";
import { promisify } from "node:util";
import { parseJournal } from "../../src/tags/journal.js";
import { isTombstone } from "../../src/tags/tombstone.js";
import {
  FAULTS,
  type FakeUpstream,
  startFakeUpstream,
  swapRequests,
  TOMBSTONE_DELETE_PATH,
} from "../helpers/fake-upstream.js";
import { useRegistryAndProxy, withProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";
import { MT, makeImage, pushImage } from "../helpers/oci.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry } from "../helpers/registry.js";
import { errorCode, manifestOf, pushKind, tagsOf } from "../helpers/tag-delete.js";

const exec = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");

interface ErrorDetail {
  step?: string;
  restored?: boolean;
  originalDigest?: string;
  reason?: string;
}
function detailOf(res: { json<T>(): T }): ErrorDetail {
  return res.json<{ errors: Array<{ detail: ErrorDetail }> }>().errors[0]!.detail;
}

/** The original's PUT (restore): a PUT by tag whose body is not a tombstone (the originals here are schema2). */
const restorePut = {
  method: "PUT",
  when: (req: { headers: { "content-type"?: string } }) => req.headers["content-type"] === MT.dockerManifest,
};
const tombstonePut = {
  method: "PUT",
  when: (req: { headers: { "content-type"?: string } }) => req.headers["content-type"] === MT.ociIndex,
};

describe("tag delete with upstream faults", () => {
  let dir: string;
  let journalPath: string;
  const fx = useRegistryAndProxy(() => {
    dir = mkdtempSync(join(tmpdir(), "rcp-tdf-"));
    journalPath = join(dir, "journal.jsonl");
    return { front: (r) => startFakeUpstream(r.url), proxy: { delete: { journalPath, maxRetries: 2 } } };
  });
  afterEach(() => {
    fx.front.clearRules();
    fx.front.clearRequests();
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function seed(repo: string) {
    return pushKind(fx.registry.url, repo, "docker-v2", ["victim", "sibling"]);
  }

  async function assertRestored(repo: string, digest: string) {
    const now = await manifestOf(fx.registry.url, repo, "victim");
    assert.equal(now?.digest, digest, "the tag holds its original manifest again");
    assert.equal((await manifestOf(fx.registry.url, repo, "sibling"))?.digest, digest);
    assert.deepEqual(await tagsOf(fx.registry.url, repo), ["sibling", "victim"]);
  }

  function journalRecord(repo: string) {
    return parseJournal(readFileSync(journalPath, "utf8"))
      .records.filter((r) => r.intent.repository === repo)
      .at(-1);
  }

  it("tombstone DELETE answers 500 every time: the tag is restored and the client gets 502 naming the step", async () => {
    const pushed = await seed("f/del500");
    fx.front.addRule({ method: "DELETE", path: TOMBSTONE_DELETE_PATH, action: FAULTS.status500 });
    const res = await request("DELETE", `${fx.proxy.url}/v2/f/del500/tags/victim`);
    assert.equal(res.status, 502, res.text);
    assert.equal(errorCode(res), "UNAVAILABLE");
    const d = detailOf(res);
    assert.equal(d.step, "delete-tombstone");
    assert.equal(d.restored, true);
    assert.equal(d.originalDigest, pushed.digest);
    assert.match(res.text, /restored to its original manifest/);
    await assertRestored("f/del500", pushed.digest);
    assert.equal(journalRecord("f/del500")?.outcome?.outcome, "rolled_back");
    // 1 + maxRetries tombstone DELETEs, each retry after putting the tombstone back.
    assert.equal(
      fx.front.requests.filter((r) => r.method === "DELETE" && TOMBSTONE_DELETE_PATH.test(r.path)).length,
      3,
    );
  });

  it("tombstone DELETE answers 500 once: the swap puts the tombstone back, deletes again and answers 202", async () => {
    await seed("f/del500once");
    fx.front.addRule({ method: "DELETE", path: TOMBSTONE_DELETE_PATH, times: 1, action: FAULTS.status500 });
    const res = await request("DELETE", `${fx.proxy.url}/v2/f/del500once/tags/victim`);
    assert.equal(res.status, 202, res.text);
    assert.equal(await manifestOf(fx.registry.url, "f/del500once", "victim"), null);
    assert.deepEqual(await tagsOf(fx.registry.url, "f/del500once"), ["sibling"]);
    assert.deepEqual(
      swapRequests(fx.front.requests).map((r) => r.method),
      ["GET", "PUT", "DELETE", "HEAD", "PUT", "DELETE"],
    );
  });

  it("tombstone DELETE applied upstream but its answer lost (reset): the swap re-checks and ends deleted, not dangling", async () => {
    await seed("f/lost");
    fx.front.addRule({
      method: "DELETE",
      path: TOMBSTONE_DELETE_PATH,
      times: 1,
      action: { forwardThen: { reset: true } },
    });
    const res = await request("DELETE", `${fx.proxy.url}/v2/f/lost/tags/victim`);
    assert.equal(res.status, 202, res.text);
    assert.equal(await manifestOf(fx.registry.url, "f/lost", "victim"), null);
    assert.deepEqual(await tagsOf(fx.registry.url, "f/lost"), ["sibling"]);
  });

  it("tombstone DELETE answers 405 (deletes turned off): restored, 405 UNSUPPORTED, and the capability is probed again", async () => {
    const pushed = await seed("f/del405");
    fx.front.addRule({ method: "DELETE", path: TOMBSTONE_DELETE_PATH, action: FAULTS.unsupported405 });
    const res = await request("DELETE", `${fx.proxy.url}/v2/f/del405/tags/victim`);
    assert.equal(res.status, 405, res.text);
    assert.equal(errorCode(res), "UNSUPPORTED");
    assert.equal(detailOf(res).restored, true);
    await assertRestored("f/del405", pushed.digest);
    fx.front.clearRules();
    fx.front.clearRequests();
    const again = await request("DELETE", `${fx.proxy.url}/v2/f/del405/tags/victim`);
    assert.equal(again.status, 202);
    assert.deepEqual(
      fx.front.requests.map((r) => r.method),
      ["DELETE", "DELETE", "GET", "PUT", "DELETE"],
      "probes again after the 405",
    );
  });

  it("tombstone DELETE connection reset every time: restored, 502 naming the step", async () => {
    const pushed = await seed("f/reset");
    fx.front.addRule({ method: "DELETE", path: TOMBSTONE_DELETE_PATH, action: FAULTS.reset });
    const res = await request("DELETE", `${fx.proxy.url}/v2/f/reset/tags/victim`);
    assert.equal(res.status, 502, res.text);
    assert.equal(detailOf(res).step, "delete-tombstone");
    assert.equal(detailOf(res).restored, true);
    await assertRestored("f/reset", pushed.digest);
  });

  it("tombstone DELETE never answers (timeout): restored, 502", async () => {
    const pushed = await seed("f/hang");
    await withProxy(
      fx.front.url,
      {
        delete: { journalPath: join(dir, "hang.jsonl"), maxRetries: 0 },
        upstream: { requestTimeoutMs: 500 },
      },
      async (quick) => {
        fx.front.addRule({ method: "DELETE", path: TOMBSTONE_DELETE_PATH, action: FAULTS.hang });
        const res = await request("DELETE", `${quick.url}/v2/f/hang/tags/victim`);
        assert.equal(res.status, 502, res.text);
        assert.match(detailOf(res).reason ?? "", /within 500 ms/);
        assert.equal(detailOf(res).restored, true);
        await assertRestored("f/hang", pushed.digest);
      },
    );
  });

  it("tombstone PUT answers 500: nothing changed, 502 naming put-tombstone", async () => {
    const pushed = await seed("f/put500");
    fx.front.addRule({ ...tombstonePut, action: FAULTS.status500 });
    const res = await request("DELETE", `${fx.proxy.url}/v2/f/put500/tags/victim`);
    assert.equal(res.status, 502, res.text);
    assert.equal(detailOf(res).step, "put-tombstone");
    assert.equal(detailOf(res).restored, true);
    await assertRestored("f/put500", pushed.digest);
  });

  it("tombstone PUT refused with 400 (a registry rejecting empty indexes): no undo needed, 502 with the reason", async () => {
    const pushed = await seed("f/put400");
    fx.front.addRule({
      ...tombstonePut,
      action: { status: 400, body: '{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid"}]}' },
    });
    const res = await request("DELETE", `${fx.proxy.url}/v2/f/put400/tags/victim`);
    assert.equal(res.status, 502, res.text);
    assert.match(detailOf(res).reason ?? "", /400 MANIFEST_INVALID/);
    assert.deepEqual(
      swapRequests(fx.front.requests).map((r) => r.method),
      ["GET", "PUT"],
    );
    await assertRestored("f/put400", pushed.digest);
  });

  it("GET of the original answers 500 once: retried, then 202", async () => {
    await seed("f/get500once");
    fx.front.addRule({ method: "GET", path: /\/manifests\/victim$/, times: 1, action: FAULTS.status500 });
    const res = await request("DELETE", `${fx.proxy.url}/v2/f/get500once/tags/victim`);
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(await tagsOf(fx.registry.url, "f/get500once"), ["sibling"]);
  });

  it("GET of the original keeps failing: 502 at fetch-original, nothing written or journaled", async () => {
    const pushed = await seed("f/get500");
    fx.front.addRule({ method: "GET", path: /\/manifests\/victim$/, action: FAULTS.status500 });
    const res = await request("DELETE", `${fx.proxy.url}/v2/f/get500/tags/victim`);
    assert.equal(res.status, 502, res.text);
    assert.equal(detailOf(res).step, "fetch-original");
    assert.ok(swapRequests(fx.front.requests).every((r) => r.method === "GET"));
    assert.equal(journalRecord("f/get500"), undefined);
    await assertRestored("f/get500", pushed.digest);
  });

  it("a 401 Bearer challenge at the tombstone PUT reaches the client widened to pull,push,delete", async () => {
    await seed("f/auth");
    fx.front.addRule({
      ...tombstonePut,
      action: {
        status: 401,
        headers: {
          "www-authenticate":
            'Bearer realm="http://127.0.0.1:9/token",service="legacy",scope="repository:f/auth:pull,push",error="insufficient_scope"',
        },
        body: '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
      },
    });
    const res = await request("DELETE", `${fx.proxy.url}/v2/f/auth/tags/victim`, {
      headers: { authorization: "Bearer delete-only-token-xyz" },
    });
    assert.equal(res.status, 401);
    assert.equal(errorCode(res), "UNAUTHORIZED");
    assert.equal(
      res.headers["www-authenticate"],
      'Bearer realm="http://127.0.0.1:9/token",service="legacy",scope="repository:f/auth:pull,push,delete",error="insufficient_scope"',
    );
    fx.front.clearRules();
    fx.front.addRule({ ...tombstonePut, action: { status: 403, body: '{"errors":[{"code":"DENIED"}]}' } });
    const denied = await request("DELETE", `${fx.proxy.url}/v2/f/auth/tags/victim`, {
      headers: { authorization: "Bearer delete-only-token-xyz" },
    });
    assert.equal(denied.status, 403);
    assert.equal(errorCode(denied), "DENIED");
    assert.ok(
      !fx.proxy.logs().some((l) => l.includes("delete-only-token-xyz")),
      "no credentials in the logs",
    );
  });

  it("restore fails too: 500 naming both, the log and journal hold what is needed, and `restore` brings the tag back", async () => {
    const pushed = await seed("f/double");
    fx.front.addRule({ method: "DELETE", path: TOMBSTONE_DELETE_PATH, action: FAULTS.status500 });
    fx.front.addRule({ ...restorePut, action: FAULTS.status500 });
    const res = await request("DELETE", `${fx.proxy.url}/v2/f/double/tags/victim`);
    assert.equal(res.status, 500, res.text);
    assert.equal(errorCode(res), "UNKNOWN");
    assert.equal(detailOf(res).restored, false);
    assert.match(res.text, /could NOT be restored/);
    const line = fx.proxy.logs().find((l) => l.includes("could not put the original manifest back"));
    assert.ok(line, "an error log line for the operator");
    const logged = JSON.parse(line);
    assert.equal(logged.level, 50);
    assert.equal(logged.repository, "f/double");
    assert.equal(logged.tag, "victim");
    assert.equal(logged.originalDigest, pushed.digest);
    assert.equal(logged.mediaType, MT.dockerManifest);
    const metric = await fx.proxy.proxy.deps.metrics.registry.getSingleMetricAsString(
      "rcp_tag_restore_failures_total",
    );
    assert.match(metric, /rcp_tag_restore_failures_total 1/);
    const rec = journalRecord("f/double");
    assert.equal(rec?.outcome, null, "the journal entry stays open");
    assert.equal(rec?.intent.originalDigest, pushed.digest);
    // The tag sits on the tombstone now; `restore` (talking to the registry directly) brings it back.
    const stuck = await manifestOf(fx.registry.url, "f/double", "victim");
    assert.ok(stuck && isTombstone(stuck.bytes));

    const cli = (args: string[]) =>
      exec("node", ["--import", "tsx", "src/cli.ts", "restore", ...args], {
        cwd: ROOT,
        env: { ...process.env, LOG_LEVEL: "silent" },
      }).then(
        (r) => ({ code: 0, out: r.stdout + r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
      );
    const common = [
      "--repository",
      "f/double",
      "--tag",
      "victim",
      "--journal",
      journalPath,
      "--upstream",
      fx.registry.url,
    ];
    const restored = await cli(common);
    assert.equal(restored.code, 0, restored.out);
    assert.match(restored.out, /restored f\/double:victim/);
    await assertRestored("f/double", pushed.digest);
    assert.equal(journalRecord("f/double")?.outcome?.outcome, "restored");
    const again = await cli(common);
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /already points at/);
    // Pushed again since: restore refuses (exit 4) and leaves the push alone.
    const newer = makeImage({ layerCount: 1, layerSize: 16, docker: true });
    await pushImage(fx.registry.url, "f/double", newer, ["victim"]);
    const refused = await cli(common);
    assert.equal(refused.code, 4, refused.out);
    assert.equal((await manifestOf(fx.registry.url, "f/double", "victim"))?.digest, newer.manifest.digest);
    const none = await cli([
      "--repository",
      "f/none",
      "--tag",
      "x",
      "--journal",
      journalPath,
      "--upstream",
      fx.registry.url,
    ]);
    assert.equal(none.code, 3, none.out);
  });
});

describe("tag delete on an upstream with native tag delete (scripted like distribution 3.x)", () => {
  it("forwards DELETE /manifests/<tag> once and maps 202 and 404; no swap", async () => {
    const registry = await startRegistry();
    let fake: FakeUpstream | undefined;
    let proxy: TestProxy | undefined;
    const unknown = '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}';
    try {
      fake = await startFakeUpstream(registry.url);
      proxy = await startProxy(fake.url);
      fake.addRule({
        method: "DELETE",
        path: /\/manifests\/rcp-probe-[a-f0-9]+$/,
        action: { status: 404, body: unknown },
      });
      fake.addRule({ method: "DELETE", path: /\/manifests\/present$/, action: { status: 202 } });
      fake.addRule({
        method: "DELETE",
        path: /\/manifests\/absent$/,
        action: { status: 404, body: unknown },
      });
      const ok = await request("DELETE", `${proxy.url}/v2/n/app/tags/present`);
      assert.equal(ok.status, 202);
      const missing = await request("DELETE", `${proxy.url}/v2/n/app/manifests/absent`);
      assert.equal(missing.status, 404);
      assert.equal(errorCode(missing), "MANIFEST_UNKNOWN");
      assert.deepEqual(
        fake.requests.map((r) => `${r.method} ${r.path.replace(/rcp-probe-[a-f0-9]+/, "<probe>")}`),
        [
          "DELETE /v2/n/app/manifests/<probe>",
          "DELETE /v2/n/app/manifests/present",
          "DELETE /v2/n/app/manifests/absent",
        ],
      );
      const metric = await proxy.proxy.deps.metrics.registry.getSingleMetricAsString("rcp_tag_deletes_total");
      assert.match(metric, /path="native",outcome="ok"\} 1/);
      assert.match(metric, /path="native",outcome="not_found"\} 1/);
    } finally {
      await proxy?.stop();
      await fake?.stop();
      await registry.stop();
    }
  });
});
