/**
 * The raw upstream client (src/upstream/raw-client.ts) against faults a real
 * registry will not produce on demand, scripted on raw TCP
 * (test/helpers/raw-upstream.ts): refused connections, silence, aborts, bodies
 * over the cap, malformed and cut responses, stale keep-alive sockets (GET and
 * HEAD retried once on a new connection; DELETE and PUT never sent twice), and
 * what it reuses and what it does not. Each test has its own scripted upstream.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config.js";
import { createUpstreamClient, UpstreamError } from "../../src/upstream/client.js";
import { createRawUpstreamClient, type RawUpstreamClient } from "../../src/upstream/raw-client.js";
import { createUpstreamTarget, type UpstreamTarget } from "../../src/upstream/target.js";
import { closedPort } from "../helpers/net.js";
import { startProxy } from "../helpers/proxy.js";
import { answer, type RawScript, type RawUpstream, startRawUpstream } from "../helpers/raw-upstream.js";

interface Rig {
  up: RawUpstream;
  target: UpstreamTarget;
  client: RawUpstreamClient;
}

function targetFor(url: string, upstream: Record<string, unknown> = {}): UpstreamTarget {
  return createUpstreamTarget(loadConfig({ env: {}, overrides: { upstream: { url, ...upstream } } }), url);
}

/** A scripted upstream and a raw client for it, closed after `fn`. */
async function withUpstream(
  script: RawScript,
  fn: (rig: Rig) => Promise<void>,
  upstream: Record<string, unknown> = {},
): Promise<void> {
  const up = await startRawUpstream(script);
  const target = targetFor(up.url, upstream);
  const client = createRawUpstreamClient(target);
  try {
    await fn({ up, target, client });
  } finally {
    client.close();
    target.agent.destroy();
    await up.stop();
  }
}

async function rejection(p: Promise<unknown>): Promise<UpstreamError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof UpstreamError, `expected an UpstreamError, got ${String(e)}`);
    return e;
  }
  assert.fail("the call should have failed");
}

const GET = { method: "GET", path: "/v2/a/tags/list" };

