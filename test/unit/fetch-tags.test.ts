import assert from "node:assert/strict";
import type { IncomingHttpHeaders } from "node:http";
import { describe, it } from "node:test";
import { fetchUpstreamTags, nextUpstreamPath, readTags } from "../../src/tags/fetch-tags.js";
import type { UpstreamClient, UpstreamRequest, UpstreamResponse } from "../../src/upstream/client.js";
import { originSet } from "../../src/upstream/rewrite.js";

/** A stand-in client answering from a table of path → response; records the paths asked. */
function stubClient(base: string, answers: Record<string, Partial<UpstreamResponse> & { json?: unknown }>) {
  const asked: UpstreamRequest[] = [];
  const url = new URL(base);
  const client = {
    target: { url, origins: originSet([url.origin]) },
    async request(req: UpstreamRequest): Promise<UpstreamResponse> {
      asked.push(req);
      const a = answers[req.path];
      if (!a) return { status: 404, headers: {}, body: Buffer.from("404 page not found\n") };
      const body = a.json !== undefined ? Buffer.from(JSON.stringify(a.json)) : (a.body ?? Buffer.alloc(0));
      return { status: a.status ?? 200, headers: (a.headers ?? {}) as IncomingHttpHeaders, body };
    },
  } as unknown as UpstreamClient;
  return { client, asked };
}

describe("readTags", () => {
  const cases: Array<[string, string[] | null]> = [
    ['{"name":"a","tags":["b","a"]}\n', ["b", "a"]],
    ['{"name":"a","tags":null}', []],
    ['{"name":"a"}', []],
    ['{"name":"a","tags":[]}', []],
    ['{"name":"a","tags":"x"}', null],
    ['{"name":"a","tags":[1]}', null],
    ["[]", null],
    ["null", null],
    ["<html>", null],
  ];
  for (const [body, expected] of cases) {
    it(`${body.trim()} → ${JSON.stringify(expected)}`, () =>
      assert.deepEqual(readTags(Buffer.from(body)), expected));
  }
});

describe("nextUpstreamPath", () => {
  const { client } = stubClient("http://up:5000", {});
  const { client: prefixed } = stubClient("http://up:5000/reg", {});
  const cases: Array<[UpstreamClient, string, string | null]> = [
    [client, "/v2/a/b/tags/list?last=x&n=2", "/v2/a/b/tags/list?last=x&n=2"],
    [client, "http://up:5000/v2/a/b/tags/list?n=2", "/v2/a/b/tags/list?n=2"],
    [client, "http://UP:5000/v2/a/b/tags/list?n=2", "/v2/a/b/tags/list?n=2"],
    [client, "http://elsewhere/v2/a/b/tags/list?n=2", null],
    [client, "/v2/other/tags/list?n=2", null],
    [client, "/v2/a/b/manifests/x", null],
    [prefixed, "/reg/v2/a/b/tags/list?n=2", "/v2/a/b/tags/list?n=2"],
  ];
  for (const [c, link, expected] of cases) {
    it(`${c.target.url.href} ${link} → ${expected}`, () =>
      assert.equal(nextUpstreamPath(link, "a/b", c), expected));
  }
});

describe("fetchUpstreamTags", () => {
  it("reads one unpaginated list (2.8) and sorts it", async () => {
    const { client, asked } = stubClient("http://up:5000", {
      "/v2/r/tags/list": { json: { name: "r", tags: ["b", "A", "a", "_"] } },
    });
    assert.deepEqual(await fetchUpstreamTags(client, "r", { authorization: "Basic x" }), {
      tags: ["A", "_", "a", "b"],
    });
    assert.equal(asked.length, 1);
    assert.deepEqual(asked[0]!.headers, { authorization: "Basic x" }, "the caller's credentials go upstream");
  });

  it("maps tags: null to an empty list", async () => {
    const { client } = stubClient("http://up:5000", {
      "/v2/r/tags/list": { json: { name: "r", tags: null } },
    });
    assert.deepEqual(await fetchUpstreamTags(client, "r", {}), { tags: [] });
  });

  it("follows an upstream that paginates itself (distribution 3) to the end", async () => {
    const { client, asked } = stubClient("http://up:5000", {
      "/v2/r/tags/list": {
        json: { name: "r", tags: ["c", "d"] },
        headers: { link: '</v2/r/tags/list?last=d&n=2>; rel="next"' },
      },
      "/v2/r/tags/list?last=d&n=2": {
        json: { name: "r", tags: ["a", "e"] },
        headers: { link: '<http://up:5000/v2/r/tags/list?last=e&n=2>; rel="next"' },
      },
      "/v2/r/tags/list?last=e&n=2": { json: { name: "r", tags: ["b"] } },
    });
    assert.deepEqual(await fetchUpstreamTags(client, "r", {}), { tags: ["a", "b", "c", "d", "e"] });
    assert.equal(asked.length, 3);
  });

  it("returns a non-200 answer as a failure, untouched", async () => {
    const { client } = stubClient("http://up:5000", {
      "/v2/r/tags/list": { status: 401, headers: { "www-authenticate": "Basic" }, body: Buffer.from("{}") },
    });
    const got = await fetchUpstreamTags(client, "r", {});
    assert.ok("failure" in got && got.failure.kind === "status");
    assert.equal(got.failure.response.status, 401);
  });

  it("refuses a body that is not a tags list, a Link elsewhere and a Link loop", async () => {
    const answers: Array<Record<string, Partial<UpstreamResponse> & { json?: unknown }>> = [
      { "/v2/r/tags/list": { body: Buffer.from("<html>") } },
      {
        "/v2/r/tags/list": {
          json: { tags: ["a"] },
          headers: { link: '<http://evil/v2/r/tags/list?n=1>; rel="next"' },
        },
      },
      {
        "/v2/r/tags/list": { json: { tags: ["a"] }, headers: { link: '</v2/r/tags/list>; rel="next"' } },
      },
    ];
    for (const a of answers) {
      const { client } = stubClient("http://up:5000", a);
      const got = await fetchUpstreamTags(client, "r", {});
      assert.ok("failure" in got && got.failure.kind === "invalid", JSON.stringify(got));
    }
  });
});
