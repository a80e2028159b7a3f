/**
 * `npm start` as the README runs it, under a supervisor that stops it with
 * SIGTERM: npm forwards the signal to its script's shell, and the script `exec`s
 * the proxy, so the proxy itself gets it, shuts down gracefully and takes its
 * embedded docker-registry with it (before, the shell died and left both running).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { startBigUpload } from "../helpers/big-upload.js";
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
      // The build puts the web UI's assets beside the compiled code.
      for (const asset of ["ui.css", "ui.js", "icon.svg"]) {
        const res = await request("GET", `http://127.0.0.1:${port}/ui/assets/${asset}`);
        assert.equal(res.status, 200, `${asset}: ${res.text}`);
      }

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

  it("SIGTERM to the whole process group (systemd's KillMode=control-group), twice, during a 64 MiB upload: the drain goes on, the upload completes (201), the proxy stops with nothing cut", async () => {
    requireTools("docker-registry");
    const dir = mkdtempSync(join(tmpdir(), "rcp-npm-start-group-"));
    // Its own process group (as a service's unit has), led by setpriv, which execs npm.
    const npm = spawn("setpriv", ["--pdeathsig", "KILL", "npm", "start"], {
      cwd: ROOT,
      detached: true,
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
    let pending = "";
    const lines: Record<string, unknown>[] = [];
    npm.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      pending += c.toString();
      const parts = pending.split("\n");
      pending = parts.pop() ?? "";
      for (const text of parts) if (text.startsWith("{")) lines.push(JSON.parse(text));
    });
    npm.stderr.on("data", (c: Buffer) => {
      out += c.toString();
    });
    const line = (msg: string) => lines.find((l) => l["msg"] === msg);
    const waitFor = async (msg: string) => {
      const deadline = Date.now() + 120_000;
      while (!line(msg)) {
        assert.ok(Date.now() < deadline, `no "${msg}" from npm start:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return line(msg)!;
    };
    let registryPid = 0;
    try {
      const port = (await waitFor("proxy listening"))["port"] as number;
      registryPid = line("embedded docker-registry started")?.["pid"] as number;
      const metrics = String(line("proxy listening")?.["metrics"]);
      const upload = await startBigUpload(`http://127.0.0.1:${port}`, "drain/npm", metrics);
      process.kill(-npm.pid!, "SIGTERM");
      await waitFor("shutting down");
      // Again within the grace period (npm forwards each one as well): the drain goes on.
      process.kill(-npm.pid!, "SIGTERM");
      const handled = Date.now() + 60_000;
      const seen = () =>
        lines.some((l) => /already shutting down|second (signal|Ctrl-C)/.test(String(l["msg"])));
      while (!seen() && npm.exitCode === null && npm.signalCode === null) {
        assert.ok(Date.now() < handled, `the second SIGTERM never reached the proxy:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      await upload.sendRest();
      const answer = await upload.answered;
      assert.equal(answer.status, 201, answer.body);
      await exited;
      const stopped = await waitFor("stopped");
      assert.equal(stopped["cutRequests"], 0);
      assert.ok(!line("second Ctrl-C: exiting without waiting"), "the drain was not cut short");
      const hex = upload.digest.slice("sha256:".length);
      const data = join(
        dir,
        "data/registry/storage/docker/registry/v2/blobs/sha256",
        hex.slice(0, 2),
        hex,
        "data",
      );
      assert.equal(statSync(data).size, upload.size, "the whole blob is in the registry's storage");
      assert.ok(await gone(registryPid), "the embedded registry stopped with the proxy");
    } finally {
      if (npm.exitCode === null && npm.signalCode === null) process.kill(-npm.pid!, "SIGKILL");
      if (registryPid && alive(registryPid)) process.kill(registryPid, "SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
