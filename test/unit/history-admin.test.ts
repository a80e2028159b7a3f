/**
 * The tag history's admin app in process (app.request()) over a real file store:
 * paths, JSON answers, purges and bad input as OCI errors; and the pieces the CLI
 * parses (REPO[:TAG]) and routing (what the proxy owns while the history is on).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseReference } from "../../src/commands/history.js";
import { createHistoryAdminApp, parseHistoryPath } from "../../src/history/admin-app.js";
import { openFileHistory } from "../../src/history/file-store.js";
import { createTagHistory, type TagHistory } from "../../src/history/service.js";
import { ownsRequest } from "../../src/http/routing.js";
import { parseRoute } from "../../src/oci/routes.js";
import { createLogger } from "../../src/ops/logger.js";
import { createMetrics } from "../../src/ops/metrics.js";
import { localTagLocks } from "../../src/tags/locks.js";

const D = `sha256:${"a".repeat(64)}`;
const MT = "application/vnd.oci.image.manifest.v1+json";

describe("parseHistoryPath", () => {
  const cases: Array<[string, unknown]> = [
    ["/admin/history", { kind: "repositories" }],
    ["/admin/history/", { kind: "repositories" }],
    ["/admin/history/_held", { kind: "held" }],
    ["/admin/history/demo/app", { kind: "repository", name: "demo/app" }],
    ["/admin/history/a/tags/b/_tags/list", { kind: "tag", name: "a/tags/b", tag: "list" }],
    ["/admin/history/demo/app/_tags/_old/_undelete", { kind: "undelete", name: "demo/app", tag: "_old" }],
    ["/admin/history/demo/app/_tags/", null],
    ["/admin/history/demo/app/_tags/a/b", null],
    ["/admin/read-only", null],
  ];
  for (const [path, expected] of cases) it(path, () => assert.deepEqual(parseHistoryPath(path), expected));
});

describe("parseReference (history and undelete arguments)", () => {
  it("REPO and REPO:TAG; the tag is after the last colon behind the last slash", () => {
    assert.deepEqual(parseReference("demo/app", false), { name: "demo/app", tag: null });
    assert.deepEqual(parseReference("demo/app:v1.0", false), { name: "demo/app", tag: "v1.0" });
  });
  it("malformed names and tags, and a missing tag where one is needed, are usage errors", () => {
    assert.throws(() => parseReference("Demo/App:v1", false), /invalid repository name/);
    assert.throws(() => parseReference("demo/app:-x", false), /invalid tag/);
    assert.throws(() => parseReference("demo/app:", false), /invalid tag/);
    assert.throws(() => parseReference("demo/app", true), /name the tag/);
  });
});

describe("what the proxy owns with the tag history on", () => {
  const own = (method: string, path: string) =>
    ownsRequest(parseRoute(method, path), method, { referrers: false, history: true });
  it("a PUT to a tag and a DELETE by digest; never a read, never a PUT by digest", () => {
    assert.equal(own("PUT", "/v2/a/manifests/t"), true);
    assert.equal(own("DELETE", `/v2/a/manifests/${D}`), true);
    for (const method of ["GET", "HEAD"]) {
      assert.equal(own(method, "/v2/a/manifests/t"), false, `${method} by tag`);
      assert.equal(own(method, `/v2/a/manifests/${D}`), false, `${method} by digest`);
      assert.equal(own(method, `/v2/a/blobs/${D}`), false, `${method} blob`);
    }
    assert.equal(own("PUT", `/v2/a/manifests/${D}`), false);
    assert.equal(ownsRequest(parseRoute("PUT", "/v2/a/manifests/t"), "PUT", { referrers: false }), false);
  });
});

describe("the history admin app (in process)", () => {
  const dir = mkdtempSync(join(tmpdir(), "rcp-history-admin-"));
  let history: TagHistory;
  let app: ReturnType<typeof createHistoryAdminApp>;
  before(async () => {
    history = createTagHistory({
      store: openFileHistory(dir, { retainMs: 14 * 86_400_000, maxPerRepository: 100 }),
      windowMs: 7 * 86_400_000,
      replica: "test/1",
      logger: createLogger("silent"),
      metrics: createMetrics({ defaultMetrics: false }),
      undelete: {
        registryFor: () => {
          throw new Error("no registry in this test");
        },
        isImmutable: () => false,
        readOnly: () => false,
        tagLocks: localTagLocks(),
        inPutPhase: (_repo, fn) => fn(),
        repositoryChanged: async () => {},
      },
      sweepIntervalMs: 0,
    });
    const base = { repository: "demo/app", user: "alice", via: "client" as const };
    await history.record({ ...base, type: "TagMoved", tag: "v1", from: null, to: D, mediaType: MT });
    await history.record({ ...base, type: "TagDeleted", tag: "v1", digest: D, mediaType: MT });
    await history.record({ ...base, type: "TagMoved", tag: "v2", from: null, to: D, mediaType: MT });
    app = createHistoryAdminApp(history, createLogger("silent"));
  });
  after(async () => {
    await history.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const json = async (res: Response) => (await res.json()) as Record<string, unknown>;

  it("GET a tag: its entries newest first, with who, the replica and the window", async () => {
    const res = await app.request("/admin/history/demo/app/_tags/v1");
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.equal(body["windowMs"], 7 * 86_400_000);
    const entries = body["entries"] as Array<Record<string, unknown>>;
    assert.deepEqual(
      entries.map((e) => [e["type"], e["user"], e["replica"], e["expired"]]),
      [
        ["TagDeleted", "alice", "test/1", false],
        ["TagMoved", "alice", "test/1", false],
      ],
    );
  });

  it("GET a repository (with a limit), the repositories and the held manifests", async () => {
    const repo = await json(await app.request("/admin/history/demo/app?limit=2"));
    assert.equal((repo["entries"] as unknown[]).length, 2);
    const repos = await json(await app.request("/admin/history"));
    assert.deepEqual(
      (repos["repositories"] as Array<{ repository: string }>).map((r) => r.repository),
      ["demo/app"],
    );
    const held = await json(await app.request("/admin/history/_held"));
    assert.deepEqual(
      (held["manifests"] as Array<{ digest: string }>).map((m) => m.digest),
      [D],
    );
  });

  it("bad input: OCI errors with the right status, nothing recorded", async () => {
    const cases: Array<[string, string, string, number, string?]> = [
      ["GET", "/admin/history/Demo/App", "NAME_INVALID", 400],
      ["GET", "/admin/history/demo/app/_tags/-bad", "TAG_INVALID", 400],
      ["GET", "/admin/history/demo/app?limit=0", "PAGINATION_NUMBER_INVALID", 400],
      ["POST", "/admin/history/demo/app/_tags/v1/_undelete", "UNSUPPORTED", 400, "not json"],
      ["POST", "/admin/history/demo/app/_tags/v1/_undelete", "DIGEST_INVALID", 400, '{"to":"sha256:xyz"}'],
      ["POST", "/admin/history/demo/app", "UNSUPPORTED", 405],
    ];
    for (const [method, path, code, status, body] of cases) {
      const res = await app.request(path, { method, ...(body ? { body } : {}) });
      assert.equal(res.status, status, `${method} ${path}`);
      const errors = (await json(res))["errors"] as Array<{ code: string }>;
      assert.equal(errors[0]?.code, code, `${method} ${path}`);
    }
    assert.equal((await history.repositoryEntries("demo/app")).length, 3);
  });

  it("DELETE purges a tag's entries at once; the held manifests follow", async () => {
    const res = await app.request("/admin/history/demo/app/_tags/v1", {
      method: "DELETE",
      body: '{"user":"root"}',
    });
    assert.deepEqual(await json(res), { repository: "demo/app", tag: "v1", removed: 2 });
    const entries = await history.tagEntries("demo/app", "v1");
    assert.deepEqual(
      entries.map((e) => [e.type, e.user]),
      [["HistoryPurged", "root"]],
    );
    assert.equal((await history.held()).manifests.length, 1, "v2 still holds the digest");
  });
});
