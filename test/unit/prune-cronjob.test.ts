/**
 * deploy/kubernetes/prune-cronjob.yaml: a CronJob the CLI accepts, dry run unless
 * PRUNE_MODE says --apply, credentials from its Secret.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { closedPort } from "../helpers/net.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const docs = parseAllDocuments(readFileSync(join(ROOT, "deploy/kubernetes/prune-cronjob.yaml"), "utf8")).map(
  (d) => d.toJS() as Record<string, unknown>,
);

interface Container {
  image: string;
  args: string[];
  env: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }>;
}

const cron = docs.find((d) => d["kind"] === "CronJob") as {
  spec: {
    concurrencyPolicy: string;
    jobTemplate: { spec: { template: { spec: { restartPolicy: string; containers: Container[] } } } };
  };
};
const secret = docs.find((d) => d["kind"] === "Secret") as { metadata: { name: string }; stringData: object };
const container = cron.spec.jobTemplate.spec.template.spec.containers[0]!;
const env = Object.fromEntries(container.env.map((e) => [e.name, e]));

/** Runs the CLI with the CronJob's args, `$(VAR)` expanded as Kubernetes does, against `registry`. */
function runArgs(mode: string, registry: string): Promise<{ code: number; stderr: string }> {
  const args = container.args.map((a) => a.replace("$(PRUNE_MODE)", mode));
  args[args.indexOf("--registry") + 1] = registry;
  return new Promise((res) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "src/cli.ts", ...args],
      { cwd: ROOT, env: { PATH: process.env["PATH"] ?? "", HOME: "/nonexistent" } },
      (err, _out, stderr) => res({ code: err ? Number(err.code) : 0, stderr }),
    );
  });
}

describe("deploy/kubernetes/prune-cronjob.yaml", () => {
  it("runs the prune command of the proxy image, never two at once, without retries", () => {
    assert.equal(container.image, "registry-compat-proxy:latest");
    assert.equal(container.args[0], "prune");
    assert.equal(container.args[container.args.indexOf("--registry") + 1], "http://registry:5000");
    assert.equal(cron.spec.concurrencyPolicy, "Forbid");
    assert.equal(cron.spec.jobTemplate.spec.template.spec.restartPolicy, "Never");
  });

  it("is a dry run unless PRUNE_MODE is switched to --apply", () => {
    assert.ok(container.args.includes("$(PRUNE_MODE)"));
    assert.ok(!container.args.includes("--apply"));
    assert.equal(env["PRUNE_MODE"]?.value, "--dry-run");
  });

  it("takes REGISTRY_USERNAME/REGISTRY_PASSWORD from the Secret in the same file", () => {
    for (const name of ["REGISTRY_USERNAME", "REGISTRY_PASSWORD"]) {
      const ref = env[name]?.valueFrom?.secretKeyRef;
      assert.equal(ref?.name, secret.metadata.name, name);
      assert.ok(ref && ref.key in secret.stringData, `${name} key in the Secret`);
    }
  });

  it("has arguments the CLI accepts in both modes (it gets as far as connecting)", async () => {
    const registry = `http://127.0.0.1:${await closedPort()}`;
    for (const mode of ["--dry-run", "--apply"]) {
      const r = await runArgs(mode, registry);
      assert.equal(r.code, 1, `${mode}: ${r.stderr}`);
      assert.match(r.stderr, /prune: stopped: GET .*\/v2\/_catalog: ECONNREFUSED/);
    }
  });
});
