/**
 * The deployment variants with Redis (docs/replicas.md), checked against the
 * code and the base files: every replica points at the Redis that is deployed,
 * keeps its own journal, and has a configuration the proxy accepts.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";
import { loadConfig } from "../../src/config.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, read by known paths inside assertions
type Obj = Record<string, any>;

function yamlDocs(path: string): Obj[] {
  return parseAllDocuments(readFileSync(join(ROOT, path), "utf8")).map((d) => {
    assert.equal(d.errors.length, 0, `${path}: ${d.errors.join("; ")}`);
    return d.toJS() as Obj;
  });
}

describe("deploy/compose/replicas.yml", () => {
  const compose = parse(readFileSync(join(ROOT, "deploy/compose/replicas.yml"), "utf8"), {
    merge: true,
  }) as Obj;
  const services = compose["services"] as Obj;
  const proxies = Object.entries(services).filter(([name]) => name.startsWith("proxy"));

  it("runs one registry, one Redis and at least two proxies", () => {
    assert.match(services["registry"].image, /^registry:2\.8\.\d+$/);
    assert.match(services["redis"].image, /^redis:/);
    assert.ok(proxies.length >= 2);
  });

  it("every proxy uses that Redis and that registry, with a configuration the proxy accepts", () => {
    for (const [name, p] of proxies) {
      const env = p.environment as Record<string, string>;
      const redis = new URL(env["REDIS_URL"]!);
      assert.ok(redis.hostname in services, `${name}: ${redis.hostname} is a service`);
      assert.ok(services[redis.hostname].expose.includes(redis.port), `${name}: redis port exposed`);
      assert.equal(new URL(env["UPSTREAM_URL"]!).hostname, "registry");
      const config = loadConfig({ env });
      assert.equal(config.state.redisUrl, env["REDIS_URL"]);
      assert.ok(p.depends_on.redis && p.depends_on.registry, `${name} waits for both`);
    }
  });

  it("every proxy keeps its own journal volume and its own published port", () => {
    const volumes = proxies.map(([, p]) => String(p.volumes[0]).split(":")[0]);
    assert.equal(new Set(volumes).size, proxies.length);
    for (const v of volumes) assert.ok(v! in compose["volumes"], `named volume ${v}`);
    const ports = proxies.map(([, p]) => String(p.ports[0]));
    assert.equal(new Set(ports).size, proxies.length);
  });
});

describe("deploy/kubernetes-redis", () => {
  const k = parse(readFileSync(join(ROOT, "deploy/kubernetes-redis/kustomization.yaml"), "utf8")) as Obj;
  const redis = yamlDocs("deploy/kubernetes-redis/redis.yaml");
  const patch = yamlDocs("deploy/kubernetes-redis/proxy-redis-env.yaml")[0]!;
  const base = yamlDocs("deploy/kubernetes/deployment.yaml")[0]!;

  it("builds on the base and adds Redis, the proxy's REDIS_URL and the replicas' storage", () => {
    assert.deepEqual(k["resources"], ["../kubernetes", "redis.yaml"]);
    assert.deepEqual(
      (k["patches"] as Obj[]).map((p) => p["path"]),
      ["proxy-redis-env.yaml", "registry-data-rwx.yaml", "no-journal-volume.yaml"],
    );
  });

  it("the patch names the base Deployment and its proxy container", () => {
    assert.equal(patch["kind"], base["kind"]);
    assert.equal(patch["metadata"].name, base["metadata"].name);
    const names = (base["spec"].template.spec.containers as Obj[]).map((c) => c["name"]);
    for (const c of patch["spec"].template.spec.containers as Obj[]) assert.ok(names.includes(c["name"]));
  });

  it("REDIS_URL points at the Redis Service, whose selector matches the Redis pods", () => {
    const env = (patch["spec"].template.spec.containers as Obj[])[0]!["env"] as Obj[];
    const url = new URL(env.find((e) => e["name"] === "REDIS_URL")!["value"]);
    const service = redis.find((o) => o["kind"] === "Service")!;
    const deployment = redis.find((o) => o["kind"] === "Deployment")!;
    assert.equal(url.hostname, service["metadata"].name);
    assert.equal(Number(url.port), service["spec"].ports[0].port);
    for (const [key, value] of Object.entries(service["spec"].selector as Record<string, string>)) {
      assert.equal(deployment["spec"].template.metadata.labels[key], value);
    }
    assert.equal(loadConfig({ env: { REDIS_URL: url.href } }).state.redisUrl, url.href);
  });
});