describe("raw upstream client: transport faults", () => {
  it("GET to a port nobody listens on → unreachable (ECONNREFUSED)", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const target = targetFor(url);
    const client = createRawUpstreamClient(target);
    try {
      const e = await rejection(client.request(GET));
      assert.equal(e.kind, "unreachable");
      assert.equal(e.message, "upstream GET failed: ECONNREFUSED");
    } finally {
      client.close();
    }
  });

  it("GET to an upstream that never answers → timeout after timeoutMs, its connection closed", async () => {
    await withUpstream(
      () => {},
      async ({ up, client }) => {
        const started = Date.now();
        const e = await rejection(client.request(GET));
        assert.equal(e.kind, "timeout");
        assert.equal(e.message, "upstream did not answer GET within 200 ms");
        assert.ok(Date.now() - started >= 190, `timed out after ${Date.now() - started} ms`);
        await up.whenClosed(0);
        // A per-call timeout shorter than the target's.
        const short = await rejection(client.request({ ...GET, timeoutMs: 50 }));
        assert.equal(short.message, "upstream did not answer GET within 50 ms");
      },
      { requestTimeoutMs: 200 },
    );
  });

  it("GET aborted by its signal while waiting → aborted, connection closed; already aborted → nothing sent", async () => {
    await withUpstream(
      () => {},
      async ({ up, client }) => {
        const ac = new AbortController();
        const call = client.request({ ...GET, signal: ac.signal });
        while (up.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
        ac.abort();
        const e = await rejection(call);
        assert.equal(e.kind, "aborted");
        assert.equal(e.message, "request aborted by the client");
        await up.whenClosed(0);
        const before = up.connections();
        const again = await rejection(client.request({ ...GET, signal: AbortSignal.abort() }));
        assert.equal(again.kind, "aborted");
        assert.equal(up.connections(), before);
      },
    );
  });

  it("a body over maxBodyBytes (by Content-Length, chunked, or to the close) → too-large, connection closed", async () => {
    const bodies = [
      "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello world",
    ];
    await withUpstream(
      ({ socket, conn }) => socket.write(bodies[conn]!),
      async ({ up, client }) => {
        for (let i = 0; i < bodies.length; i++) {
          const e = await rejection(client.request({ ...GET, maxBodyBytes: 10 }));
          assert.equal(e.kind, "too-large", bodies[i]);
          assert.equal(e.message, "upstream body exceeds 10 bytes");
          await up.whenClosed(i);
        }
        // At the cap exactly: fine.
        up.script = ({ socket }) => answer(socket, "0123456789");
        const ok = await client.request({ ...GET, maxBodyBytes: 10 });
        assert.equal(ok.body.toString(), "0123456789");
      },
    );
  });

  it("a malformed status line, header or chunk → reset, connection closed", async () => {
    const answers = [
      "HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n",
      "ICY 200 OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-Evil: a\rb\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    ];
    await withUpstream(
      ({ socket, conn }) => socket.write(answers[conn]!),
      async ({ up, client }) => {
        for (let i = 0; i < answers.length; i++) {
          const e = await rejection(client.request(GET));
          assert.equal(e.kind, "reset", answers[i]);
          await up.whenClosed(i);
        }
      },
    );
  });

  it("a chunked body cut by the upstream closing → reset ('response broke'), not a short body", async () => {
    await withUpstream(
      ({ socket }) =>
        socket.end("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n wo"),
      async ({ client }) => {
        const e = await rejection(client.request(GET));
        assert.equal(e.kind, "reset");
        assert.match(e.message, /^upstream response broke: /);
      },
    );
    await withUpstream(
      ({ socket }) => socket.end("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"),
      async ({ client }) => {
        const e = await rejection(client.request(GET));
        assert.equal(e.kind, "reset");
      },
    );
  });

  it("a header value with CR or LF from the caller → TypeError before anything is written", async () => {
    await withUpstream(
      ({ socket }) => answer(socket),
      async ({ up, client }) => {
        await assert.rejects(
          client.request({ ...GET, headers: { authorization: "Basic x\r\nX-Injected: 1" } }),
          (e: unknown) => e instanceof TypeError && (e as NodeJS.ErrnoException).code === "ERR_INVALID_CHAR",
        );
        await new Promise((r) => setTimeout(r, 20));
        assert.equal(up.connections(), 0);
      },
    );
  });
});

describe("raw upstream client: keep-alive and retries", () => {
  it("GET on a stale kept-alive socket (closed unanswered) → sent once more on a new connection → 200", async () => {
    await withUpstream(
      ({ socket, conn, index }) => {
        if (conn === 0 && index === 1) socket.destroy();
        else answer(socket, `{"conn":${conn}}`);
      },
      async ({ up, client }) => {
        assert.equal((await client.request(GET)).body.toString(), '{"conn":0}');
        const res = await client.request(GET);
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), '{"conn":1}');
        assert.equal(up.seen.length, 3);
        assert.equal(up.connections(), 2);
      },
    );
  });

  it("HEAD on a stale kept-alive socket → retried once too; a retry that fails as well → reset, two sends only", async () => {
    await withUpstream(
      ({ socket, conn, index }) => {
        if (conn === 0 && index === 0) answer(socket);
        else socket.destroy();
      },
      async ({ up, client }) => {
        await client.request(GET);
        const e = await rejection(client.request({ method: "HEAD", path: "/v2/a/manifests/x" }));
        assert.equal(e.kind, "reset");
        assert.equal(up.seen.filter((x) => x.line.startsWith("HEAD ")).length, 2);
      },
    );
  });

  it("DELETE goes on a new connection (never a kept-alive one) and is never sent twice", async () => {
    await withUpstream(
      ({ socket, line }) => {
        if (line.startsWith("DELETE ")) socket.destroy();
        else answer(socket);
      },
      async ({ up, client }) => {
        await client.request(GET); // leaves a free kept-alive socket
        const e = await rejection(client.request({ method: "DELETE", path: "/v2/a/manifests/sha256:0" }));
        assert.equal(e.kind, "reset");
        const deletes = up.seen.filter((x) => x.line.startsWith("DELETE "));
        assert.equal(deletes.length, 1);
        assert.equal(deletes[0]!.conn, 1, "the DELETE went on a new connection");
        assert.match(deletes[0]!.head, /\r\nContent-Length: 0\r\n/);
        // The kept-alive socket is still there for the next GET.
        await client.request(GET);
        assert.equal(up.seen.at(-1)!.conn, 0);
      },
    );
  });

  it("PUT with a body goes on a new connection with its Content-Length and body, sent once", async () => {
    // Head and body arrive together: this upstream reads whole requests itself.
    const requests: Array<{ conn: number; text: string }> = [];
    const sockets: net.Socket[] = [];
    const server = net.createServer((socket) => {
      const conn = sockets.push(socket) - 1;
      let buf = "";
      socket.on("data", (d: Buffer) => {
        buf += d.toString("latin1");
        const end = buf.indexOf("\r\n\r\n");
        if (end === -1) return;
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        requests.push({ conn, text: buf.slice(0, end + 4 + length) });
        buf = buf.slice(end + 4 + length);
        socket.write(
          "HTTP/1.1 201 Created\r\nLocation: /v2/a/manifests/sha256:1\r\nContent-Length: 0\r\n\r\n",
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const target = targetFor(url);
    const client = createRawUpstreamClient(target);
    try {
      await client.request(GET);
      const res = await client.request({
        method: "PUT",
        path: "/v2/a/manifests/t",
        headers: { "content-type": "application/json" },
        body: Buffer.from('{"a":1}'),
      });
      assert.equal(res.status, 201);
      assert.equal(res.headers["location"], "/v2/a/manifests/sha256:1");
      const puts = requests.filter((r) => r.text.startsWith("PUT "));
      assert.equal(puts.length, 1);
      assert.equal(puts[0]!.conn, 1, "the PUT went on a new connection");
      assert.match(puts[0]!.text, /\r\ncontent-type: application\/json\r\nContent-Length: 7\r\n/);
      assert.ok(puts[0]!.text.endsWith('\r\n\r\n{"a":1}'));
    } finally {
      client.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  it("sequential GETs and HEADs reuse one connection; Connection: close, HTTP/1.0 and extra bytes end it", async () => {
    await withUpstream(
      ({ socket, line }) => {
        const path = line.split(" ")[1]!;
        if (path === "/head") socket.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
        else if (path === "/close")
          socket.write("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
        else if (path === "/old") socket.end("HTTP/1.0 200 OK\r\n\r\nuntil the close");
        else if (path === "/extra") socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK");
        else answer(socket, "{}");
      },
      async ({ up, client }) => {
        for (let i = 0; i < 3; i++) await client.request({ method: "GET", path: "/" });
        const head = await client.request({ method: "HEAD", path: "/head" });
        assert.equal(head.headers["content-length"], "5");
        assert.equal(head.body.length, 0);
        await client.request({ method: "GET", path: "/" });
        assert.equal(up.connections(), 1, "one kept-alive connection for five calls");
        const conns = (path: string) =>
          up.seen.filter((x) => x.line.split(" ")[1] === path).map((x) => x.conn);
        for (const path of ["/close", "/old", "/extra"]) {
          const res = await client.request({ method: "GET", path });
          assert.equal(res.status, 200);
          await client.request({ method: "GET", path: "/" });
          const [at] = conns(path);
          assert.notEqual(up.seen.at(-1)!.conn, at, `${path}: the next call went on a new connection`);
        }
        assert.equal(
          (await client.request({ method: "GET", path: "/old" })).body.toString(),
          "until the close",
        );
      },
    );
  });

  it("interim 1xx responses are skipped; the final response's headers and body are the answer", async () => {
    await withUpstream(
      ({ socket }) =>
        socket.write(
          "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n" +
            "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok",
        ),
      async ({ client }) => {
        const res = await client.request({ method: "DELETE", path: "/v2/a/manifests/sha256:1" });
        assert.equal(res.status, 202);
        assert.equal(res.headers["link"], undefined);
        assert.equal(res.body.toString(), "ok");
      },
    );
  });

  it("an upstream URL with a path prefix: the prefix goes before every path", async () => {
    const up = await startRawUpstream(({ socket }) => answer(socket));
    const target = targetFor(`${up.url}/mirror/`);
    const client = createRawUpstreamClient(target);
    try {
      await client.request(GET);
      assert.equal(up.seen[0]!.line, "GET /mirror/v2/a/tags/list HTTP/1.1");
    } finally {
      client.close();
      await up.stop();
    }
  });

  it("close() closes the free sockets; later calls fail as reset", async () => {
    await withUpstream(
      ({ socket }) => answer(socket),
      async ({ up, client }) => {
        await client.request(GET);
        client.close();
        await up.whenClosed(0);
        const e = await rejection(client.request(GET));
        assert.equal(e.kind, "reset");
      },
    );
  });
});

describe("raw upstream client: same answers as Node's client", () => {
  it("repeated, single-value and cookie headers fold as Node folds them; bodies by every framing", async () => {
    const answers = [
      "HTTP/1.1 200 OK\r\nContent-Type: a/b\r\ncontent-type: c/d\r\nLink: <1>\r\nLINK: <2>\r\n" +
        "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nWWW-Authenticate: Basic\r\nWww-Authenticate: Bearer\r\n" +
        "Location: /one\r\nLocation: /two\r\nX-Empty:\r\nContent-Length: 4\r\n\r\nbody",
      "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nTrailer: t\r\n\r\n",
      "HTTP/1.1 204 No Content\r\nDocker-Distribution-Api-Version: registry/2.0\r\n\r\n",
      "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nto the close",
    ];
    const up = await startRawUpstream(({ socket, line }) => {
      const i = Number(line.split(" ")[1]!.slice(1));
      if (i === 3) socket.end(answers[i]!);
      else socket.write(answers[i]!);
    });
    const target = targetFor(up.url);
    const raw = createRawUpstreamClient(target);
    const node = createUpstreamClient(target);
    try {
      for (let i = 0; i < answers.length; i++) {
        const r = await raw.request({ method: "GET", path: `/${i}` });
        const n = await node.request({ method: "GET", path: `/${i}` });
        assert.equal(r.status, n.status, answers[i]);
        assert.deepEqual(r.headers, n.headers, answers[i]);
        assert.equal(r.body.toString("latin1"), n.body.toString("latin1"), answers[i]);
      }
    } finally {
      raw.close();
      target.agent.destroy();
      await up.stop();
    }
  });

  it("the proxy's own tags list call goes through the raw client with the fast lane on, Node's with it off", async () => {
    const up = await startRawUpstream(({ socket }) => answer(socket, '{"name":"a","tags":["x"]}'));
    try {
      for (const fastLane of [true, false]) {
        const proxy = await startProxy(up.url, { proxy: { fastLane } });
        try {
          const res = await fetch(`${proxy.url}/v2/a/tags/_list`);
          assert.equal(res.status, 200);
          const head = up.seen.at(-1)!.head;
          assert.match(head, /^GET \/v2\/a\/tags\/list HTTP\/1\.1\r\n/);
          // The raw client writes `Host` first and capitalised; Node writes the lowercase key last.
          if (fastLane) assert.match(head, /^[^\r]*\r\nHost: /);
          else assert.match(head, /\r\nhost: /);
        } finally {
          await proxy.stop();
        }
      }
    } finally {
      await up.stop();
    }
  });
});
