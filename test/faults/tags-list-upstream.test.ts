/**
 * Upstream answers a real 2.8 registry will not give on demand (5xx, 429, HTML
 * from a front proxy, a broken body, silence, its own pagination as distribution 3
 * does), from a scripted fake upstream.
 */
import assert from "node:assert/strict";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { request } from "../helpers/http.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";

type Script = (req: IncomingMessage, res: ServerResponse) => void;

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(`${JSON.stringify(body)}\n`);
};

const SCRIPTS: Record<string, Script> = {
  "/v2/fail/500/tags/list": (_q, res) =>
    json(res, 500, { errors: [{ code: "UNKNOWN", message: "unknown error", detail: "disk on fire" }] }),
  "/v2/fail/429/tags/list": (_q, res) =>
    json(res, 429, { errors: [{ code: "TOOMANYREQUESTS", message: "slow down" }] }, { "retry-after": "7" }),
  "/v2/fail/403/tags/list": (_q, res) =>
    json(
      res,
      403,
      { errors: [{ code: "DENIED", message: "denied" }] },
      { "www-authenticate": 'Basic realm="x"' },
    ),
  "/v2/fail/html/tags/list": (_q, res) => {
    res.writeHead(502, { "content-type": "text/html" });
    res.end("<html><body>502 Bad Gateway</body></html>");
  },
  "/v2/fail/garbage/tags/list": (_q, res) => json(res, 200, { name: "fail/garbage", tags: "nope" }),
  "/v2/fail/silent/tags/list": () => {},
  "/v2/paged/tags/list": (req, res) => {
    const all = ["e", "d", "c", "b", "a", "F", "1"];
    const u = new URL(req.url ?? "/", "http://x");
    const last = u.searchParams.get("last");
    const start = last === null ? 0 : all.indexOf(last) + 1;
    const page = all.slice(start, start + 3);
    const more = start + 3 < all.length;
    json(
      res,
      200,
      { name: "paged", tags: page },
      more ? { link: `</v2/paged/tags/list?last=${page[page.length - 1]}&n=3>; rel="next"` } : {},
    );
  },
};

describe("tags list: upstream faults (scripted fake upstream)", () => {
  let upstream: http.Server;
  let proxy: TestProxy;
  let asked: string[] = [];

  before(async () => {
    upstream = http.createServer((req, res) => {
      asked.push(req.url ?? "");
      const path = (req.url ?? "").split("?")[0]!;
      const script = SCRIPTS[path];
      if (script) script(req, res);
      else {
        res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
        res.end("404 page not found\n");
      }
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    const port = (upstream.address() as AddressInfo).port;
    proxy = await startProxy(`http://127.0.0.1:${port}`, { upstream: { requestTimeoutMs: 300 } });
  });
  after(async () => {
    await proxy?.stop();
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
  });

  const get = (path: string) => request("GET", `${proxy.url}${path}`);
  const code = (text: string) => (JSON.parse(text) as { errors: Array<{ code: string }> }).errors[0]!.code;

  it("an upstream 500 with OCI JSON is relayed with its status and body", async () => {
    const res = await get("/v2/fail/500/tags/_list");
    assert.equal(res.status, 500);
    assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
    assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
    assert.match(res.text, /disk on fire/);
  });

  it("an upstream 429 keeps its Retry-After; a 403 keeps its challenge", async () => {
    const res = await get("/v2/fail/429/tags/_list?n=1");
    assert.equal(res.status, 429);
    assert.equal(res.headers["retry-after"], "7");
    assert.equal(code(res.text), "TOOMANYREQUESTS");
    const denied = await get("/v2/fail/403/tags/list");
    assert.equal(denied.status, 403);
    assert.equal(denied.headers["www-authenticate"], 'Basic realm="x"');
    assert.equal(code(denied.text), "DENIED");
  });

  it("an HTML error page from the upstream side becomes OCI JSON with the same status", async () => {
    const res = await get("/v2/fail/html/tags/_list");
    assert.equal(res.status, 502);
    assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
    assert.equal(code(res.text), "UNKNOWN");
  });

  it("a 200 that is not a tags list answers 502 UNKNOWN", async () => {
    const res = await get("/v2/fail/garbage/tags/_list");
    assert.equal(res.status, 502);
    assert.equal(code(res.text), "UNKNOWN");
  });

  it("an upstream that does not answer in time gives 504 UNAVAILABLE", async () => {
    const res = await get("/v2/fail/silent/tags/_list");
    assert.equal(res.status, 504);
    assert.equal(code(res.text), "UNAVAILABLE");
  });

  it("the upstream's text/plain 404 becomes 404 NAME_UNKNOWN", async () => {
    const res = await get("/v2/nothing/here/tags/_list");
    assert.equal(res.status, 404);
    assert.equal(code(res.text), "NAME_UNKNOWN");
  });

  it("an upstream that paginates itself is followed to the end, then paginated by the proxy", async () => {
    asked = [];
    const res = await get("/v2/paged/tags/_list?n=4");
    assert.deepEqual(res.json(), { name: "paged", tags: ["1", "F", "a", "b"] });
    assert.equal(res.headers.link, '</v2/paged/tags/_list?n=4&last=b>; rel="next"');
    assert.deepEqual(asked, [
      "/v2/paged/tags/list",
      "/v2/paged/tags/list?last=c&n=3",
      "/v2/paged/tags/list?last=F&n=3",
    ]);
  });
});
