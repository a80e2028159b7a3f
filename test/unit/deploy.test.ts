/**
 * The deployment files are parsed and checked against the code: images, ports,
 * probes pointing at real endpoints of the proxy, configs that the proxy accepts.
 * `docker compose config` runs too when a compose plugin exists (skipped otherwise).
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";
import { loadConfig } from "../../src/config.js";
import { OPS_PATHS } from "../../src/http/routing.js";
import { HANDLER_SETTLE_MS } from "../../src/ops/shutdown.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const K8S = join(ROOT, "deploy", "kubernetes");
const REGISTRY_IMAGE = /^registry:2\.8\.\d+$/;

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, read by known paths inside assertions
type Obj = Record<string, any>;

function read(path: string): string {
  return readFileSync(join(ROOT, path), "utf8");
}

function k8sObjects(): Obj[] {
  const out: Obj[] = [];
  for (const f of readdirSync(K8S).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")) {
    for (const doc of parseAllDocuments(readFileSync(join(K8S, f), "utf8"))) {
      assert.equal(doc.errors.length, 0, `${f}: ${doc.errors.join("; ")}`);
      const o = doc.toJS() as Obj | null;
      if (o) out.push({ ...o, __file: f });
    }
  }
  return out;
}

function configFrom(text: string, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "rcp-deploy-"));
  try {
    const file = join(dir, "proxy.yaml");
    writeFileSync(file, text);
    return loadConfig({ file, env });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("docker-compose.yml", () => {
  const compose = parse(read("docker-compose.yml")) as Obj;
  const { registry, proxy } = compose["services"] as Obj;

  it("runs registry:2.8.x with deletes, a shared http secret and a named volume, unpublished", () => {
    assert.match(registry.image, REGISTRY_IMAGE);
    assert.equal(registry.environment.REGISTRY_STORAGE_DELETE_ENABLED, "true");
    assert.match(String(registry.environment.REGISTRY_HTTP_SECRET), /\$\{REGISTRY_HTTP_SECRET/);
    const volume = String(registry.volumes[0]).split(":")[0]!;
    assert.ok(volume in compose["volumes"], `named volume ${volume}`);
    assert.equal(registry.ports, undefined, "only the proxy publishes a port");
    assert.ok(registry.healthcheck?.test, "registry healthcheck");
  });

  it("builds the proxy from the Dockerfile, in front of the registry, on one published port", () => {
    assert.equal(proxy.build.context, ".");
    assert.equal(proxy.build.dockerfile, "Dockerfile");
    assert.equal(proxy.environment.UPSTREAM_URL, "http://registry:5000");
    assert.equal(proxy.depends_on.registry.condition, "service_healthy");
    assert.equal(proxy.ports.length, 1);
    const [, container] = /:(\d+)$/.exec(proxy.ports[0])!;
    const config = loadConfig({ env: proxy.environment });
    assert.equal(Number(container), config.listen.port);
    assert.deepEqual(proxy.healthcheck.test, ["CMD", "node", "dist/cli.js", "healthcheck"]);
    const grace = Number(/^(\d+)s$/.exec(proxy.stop_grace_period)![1]) * 1000;
    assert.ok(
      grace > config.shutdown.graceMs + config.shutdown.drainDelayMs,
      "stop_grace_period above the grace",
    );
  });

  it("docker compose config accepts the file (when docker compose or docker-compose exists)", (t) => {
    const tools: [string, string[]][] = [
      ["docker", ["compose"]],
      ["docker-compose", []],
    ];
    const tool = tools.find(([bin, pre]) => spawnSync(bin, [...pre, "version"]).status === 0);
    if (!tool) {
      t.skip("neither the docker compose plugin nor docker-compose is installed");
      return;
    }
    const [bin, pre] = tool;
    execFileSync(bin, [...pre, "-f", join(ROOT, "docker-compose.yml"), "config", "--quiet"], {
      env: { ...process.env, REGISTRY_HTTP_SECRET: "test-secret" },
      stdio: ["ignore", "pipe", "pipe"],
    });
  });
});

describe("compose files and the registry's http secret", () => {
  const FILES = ["docker-compose.yml", "deploy/compose/replicas.yml", "deploy/nginx/docker-compose.yml"];

  it("docker compose refuses to start without REGISTRY_HTTP_SECRET, naming it, and accepts a given one", (t) => {
    const tools: [string, string[]][] = [
      ["docker", ["compose"]],
      ["docker-compose", []],
    ];
    const tool = tools.find(([bin, pre]) => spawnSync(bin, [...pre, "version"]).status === 0);
    if (!tool) {
      t.skip("neither the docker compose plugin nor docker-compose is installed");
      return;
    }
    const [bin, pre] = tool;
    const { REGISTRY_HTTP_SECRET: _given, ...env } = process.env;
    for (const file of FILES) {
      const config = (extra: Record<string, string>) =>
        spawnSync(bin, [...pre, "-f", join(ROOT, file), "config", "--quiet"], {
          env: { ...env, ...extra },
          encoding: "utf8",
        });
      const without = config({});
      assert.notEqual(without.status, 0, `${file}: started with a default secret`);
      assert.match(without.stderr, /REGISTRY_HTTP_SECRET/, file);
      const given = config({ REGISTRY_HTTP_SECRET: "a-secret-for-the-test" });
      assert.equal(given.status, 0, `${file}: ${given.stderr}`);
    }
  });
});

describe("Dockerfile and .dockerignore", () => {
  const lines = read("Dockerfile")
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const stages = lines.reduce<string[][]>((acc, l) => {
    if (/^FROM /i.test(l)) acc.push([]);
    acc.at(-1)?.push(l);
    return acc;
  }, []);
  const runtime = stages.at(-1)!;

  it("is multi-stage: build with npm ci and tsc, production dependencies only at runtime", () => {
    assert.ok(stages.length >= 2, "several FROM");
    const text = lines.join("\n");
    assert.match(text, /RUN npm ci\b/);
    assert.match(text, /RUN npm run build|RUN npx tsc/);
    assert.match(text, /npm ci --omit=dev/);
    assert.ok(
      runtime.some((l) => /^COPY --from=\S+ \S*dist \.\/dist$/.test(l)),
      "dist from the build stage",
    );
    assert.ok(
      runtime.some((l) => /^COPY config \.\/config$/.test(l)),
      "config/",
    );
    assert.ok(!runtime.some((l) => /^COPY (src|test)\b/.test(l)), "no sources at runtime");
    const base = /^ARG NODE_IMAGE=(\S+)/m.exec(text)?.[1] ?? "";
    // A maintained LTS line (README "Supported Node.js versions").
    assert.match(base, /^node:(22|24)[-.]/);
  });

  it("runs as a non-root user with a HEALTHCHECK, EXPOSE, ENTRYPOINT and CMD", () => {
    const user = runtime
      .find((l) => /^USER /.test(l))
      ?.slice(5)
      .trim();
    assert.ok(user && user !== "root" && user !== "0", `USER ${user}`);
    const health = runtime.find((l) => /^HEALTHCHECK /.test(l));
    assert.match(health ?? "", /CMD \["node", "dist\/cli\.js", "healthcheck"\]/);
    assert.ok(runtime.includes(`EXPOSE ${loadConfig({ env: {} }).listen.port}`));
    assert.ok(runtime.includes('ENTRYPOINT ["node", "--min-semi-space-size=8", "dist/cli.js"]'));
    assert.ok(runtime.includes('CMD ["serve"]'));
  });

  it(".dockerignore keeps node_modules, dist and data out of the context", () => {
    const rules = read(".dockerignore")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    assert.equal(rules[0], "*", "allow-list");
    for (const needed of ["package.json", "package-lock.json", "src/", "config/"])
      assert.ok(rules.includes(`!${needed}`), needed);
    assert.ok(!rules.some((r) => /^!(node_modules|dist|data)/.test(r)));
  });
});

describe("deploy/kubernetes", () => {
  const objects = k8sObjects();
  const byKind = (kind: string) => objects.filter((o) => o["kind"] === kind);
  const deployment = byKind("Deployment")[0]!;
  const pod = deployment["spec"].template.spec as Obj;
  const containers = pod["containers"] as Obj[];
  const registry = containers.find((c) => REGISTRY_IMAGE.test(c["image"]))!;
  const proxy = containers.find((c) => c["name"] === "proxy")!;
  const portOf = (c: Obj, p: string | number) =>
    typeof p === "number" ? p : (c["ports"] as Obj[]).find((x) => x["name"] === p)?.["containerPort"];

  // The proxy's config: the ConfigMap file passed with --config.
  const args = proxy["args"] as string[];
  const configPath = args[args.indexOf("--config") + 1]!;
  const mount = (proxy["volumeMounts"] as Obj[]).find((m) => configPath.startsWith(`${m["mountPath"]}/`))!;
  const volume = (pod["volumes"] as Obj[]).find((v) => v["name"] === mount?.["name"])!;
  const configMap = byKind("ConfigMap").find((c) => c["metadata"].name === volume?.["configMap"]?.name)!;
  const configText = configMap?.["data"]?.[configPath.slice(mount?.["mountPath"].length + 1)] as string;
  const config = configFrom(configText ?? "");

  it("has a Deployment with registry:2.8.x and the proxy as a sidecar in one pod", () => {
    assert.equal(byKind("Deployment").length, 1);
    assert.ok(registry, "registry container pinned to 2.8.x");
    assert.ok(proxy, "proxy container");
    assert.equal(args[0], "serve");
    assert.ok(configText, "the --config file comes from a ConfigMap");
    const env = Object.fromEntries((registry["env"] as Obj[]).map((e) => [e["name"], e]));
    assert.equal(env["REGISTRY_STORAGE_DELETE_ENABLED"]?.value, "true");
    const addr = env["REGISTRY_HTTP_ADDR"]?.value as string;
    assert.equal(config.upstream.url, `http://${addr}`, "the proxy talks to the registry in the pod");
  });

  it("the ConfigMap's proxy config validates and matches the container ports", () => {
    assert.equal(portOf(proxy, "http"), config.listen.port);
    assert.equal(portOf(proxy, "metrics"), config.metrics.port);
    const annotations = deployment["spec"].template.metadata.annotations as Obj;
    assert.equal(Number(annotations["prometheus.io/port"]), config.metrics.port);
  });

  it("probes GET /healthz (liveness) and /readyz (readiness) on the proxy's port", () => {
    assert.equal(proxy["livenessProbe"].httpGet.path, "/healthz");
    assert.equal(proxy["readinessProbe"].httpGet.path, "/readyz");
    for (const probe of [proxy["livenessProbe"], proxy["readinessProbe"]]) {
      assert.ok(OPS_PATHS.has(probe.httpGet.path), `${probe.httpGet.path} is a proxy endpoint`);
      assert.equal(portOf(proxy, probe.httpGet.port), config.listen.port);
    }
  });

  it("the Service targets the proxy's port only", () => {
    const services = byKind("Service");
    assert.equal(services.length, 1);
    const svc = services[0]!;
    const selector = svc["spec"].selector as Obj;
    const labels = deployment["spec"].template.metadata.labels as Obj;
    for (const [k, v] of Object.entries(selector)) assert.equal(labels[k], v);
    for (const p of svc["spec"].ports as Obj[]) {
      assert.equal(portOf(proxy, p["targetPort"]), config.listen.port);
    }
    assert.ok(!(registry["ports"] ?? []).length, "the registry exposes no container port");
  });

  it("the registry's http.secret comes from a Secret; the proxy may take env from an optional Secret", () => {
    const ref = (registry["env"] as Obj[]).find((e) => e["name"] === "REGISTRY_HTTP_SECRET")?.valueFrom
      ?.secretKeyRef as Obj;
    const secret = byKind("Secret").find((s) => s["metadata"].name === ref?.["name"]);
    assert.ok(secret?.["stringData"]?.[ref["key"]] !== undefined, "Secret with the http-secret key");
    for (const from of (proxy["envFrom"] ?? []) as Obj[]) assert.equal(from["secretRef"]?.optional, true);
  });

  it("has resource requests and limits, and a termination grace above the proxy's shutdown", () => {
    for (const c of containers) {
      assert.ok(c["resources"]?.requests?.cpu && c["resources"]?.requests?.memory, `${c["name"]} requests`);
      assert.ok(c["resources"]?.limits?.memory, `${c["name"]} memory limit`);
    }
    const needed = config.shutdown.drainDelayMs + config.shutdown.graceMs + HANDLER_SETTLE_MS;
    assert.ok(pod["terminationGracePeriodSeconds"] * 1000 > needed, `above ${needed} ms`);
    const preStop = Number(registry["lifecycle"]?.preStop?.exec?.command?.[1] ?? 0) * 1000;
    assert.ok(
      preStop >= config.shutdown.drainDelayMs + config.shutdown.graceMs,
      "registry outlives the drain",
    );
    assert.equal(proxy["securityContext"].runAsNonRoot, true);
  });

  it("kustomization.yaml lists every manifest of the folder", () => {
    const k = parse(readFileSync(join(K8S, "kustomization.yaml"), "utf8")) as Obj;
    const files = readdirSync(K8S).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
    assert.deepEqual([...(k["resources"] as string[])].sort(), files.sort());
    assert.ok((k["images"] as Obj[]).some((i) => i["name"] === proxy["image"].split(":")[0]));
  });
});

describe("kustomizations under deploy/", () => {
  const DEPLOY = join(ROOT, "deploy");
  const overlays = readdirSync(DEPLOY, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith("kustomization.yaml"))
    .map((f) => dirname(join(DEPLOY, f)));

  it("every resource exists, and no overlay sits inside a base it builds on (kustomize: cycle detected)", () => {
    assert.ok(overlays.length >= 3, overlays.join(", "));
    for (const dir of overlays) {
      const k = parse(readFileSync(join(dir, "kustomization.yaml"), "utf8")) as Obj;
      for (const r of k["resources"] as string[]) {
        const target = resolve(dir, r);
        if (r.endsWith(".yaml")) {
          assert.ok(readFileSync(target, "utf8").length > 0, `${dir}: ${r}`);
          continue;
        }
        assert.ok(readdirSync(target).includes("kustomization.yaml"), `${dir}: ${r} is no kustomization`);
        assert.ok(!`${dir}/`.startsWith(`${target}/`), `${dir} lies inside its base ${target}`);
      }
      for (const p of (k["patches"] as Obj[] | undefined) ?? []) {
        assert.ok(readFileSync(join(dir, p["path"] as string), "utf8").length > 0, `${dir}: ${p["path"]}`);
      }
    }
  });
});
