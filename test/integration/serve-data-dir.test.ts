/**
 * `serve` as a newcomer restarts it: a WARN when the upstream does not answer at
 * start (the proxy still starts), one serve per data directory (a second one
 * refuses with the first one's address; a lock left by a killed serve is taken
 * over), and the embedded registry keeping its port across restarts (a new one,
 * said so, when that port is taken). Real processes, the real docker-registry.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { closedPort } from "../helpers/net.js";
import { requireTools } from "../helpers/prereq.js";
import { type ProxyProcess, spawnProxy } from "../helpers/proxy-process.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

function serveOnce(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "src/cli.ts", "serve"],
      {
        cwd: ROOT,
        env: { ...process.env, PORT: "0", HOST: "127.0.0.1", LOG_FORMAT: "json", ...env },
        timeout: 60_000,
      },
      (err, stdout, stderr) => res({ code: err ? Number(err.code) : 0, stdout, stderr }),
    );
  });
}

async function logged(p: ProxyProcess, test: (l: Record<string, unknown>) => boolean) {
  const end = Date.now() + 20_000;
  for (;;) {
    const line = p.lines().find(test);
    if (line) return line;
    assert.ok(Date.now() < end, `no such log line: ${JSON.stringify(p.lines())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("serve: an unreachable upstream, one serve per data dir, the embedded registry's port", () => {
  let dir: string;
  const running: ProxyProcess[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "rcp-serve-dir-"));
  });
  after(async () => {
    for (const p of running) p.kill();
    await Promise.all(running.map((p) => p.exited));
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async (env: Record<string, string>) => {
    const p = await spawnProxy(env, 60_000);
    running.push(p);
    return p;
  };

  it("an upstream that refuses connections is a WARN naming it and the error; the proxy still listens", async () => {
    const upstream = `http://127.0.0.1:${await closedPort()}`;
    const p = await start({
      UPSTREAM_URL: upstream,
      DATA_DIR: join(dir, "warn"),
      DELETE_JOURNAL: join(dir, "warn.jsonl"),
    });
    const warn = await logged(p, (l) => l["level"] === 40 && l["upstream"] === upstream);
    assert.match(
      String(warn["msg"]),
      new RegExp(`upstream registry ${upstream} is unreachable \\(.*ECONNREFUSED`),
    );
    const health = await fetch(`${p.url}/healthz`);
    assert.equal(health.status, 200, "the proxy answers");
  });

  it("a second serve on the same data dir exits 1 naming the first one's address; a killed one's lock is taken over", async () => {
    const upstream = `http://127.0.0.1:${await closedPort()}`;
    const env = {
      UPSTREAM_URL: upstream,
      DATA_DIR: join(dir, "shared"),
      DELETE_JOURNAL: join(dir, "s.jsonl"),
    };
    const first = await start(env);
    const second = await serveOnce({ ...env, DELETE_JOURNAL: join(dir, "s2.jsonl") });
    assert.equal(second.code, 1, second.stderr);
    assert.match(
      second.stderr,
      new RegExp(`another serve \\(pid \\d+\\) uses the data dir .*listening on ${first.url}`),
    );
    // The first one's published admin address is untouched.
    const published = JSON.parse(readFileSync(join(dir, "shared", "proxy-address.json"), "utf8"));
    assert.equal(published.url, first.url);

    first.kill();
    await first.exited;
    const third = await start(env);
    const took = await logged(third, (l) => l["msg"] === "took over a stale serve lock");
    assert.equal((took["stale"] as { url: string }).url, first.url);
  });

  it("the embedded registry listens on the port it had, and on a new one (said so) when that is taken", async () => {
    requireTools("docker-registry");
    const env = { DATA_DIR: join(dir, "embedded"), DELETE_JOURNAL: join(dir, "e.jsonl") };
    const registryPort = async (p: ProxyProcess) =>
      new URL(String((await p.waitForLog("embedded docker-registry started"))["upstream"])).port;
    const one = await start(env);
    const port = await registryPort(one);
    assert.equal(readFileSync(join(dir, "embedded", "registry", "port"), "utf8").trim(), port);
    one.child.kill("SIGTERM");
    assert.equal(await one.exited, 0);

    const two = await start(env);
    assert.equal(await registryPort(two), port, "the same port after a restart");
    two.child.kill("SIGTERM");
    assert.equal(await two.exited, 0);

    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(Number(port), "127.0.0.1", r));
    try {
      const three = await start(env);
      const other = await registryPort(three);
      assert.notEqual(other, port);
      const warn = await logged(three, (l) => l["level"] === 40 && l["previous"] === Number(port));
      assert.match(String(warn["msg"]), new RegExp(`port ${port} .* is taken: it listens on ${other} now`));
    } finally {
      squatter.close();
    }
  });
});
