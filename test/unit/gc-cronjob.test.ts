/**
 * deploy/kubernetes-gc/: a gc CronJob the CLI accepts, dry run unless GC_MODE says
 * --apply, reading the registry config that the same overlay mounts into the registry.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { parseRegistryConfig } from "../../src/gc/registry-config.js";
import { findExecutable } from "../../src/registry/binary.js";
import { closedPort } from "../helpers/net.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const GC = join(ROOT, "deploy/kubernetes-gc");
// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, read by known paths inside assertions
type Obj = Record<string, any>;
const load = (f: string) => parseAllDocuments(readFileSync(join(GC, f), "utf8")).map((d) => d.toJS() as Obj);
const [service, cron] = load("gc-cronjob.yaml") as [Obj, Obj];
const [registryConfigMap] = load("registry-config.yaml") as [Obj];
const [mountPatch] = load("registry-config-mount.yaml") as [Obj];
const BASE = join(ROOT, "deploy/kubernetes");
const loadBase = (f: string) =>
  parseAllDocuments(readFileSync(join(BASE, f), "utf8")).map((d) => d.toJS() as Obj);
// The token Secret and its mount into the proxy are the base's (its admin port wants a token).
const [tokenPatch] = loadBase("deployment.yaml") as [Obj];
const [tokenSecret] = loadBase("admin-token-secret.yaml") as [Obj];
const baseKustomization = loadBase("kustomization.yaml")[0] as Obj;
const kustomization = load("kustomization.yaml")[0] as Obj;
const pod = cron["spec"].jobTemplate.spec.template.spec as Obj;
const container = pod["containers"][0] as Obj;
const args = container["args"] as string[];
const argOf = (flag: string) => args[args.indexOf(flag) + 1]!;

describe("deploy/kubernetes-gc", () => {
  const work = mkdtempSync(join(tmpdir(), "rcp-gc-cron-"));
  after(() => rmSync(work, { recursive: true, force: true }));

  it("the registry config it mounts has filesystem storage, deletes on and no blob descriptor cache", () => {
    const storage = parseRegistryConfig(registryConfigMap["data"]["config.yml"]);
    assert.equal(storage.driver, "filesystem");
    assert.equal(storage.deleteEnabled, true);
    assert.equal(storage.blobDescriptorCache, null);
    const mountDir = dirname(argOf("--registry-config"));
    const registry = mountPatch["spec"].template.spec.containers.find((c: Obj) => c["name"] === "registry");
    assert.equal(registry.volumeMounts[0].mountPath, mountDir, "the registry reads the file gc reads");
    const gcMount = (container["volumeMounts"] as Obj[]).find((m) => m["mountPath"] === mountDir);
    const volume = (pod["volumes"] as Obj[]).find((v) => v["name"] === gcMount?.["name"]);
    assert.equal(volume?.["configMap"]?.name, registryConfigMap["metadata"].name);
    const data = (container["volumeMounts"] as Obj[]).find((m) => m["mountPath"] === storage.rootDirectory);
    assert.equal(
      (pod["volumes"] as Obj[]).find((v) => v["name"] === data?.["name"])?.persistentVolumeClaim.claimName,
      "registry-data",
    );
  });

  it("runs gc, never two at once, without retries, a dry run unless GC_MODE is --apply; the admin Service is the metrics port", () => {
    assert.equal(args[0], "gc");
    assert.equal(cron["spec"].concurrencyPolicy, "Forbid");
    assert.equal(pod["restartPolicy"], "Never");
    assert.ok(args.includes("$(GC_MODE)") && !args.includes("--apply"));
    assert.equal((container["env"] as Obj[]).find((e) => e["name"] === "GC_MODE")?.value, "--dry-run");
    assert.equal(new URL(argOf("--admin")).hostname, service["metadata"].name);
    assert.equal(service["spec"].ports[0].targetPort, "metrics");
  });

  it("protects the admin port: the proxy reads the token Secret as ADMIN_TOKEN_FILE, the job sends the same file", () => {
    assert.ok(kustomization["resources"].includes("../kubernetes"));
    assert.ok(baseKustomization["resources"].includes("admin-token-secret.yaml"));
    const name = tokenSecret["metadata"].name;
    assert.ok(tokenSecret["stringData"].token, "the Secret has a token key");
    const spec = tokenPatch["spec"].template.spec as Obj;
    const proxy = spec["containers"].find((c: Obj) => c["name"] === "proxy");
    const file = (proxy.env as Obj[]).find((e) => e["name"] === "ADMIN_TOKEN_FILE")?.value as string;
    const secretVolume = (volumes: Obj[], mounts: Obj[], path: string) => {
      const mount = mounts.find((m) => path.startsWith(`${m["mountPath"]}/`));
      return volumes.find((v) => v["name"] === mount?.["name"])?.secret;
    };
    const proxySecret = secretVolume(spec["volumes"], proxy.volumeMounts, file);
    assert.equal(proxySecret?.secretName, name);
    assert.equal(`${dirname(file)}/token`, file, "the Secret's key is the file name");
    const jobFile = argOf("--admin-token-file");
    assert.equal(secretVolume(pod["volumes"], container["volumeMounts"], jobFile)?.secretName, name);
    assert.equal(jobFile.split("/").pop(), "token");
  });

  it("has arguments the CLI accepts: the dry run reports, --apply checks the admin port first (unreachable: exit 2, nothing changed)", async () => {
    const root = join(work, "storage");
    mkdirSync(root);
    const configPath = join(work, "config.yml");
    writeFileSync(configPath, registryConfigMap["data"]["config.yml"].replace("/var/lib/registry", root));
    const run = (mode: string, admin: string) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((res) => {
        const a = args.map((x) => x.replace("$(GC_MODE)", mode));
        a[a.indexOf("--registry-config") + 1] = configPath;
        a[a.indexOf("--admin") + 1] = admin;
        a[a.indexOf("--admin-token-file") + 1] = tokenFile;
        // The init container's copy of the registry binary is the one installed here.
        const gcCommand = a.indexOf("--gc-command") + 1;
        a[gcCommand] = a[gcCommand]!.replace("/tools/registry", registryBinary).replace(
          "/etc/docker/registry/config.yml",
          configPath,
        );
        execFile(
          process.execPath,
          ["--import", "tsx", "src/cli.ts", ...a],
          { cwd: ROOT },
          (err, stdout, stderr) => res({ code: err ? Number(err.code) : 0, stdout, stderr }),
        );
      });
    const registryBinary = findExecutable("docker-registry") ?? "/usr/bin/docker-registry";
    const tokenFile = join(work, "token");
    writeFileSync(tokenFile, "a-token-for-the-test\n");
    const admin = `http://127.0.0.1:${await closedPort()}`;
    const dry = await run("--dry-run", admin);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /dry run.*every manifest is reachable/s);
    const apply = await run("--apply", admin);
    assert.equal(apply.code, 2, apply.stderr);
    assert.match(apply.stderr, /cannot reach the proxy's admin listener at .*Nothing was changed/s);
  });
});
