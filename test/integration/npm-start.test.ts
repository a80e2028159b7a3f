/**
 * `npm start` as the README runs it, under a supervisor that stops it with
 * SIGTERM: npm forwards the signal to its script's shell, and the script `exec`s
 * the proxy, so the proxy itself gets it, shuts down gracefully and takes its
 * embedded docker-registry with it (before, the shell died and left both running).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { request } from "../helpers/http.js";
import { alive, gone } from "../helpers/pids.js";
import { requireTools } from "../helpers/prereq.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

describe("npm start under a supervisor", () => {
  it("SIGTERM to npm stops the proxy gracefully and its embedded registry with it", async () => {
    requireTools("docker-registry");
    const dir = mkdtempSync(join(tmpdir(), "rcp-npm-start-"));
    // setpriv: the kernel kills npm if the test process dies.
    const npm = spawn("setpriv", ["--pdeathsig", "KILL", "npm", "start"], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: "0",
        HOST: "127.0.0.1",
        METRICS_PORT: "0",
        LOG_FORMAT: "json",
        DATA_DIR: join(dir, "data"),
        DELETE_JOURNAL: join(dir, "tag-delete-journal.jsonl"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) =>
      npm.once("exit", (code, signal) => r({ code, signal })),
    );
    let out = "";
    const lines: Record<string, unknown>[] = [];
    npm.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      for (const text of out.split("\n").filter((l) => l.startsWith("{"))) {
        if (!lines.some((l) => JSON.stringify(l) === text)) lines.push(JSON.parse(text));
      }
    });
    npm.stderr.on("data", (c: Buffer) => {
      out += c.toString();
    });
    const line = (msg: string) => lines.find((l) => l["msg"] === msg);
    let registryPid = 0;
    try {
      const deadline = Date.now() + 120_000;
      while (!line("proxy listening")) {
        assert.ok(Date.now() < deadline, `npm start never listened:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      registryPid = line("embedded docker-registry started")?.["pid"] as number;
      assert.ok(registryPid > 0 && alive(registryPid), "the embedded registry runs");
      const port = line("proxy listening")?.["port"] as number;
      const base = await request("GET", `http://127.0.0.1:${port}/v2/`);
      assert.equal(base.status, 200, base.text);

      npm.kill("SIGTERM");
      const { code, signal } = await exited;
      assert.ok(code !== null || signal !== null);
      // npm exits with its child; the child's last lines may still be in the pipe.
      const flushed = Date.now() + 30_000;
      while (!line("stopped")) {
        assert.ok(Date.now() < flushed, `the proxy itself never shut down:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(line("shutting down"));
      assert.ok(await gone(registryPid), "the embedded registry outlived npm start");
      await assert.rejects(request("GET", `http://127.0.0.1:${port}/v2/`), "nothing listens any more");
    } finally {
      npm.kill("SIGKILL");
      if (registryPid && alive(registryPid)) process.kill(registryPid, "SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
