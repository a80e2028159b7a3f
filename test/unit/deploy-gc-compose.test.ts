/**
 * The compose files that ship `gc` (docker-compose.yml and deploy/nginx's): each has a
 * `gc` service (profile gc) in the proxy's network namespace (its loopback admin
 * listener, published in the proxy's state volume), with the registry's storage, the
 * registry config the registry itself runs (no blob descriptor cache, deletes on) and
 * the registry binary; its arguments are ones the CLI accepts. The top-level one is run
 * as declared in test/integration/deployments.test.ts.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parse } from "yaml";
import { COMMANDS } from "../../src/commands/command-line.js";
import { parseRegistryConfig } from "../../src/gc/registry-config.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, read by known paths inside assertions
type Obj = Record<string, any>;

const mounts = (service: Obj) =>
  new Map(
    (service["volumes"] as string[]).map((v) => {
      const [source, target] = v.split(":") as [string, string];
      return [target, source] as const;
    }),
  );

for (const file of ["docker-compose.yml", "deploy/nginx/docker-compose.yml"]) {
  describe(`${file}: the gc service`, () => {
    const compose = parse(readFileSync(join(ROOT, file), "utf8")) as Obj;
    const { gc, proxy, registry } = compose["services"] as Obj;

    it("runs on demand (profile gc) in the proxy's network namespace, as root, with an image that has the CLI", () => {
      assert.deepEqual(gc["profiles"], ["gc"]);
      assert.equal(gc["network_mode"], "service:proxy");
      assert.equal(gc["user"], "0:0");
      assert.equal(gc["image"], proxy["image"]);
      assert.ok(!("ports" in gc), "publishes nothing");
    });

    it("mounts the registry's storage, the registry's own config file, the proxy's state (read-only) and the registry binary", () => {
      const g = mounts(gc);
      const r = mounts(registry);
      const p = mounts(proxy);
      assert.equal(g.get("/var/lib/registry"), r.get("/var/lib/registry"));
      assert.equal(g.get("/etc/docker/registry/config.yml"), r.get("/etc/docker/registry/config.yml"));
      assert.equal(g.get("/var/lib/registry-compat-proxy"), p.get("/var/lib/registry-compat-proxy"));
      assert.ok((gc["volumes"] as string[]).some((v) => v.startsWith("proxy-state:") && v.endsWith(":ro")));
      const tools = compose["services"]["registry-tools"] as Obj;
      assert.deepEqual(tools["entrypoint"], ["cp", "/bin/registry", "/tools/registry"]);
      assert.equal(mounts(tools).get("/tools"), g.get("/tools"));
    });

    it("the registry config is one gc accepts: filesystem storage, deletes on, no blob descriptor cache", () => {
      const source = mounts(registry).get("/etc/docker/registry/config.yml")!;
      const storage = parseRegistryConfig(readFileSync(resolve(ROOT, dirname(file), source), "utf8"));
      assert.deepEqual(storage, {
        driver: "filesystem",
        rootDirectory: "/var/lib/registry",
        deleteEnabled: true,
        blobDescriptorCache: null,
      });
    });

    it("its entrypoint and command are gc arguments the CLI accepts, garbage-collect by the mounted binary", () => {
      const [node, cli, command, ...args] = [
        ...(gc["entrypoint"] as string[]),
        ...(gc["command"] as string[]),
      ];
      assert.deepEqual([node, cli, command], ["node", "dist/cli.js", "gc"]);
      const { values } = parseArgs({ args, options: COMMANDS["gc"]!.options, strict: true });
      assert.equal(values["registry-config"], "/etc/docker/registry/config.yml");
      assert.equal(values["gc-command"], "/tools/registry garbage-collect /etc/docker/registry/config.yml");
      assert.equal(values["dry-run"], true, "a dry run unless --apply is given");
    });
  });
}
