/**
 * deploy/nginx/README.md "Trying it locally", piece by piece as written there, on free
 * loopback ports: Debian's docker-registry with deploy/nginx/registry-local.yml (no htpasswd,
 * no blob cache, storage under ./data of where it starts), and run.sh --wait holding nginx
 * back until the registry and the proxy accept connections, so no client ever gets a 502.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseRegistryConfig } from "../../src/gc/registry-config.js";
import { findExecutable } from "../../src/registry/binary.js";
import { request } from "../helpers/http.js";
import { closedPort } from "../helpers/net.js";
import { exited, spawnRunSh } from "../helpers/nginx-tier.js";
import { makeImage, pushImage } from "../helpers/oci.js";
import { requireTools } from "../helpers/prereq.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CONFIG = join(ROOT, "deploy/nginx/registry-local.yml");
const README = readFileSync(join(ROOT, "deploy/nginx/README.md"), "utf8");

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the nginx tier tried locally", () => {
  let cwd: string;
  let registryPort: number;
  let proxy: TestProxy;
  const children: ChildProcess[] = [];

  before(async () => {
    requireTools("docker-registry", "nginx");
    cwd = mkdtempSync(join(tmpdir(), "rcp-tier-local-"));
    registryPort = await closedPort();
    // The proxy is up first; the registry comes later, as it may on a newcomer's machine.
    proxy = await startProxy(`http://127.0.0.1:${registryPort}`, {
      proxy: { trustForwardedHeaders: true },
    });
  });
  after(async () => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
      await exited(c);
    }
    await proxy?.stop();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it("the README's steps use registry-local.yml, run.sh --wait and no image from the internet", () => {
    const section = README.slice(README.indexOf("## Trying it locally"));
    const steps = section.slice(0, section.indexOf("\n## ", 3));
    assert.match(steps, /^docker-registry serve deploy\/nginx\/registry-local\.yml &/m);
    assert.match(steps, /^deploy\/nginx\/run\.sh --wait \d+ /m);
    assert.doesNotMatch(steps, /docker:\/\/(?!127\.0\.0\.1|localhost)/, "no pull from a public registry");
    assert.doesNotMatch(steps, /\/etc\/docker\/registry\/config\.yml`?\)?$/m);
  });

  it("registry-local.yml: no auth, deletes on, no blob descriptor cache, storage relative to where it starts", () => {
    const storage = parseRegistryConfig(readFileSync(CONFIG, "utf8"));
    assert.equal(storage.deleteEnabled, true);
    assert.equal(storage.blobDescriptorCache, null);
    assert.doesNotMatch(readFileSync(CONFIG, "utf8"), /^auth:/m);
  });

  it("run.sh --wait starts nginx only once the registry accepts connections: no 502, then a push and the tags list work", async () => {
    const nginxPort = await closedPort();
    const url = `http://127.0.0.1:${nginxPort}`;
    const tier = spawnRunSh([
      "--wait",
      "60",
      "--listen",
      `127.0.0.1:${nginxPort}`,
      "--registry",
      `http://127.0.0.1:${registryPort}`,
      "--proxy",
      proxy.url,
    ]);
    children.push(tier.child);
    const statuses: number[] = [];
    const probe = async () => {
      try {
        statuses.push((await request("GET", `${url}/v2/`)).status);
      } catch {
        // nginx not listening yet
      }
    };
    for (let i = 0; i < 10; i++) {
      await probe();
      await pause(100);
    }
    assert.equal(statuses.length, 0, `nothing answers while the registry is not up: ${statuses.join(" ")}`);
    assert.match(tier.stderr(), /run\.sh: waiting up to 60 s for the registry/);

    const registry = spawn(findExecutable("docker-registry") ?? "docker-registry", ["serve", CONFIG], {
      cwd,
      env: { ...process.env, REGISTRY_HTTP_ADDR: `127.0.0.1:${registryPort}` },
      stdio: "ignore",
    });
    children.push(registry);
    const deadline = Date.now() + 60_000;
    while (!statuses.includes(200) && Date.now() < deadline) {
      await probe();
      await pause(100);
    }
    assert.ok(statuses.includes(200), `${tier.stderr()}`);
    assert.ok(!statuses.includes(502) && !statuses.includes(401), statuses.join(" "));

    await pushImage(url, "demo/app", makeImage({ layerCount: 1, layerSize: 1024 }), ["1.0"]);
    const list = await request("GET", `${url}/v2/demo/app/tags/_list?n=10`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.json<{ tags: string[] }>().tags, ["1.0"]);
    assert.ok(existsSync(join(cwd, "data/nginx-tier-registry/docker/registry/v2/repositories/demo/app")));
  });

  it("run.sh --wait gives up naming the backend that never accepted a connection (exit 1)", async () => {
    const dead = await closedPort();
    const tier = spawnRunSh([
      "--wait",
      "1",
      "--listen",
      `127.0.0.1:${await closedPort()}`,
      "--registry",
      proxy.url,
      "--proxy",
      `http://127.0.0.1:${dead}`,
    ]);
    assert.equal(await exited(tier.child), 1);
    assert.match(
      tier.stderr(),
      new RegExp(`the proxy at 127\\.0\\.0\\.1:${dead} did not accept connections within 1 s`),
    );
  });
});
