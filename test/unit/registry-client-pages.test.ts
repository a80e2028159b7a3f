/**
 * The registry client's paginated lists (tagList, catalog) against a scripted
 * loopback server answering from a table of path → answer: one page (2.8), a
 * registry that paginates itself (distribution 3) followed to the end, `null`
 * tags, and what it refuses to follow (a body that is not a list, a Link to
 * another origin, a Link loop).
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { createRegistryClient } from "../../src/registry-client/client.js";
import { asCaller, PLAIN } from "../../src/registry-client/credentials.js";
import { isFailed } from "../../src/registry-client/failure.js";

interface Answer {
  status?: number;
  json?: unknown;
  body?: string;
  headers?: Record<string, string>;
}

/** Serves `answers` (by path and query, as sent) under `prefix`; `fn` gets the registry's URL and the requests seen. */
async function withRegistry(
  answers: Record<string, Answer>,
  fn: (url: string, seen: http.IncomingMessage[]) => Promise<void>,
  prefix = "",
): Promise<void> {
  const seen: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req);
    const a = answers[(req.url ?? "").slice(prefix.length)];
    if (!a) {
      res.writeHead(404).end("404 page not found\n");
      return;
    }
    const body = a.json !== undefined ? JSON.stringify(a.json) : (a.body ?? "");
    res.writeHead(a.status ?? 200, { "content-type": "application/json", ...a.headers }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}${prefix}`, seen);
  } finally {
    server.close();
  }
}

describe("tagList: every page of a repository's tags", () => {
  it("reads one unpaginated list (2.8) with the caller's own headers", async () => {
    await withRegistry(
      { "/v2/r/tags/list": { json: { name: "r", tags: ["b", "A", "a", "_"] } } },
      async (url, seen) => {
        const client = createRegistryClient({ url, timeoutMs: 5000 });
        try {
          assert.deepEqual(await client.as(asCaller({ authorization: "Basic x" })).tagList("r"), [
            "b",
            "A",
            "a",
            "_",
          ]);
          assert.equal(seen.length, 1);
          assert.equal(seen[0]!.headers.authorization, "Basic x", "the caller's credentials go upstream");
        } finally {
          await client.close();
        }
      },
    );
  });

  it("maps tags: null to an empty list", async () => {
    await withRegistry({ "/v2/r/tags/list": { json: { name: "r", tags: null } } }, async (url) => {
      const client = createRegistryClient({ url, timeoutMs: 5000 });
      try {
        assert.deepEqual(await client.as(PLAIN).tagList("r"), []);
      } finally {
        await client.close();
      }
    });
  });

  it("follows a registry that paginates itself (distribution 3) to the end, under a path prefix", async () => {
    const answers: Record<string, Answer> = {
      "/v2/r/tags/list": {
        json: { name: "r", tags: ["c", "d"] },
        headers: { link: '</reg/v2/r/tags/list?last=d&n=2>; rel="next"' },
      },
      "/v2/r/tags/list?last=d&n=2": { json: { name: "r", tags: ["a", "e"] }, headers: {} },
      "/v2/r/tags/list?last=e&n=2": { json: { name: "r", tags: ["b"] } },
    };
    await withRegistry(
      answers,
      async (url, seen) => {
        answers["/v2/r/tags/list?last=d&n=2"]!.headers = {
          link: `<${url}/v2/r/tags/list?last=e&n=2>; rel="next"`,
        };
        const client = createRegistryClient({ url, timeoutMs: 5000 });
        try {
          assert.deepEqual(await client.as(PLAIN).tagList("r"), ["c", "d", "a", "e", "b"]);
          assert.equal(seen.length, 3);
        } finally {
          await client.close();
        }
      },
      "/reg",
    );
  });

  it("returns a non-200 answer as a status failure, untouched", async () => {
    await withRegistry(
      { "/v2/r/tags/list": { status: 401, headers: { "www-authenticate": "Basic" }, body: "{}" } },
      async (url) => {
        const client = createRegistryClient({ url, timeoutMs: 5000 });
        try {
          const got = await client.as(PLAIN).tagList("r");
          assert.ok(isFailed(got) && got.kind === "status");
          assert.equal(got.status, 401);
          assert.equal(got.headers["www-authenticate"], "Basic");
        } finally {
          await client.close();
        }
      },
    );
  });

  it("refuses a body that is not a tags list, a Link elsewhere and a Link loop", async () => {
    const tables: Array<Record<string, Answer>> = [
      { "/v2/r/tags/list": { body: "<html>" } },
      {
        "/v2/r/tags/list": {
          json: { tags: ["a"] },
          headers: { link: '<http://evil/v2/r/tags/list?n=1>; rel="next"' },
        },
      },
      { "/v2/r/tags/list": { json: { tags: ["a"] }, headers: { link: '</v2/r/tags/list>; rel="next"' } } },
      {
        "/v2/r/tags/list": { json: { tags: ["a"] }, headers: { link: '</v2/other/tags/list>; rel="next"' } },
      },
    ];
    for (const answers of tables) {
      await withRegistry(answers, async (url) => {
        const client = createRegistryClient({ url, timeoutMs: 5000 });
        try {
          const got = await client.as(PLAIN).tagList("r");
          assert.ok(isFailed(got) && got.kind === "invalid", JSON.stringify(got));
        } finally {
          await client.close();
        }
      });
    }
  });
});

describe("catalog: every page", () => {
  it("asks pages of the size given and follows them", async () => {
    await withRegistry(
      {
        "/v2/_catalog?n=2": {
          json: { repositories: ["a", "b"] },
          headers: { link: '</v2/_catalog?last=b&n=2>; rel="next"' },
        },
        "/v2/_catalog?last=b&n=2": { json: { repositories: ["c"] } },
      },
      async (url) => {
        const client = createRegistryClient({ url, timeoutMs: 5000 });
        try {
          assert.deepEqual(await client.as(PLAIN).catalog({ pageSize: 2 }), ["a", "b", "c"]);
        } finally {
          await client.close();
        }
      },
    );
  });
});
