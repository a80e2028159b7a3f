/**
 * The nginx tier's deployment files (deploy/nginx) checked against each other and
 * the code: compose and Kubernetes mount the same rules file and example server,
 * set every variable the template needs, point nginx at the registry and the
 * proxy they run, and give the proxy a config it accepts, with trusted forwarding
 * headers and an upload mode that matches nginx's.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";
import { loadConfig } from "../../src/config.js";

const NGINX = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "deploy", "nginx");
const RULES = "/etc/nginx/registry-compat-proxy.conf";
const TEMPLATE = "/etc/nginx/templates/default.conf.template";

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, read by known paths inside assertions
type Obj = Record<string, any>;

function read(file: string): string {
  return readFileSync(join(NGINX, file), "utf8");
}

/** The ${RCP_*} names the example server needs. */
const TEMPLATE_VARS = [
  ...new Set([...read("site.conf.template").matchAll(/\$\{(RCP_[A-Z_]+)\}/g)].map((m) => m[1]!)),
];

describe("deploy/nginx files", () => {
  it("the example server includes the rules file and sets the upload mode the rules read", () => {
    const site = read("site.conf.template");
    assert.match(site, /^\s*include registry-compat-proxy\.conf;$/m);
    assert.match(site, /^\s*set \$rcp_strict_uploads \$\{RCP_STRICT_UPLOADS\};$/m);
    assert.match(site, /^upstream docker-registry \{/m);
    assert.match(site, /^upstream registry-compat-proxy \{/m);
    const rules = read("registry-compat-proxy.conf");
    for (const backend of ["docker-registry", "registry-compat-proxy"]) {
      assert.match(rules, new RegExp(`set \\$rcp_backend ${backend};`));
    }
    assert.match(rules, /\$rcp_strict_uploads/);
    assert.deepEqual(TEMPLATE_VARS.sort(), ["RCP_LISTEN", "RCP_PROXY", "RCP_REGISTRY", "RCP_STRICT_UPLOADS"]);
  });
});

describe("deploy/nginx/docker-compose.yml", () => {
  const compose = parse(read("docker-compose.yml")) as Obj;
  const { registry, proxy, nginx } = compose["services"] as Obj;

  it("publishes nginx only, with the same rules file and example server mounted", () => {
    assert.ok(nginx.ports?.length === 1, "nginx publishes one port");
    assert.equal(proxy.ports, undefined, "the proxy is reached through nginx only");
    assert.equal(registry.ports, undefined, "the registry is reached through nginx only");
    const mounts = (nginx.volumes as string[]).map((v) => v.split(":"));
    assert.ok(mounts.some(([src, dst]) => src === "./registry-compat-proxy.conf" && dst === RULES));
    assert.ok(mounts.some(([src, dst]) => src === "./site.conf.template" && dst === TEMPLATE));
    for (const [src] of mounts) assert.ok(existsSync(join(NGINX, src!)), `${src} exists`);
  });

  it("points nginx at the registry and the proxy it runs, and the proxy at the registry", () => {
    const env = nginx.environment as Obj;
    for (const name of TEMPLATE_VARS) assert.ok(env[name] !== undefined, `${name} set`);
    const config = loadConfig({ env: proxy.environment });
    assert.equal(env["RCP_PROXY"], `proxy:${config.listen.port}`);
    const registryAddr = String(registry.environment.REGISTRY_HTTP_ADDR).replace("0.0.0.0", "registry");
    assert.equal(env["RCP_REGISTRY"], registryAddr);
    assert.equal(config.upstream.url, `http://${registryAddr}`);
    assert.equal(config.proxy.trustForwardedHeaders, true);
    assert.equal(config.oci.strictUploads, env["RCP_STRICT_UPLOADS"] === "on");
    assert.equal(proxy.build.context, "../..");
  });
});

describe("deploy/nginx Kubernetes (kustomization.yaml, nginx-tier.yaml)", () => {
  const kustomization = parse(read("kustomization.yaml")) as Obj;
  const objects = parseAllDocuments(read("nginx-tier.yaml")).map((d) => d.toJS() as Obj);
  const deployment = objects.find((o) => o["kind"] === "Deployment")!;
  const pod = deployment["spec"].template.spec as Obj;
  const container = (name: string) => (pod["containers"] as Obj[]).find((c) => c["name"] === name)!;
  const envOf = (c: Obj) => Object.fromEntries((c["env"] as Obj[]).map((e) => [e["name"], e["value"]]));
  const nginx = container("nginx");
  const proxy = container("proxy");
  const registry = container("registry");

  it("generates nginx's ConfigMap from this folder's rules file and example server", () => {
    assert.deepEqual(kustomization["resources"], ["nginx-tier.yaml"]);
    const generated = (kustomization["configMapGenerator"] as Obj[])[0]!;
    const files = Object.fromEntries(
      (generated["files"] as string[]).map((f) => {
        const [key, file] = f.includes("=") ? f.split("=") : [f, f];
        return [key!, file!];
      }),
    );
    assert.equal(files["registry-compat-proxy.conf"], "registry-compat-proxy.conf");
    assert.equal(files["default.conf.template"], "site.conf.template");
    const volume = (pod["volumes"] as Obj[]).find((v) => v["configMap"]?.name === generated["name"]);
    assert.ok(volume, "the generated ConfigMap is mounted");
    const mounts = (nginx["volumeMounts"] as Obj[]).filter((m) => m["name"] === volume["name"]);
    const at = Object.fromEntries(mounts.map((m) => [m["mountPath"], m["subPath"]]));
    assert.equal(at[RULES], "registry-compat-proxy.conf");
    assert.equal(at[TEMPLATE], "default.conf.template");
  });

  it("nginx is the only entry point; the proxy and the registry listen on the pod's loopback", () => {
    const env = envOf(nginx);
    for (const name of TEMPLATE_VARS) assert.ok(env[name] !== undefined, `${name} set`);
    const config = loadConfig({ env: envOf(proxy) });
    assert.equal(config.listen.host, "127.0.0.1");
    assert.equal(env["RCP_PROXY"], `127.0.0.1:${config.listen.port}`);
    const registryAddr = envOf(registry)["REGISTRY_HTTP_ADDR"] as string;
    assert.match(registryAddr, /^127\.0\.0\.1:\d+$/);
    assert.equal(env["RCP_REGISTRY"], registryAddr);
    assert.equal(config.upstream.url, `http://${registryAddr}`);
    assert.equal(config.proxy.trustForwardedHeaders, true);
    assert.equal(config.oci.strictUploads, env["RCP_STRICT_UPLOADS"] === "on");
    assert.equal(proxy["ports"], undefined);
    assert.equal(registry["ports"], undefined);
    const service = objects.find((o) => o["kind"] === "Service")!;
    const nginxPort = (nginx["ports"] as Obj[])[0]!;
    assert.equal(String(nginxPort["containerPort"]), env["RCP_LISTEN"]);
    for (const p of service["spec"].ports as Obj[]) assert.equal(p["targetPort"], nginxPort["name"]);
  });
});
