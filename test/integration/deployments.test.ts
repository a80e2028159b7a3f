/**
 * The shipped deployments as they run: the Dockerfile's runtime (its USER, ENV,
 * VOLUME, WORKDIR, ENTRYPOINT/CMD) with `docker-compose.yml`'s proxy service, and
 * the proxy container of `deploy/kubernetes/` (its securityContext, env, ConfigMap
 * and volumes), each started as that unprivileged uid with a read-only root and
 * only the writable paths the files declare (test/helpers/sandbox.ts), in front of
 * a real docker-registry; then a tag is deleted through it. Read from the files,
 * so a deployment that cannot write its journal fails here.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";
import { findExecutable } from "../../src/registry/binary.js";
import { startBigUpload } from "../helpers/big-upload.js";
import { seedGc } from "../helpers/gc.js";
import { request } from "../helpers/http.js";
import { type ImageRuntime, imageRuntime } from "../helpers/image.js";
import { makeImage, pushImage } from "../helpers/oci.js";
import { commandLine, descendants } from "../helpers/pids.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import {
  buildRuntimeLayout,
  filesDir,
  runSandboxed,
  type SandboxSpec,
  sandboxUnavailable,
  volumeDir,
} from "../helpers/sandbox.js";
import { manifestOf, tagsOf } from "../helpers/tag-delete.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, read by known paths inside assertions
type Obj = Record<string, any>;

/** Test-only overrides: the real registry, loopback, any free port. */
function testEnv(registry: TestRegistry): Record<string, string> {
  return { UPSTREAM_URL: registry.url, HOST: "127.0.0.1", PORT: "0", METRICS_PORT: "0" };
}

const cleanup: string[] = [];
function track(dir: string): string {
  cleanup.push(dir);
  return dir;
}

/** docker compose's proxy service on the image: a named volume starts as the image's folder (owner included). */
function composeSpec(app: string, image: ImageRuntime, registry: TestRegistry): SandboxSpec {
  const compose = parse(readFileSync(join(ROOT, "docker-compose.yml"), "utf8")) as Obj;
  const service = compose["services"].proxy as Obj;
  const binds = new Map<string, string>();
  for (const v of (service["volumes"] ?? []) as string[]) {
    const [source, target] = v.split(":") as [string, string];
    assert.ok(source in (compose["volumes"] ?? {}), `${source} is a named volume`);
    const owned = image.ownedByUser.includes(target);
    binds.set(target, track(volumeDir(owned ? image.uid : 0, owned ? image.uid : 0, 0o755)));
  }
  return {
    app,
    workdir: image.workdir,
    uid: image.uid,
    gid: image.uid,
    groups: [],
    env: { ...image.env, ...(service["environment"] as Record<string, string>), ...testEnv(registry) },
    binds,
    readOnly: new Map(),
    // The image's own /tmp is world-writable; the rest of its root belongs to root.
    tmpfs: ["/tmp"],
    argv: [...image.entrypoint, ...((service["command"] as string[] | undefined) ?? image.cmd)],
  };
}

/**
 * docker-compose.yml's `gc` service (profile gc) as declared: its user, entrypoint and
 * command, the image's environment, and its volumes: the registry's storage (the test
 * registry's), the registry config file, the proxy's state volume (read-only, shared with
 * `proxy`: the published admin address) and the registry binary's volume. The sandbox
 * shares the host's network, as `network_mode: service:proxy` shares the proxy's.
 */
function composeGcSpec(
  app: string,
  image: ImageRuntime,
  registry: TestRegistry,
  proxyState: string,
  command: string[],
): SandboxSpec {
  const compose = parse(readFileSync(join(ROOT, "docker-compose.yml"), "utf8")) as Obj;
  const service = compose["services"].gc as Obj;
  assert.equal(service["network_mode"], "service:proxy");
  const uid = Number(String(service["user"]).split(":")[0]);
  const binds = new Map<string, string>();
  const readOnly = new Map<string, string>();
  for (const v of service["volumes"] as string[]) {
    const [source, target, mode] = v.split(":") as [string, string, string | undefined];
    if (source === "registry-data") binds.set(target, join(registry.dir, "storage"));
    else if (source === "proxy-state") readOnly.set(target, proxyState);
    else if (source === "registry-tools") {
      const tools = track(mkdtempSync(join(tmpdir(), "rcp-registry-tools-")));
      chmodSync(tools, 0o755);
      symlinkSync(findExecutable("docker-registry")!, join(tools, "registry"));
      readOnly.set(target, tools);
    } else if (source.startsWith("./")) {
      // A file bound read-only: its folder, holding the same file.
      assert.equal(mode, "ro");
      readOnly.set(
        dirname(target),
        track(filesDir({ [target.split("/").pop()!]: readFileSync(join(ROOT, source), "utf8") })),
      );
    } else assert.fail(`volume ${v}: unknown source`);
  }
  return {
    app,
    workdir: image.workdir,
    uid,
    gid: uid,
    groups: [],
    env: { ...image.env, ...((service["environment"] as Record<string, string> | undefined) ?? {}) },
    binds,
    readOnly,
    tmpfs: ["/tmp"],
    argv: [...(service["entrypoint"] as string[]), ...command],
  };
}

/** The proxy container of deploy/kubernetes/deployment.yaml. */
function kubernetesSpec(app: string, image: ImageRuntime, registry: TestRegistry): SandboxSpec {
  const dir = join(ROOT, "deploy", "kubernetes");
  const objects: Obj[] = readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), "utf8")).map((d) => d.toJS() as Obj));
  const pod = objects.find((o) => o["kind"] === "Deployment")!["spec"].template.spec as Obj;
  const container = (pod["containers"] as Obj[]).find((c) => c["name"] === "proxy")!;
  const sc = container["securityContext"] as Obj;
  assert.equal(sc["readOnlyRootFilesystem"], true);
  const uid = sc["runAsUser"] as number;
  const gid = (sc["runAsGroup"] as number | undefined) ?? 0;
  const fsGroup = pod["securityContext"]?.fsGroup as number | undefined;
  const binds = new Map<string, string>();
  const readOnly = new Map<string, string>();
  const tmpfs: string[] = [];
  for (const m of container["volumeMounts"] as Obj[]) {
    const volume = (pod["volumes"] as Obj[]).find((v) => v["name"] === m["name"])!;
    if (volume["configMap"]) {
      const cm = objects.find(
        (o) => o["kind"] === "ConfigMap" && o["metadata"].name === volume["configMap"].name,
      )!;
      readOnly.set(m["mountPath"], track(filesDir(cm["data"])));
    } else if (volume["secret"]) {
      // Kubernetes writes a Secret's keys as root's files, group fsGroup, mode defaultMode.
      const secret = objects.find(
        (o) => o["kind"] === "Secret" && o["metadata"].name === volume["secret"].secretName,
      )!;
      const dir = track(filesDir(secret["stringData"]));
      for (const name of Object.keys(secret["stringData"])) {
        execFileSync("chown", [`0:${fsGroup ?? 0}`, join(dir, name)]);
        chmodSync(join(dir, name), (volume["secret"].defaultMode as number | undefined) ?? 0o644);
      }
      readOnly.set(m["mountPath"], dir);
    } else if (volume["emptyDir"]) {
      tmpfs.push(m["mountPath"]); // an emptyDir is world-writable
    } else if (volume["persistentVolumeClaim"]) {
      // A new volume is root's; fsGroup makes it group-owned and group-writable (setgid).
      const owner = fsGroup ?? 0;
      binds.set(m["mountPath"], track(volumeDir(0, owner, fsGroup === undefined ? 0o755 : 0o2775)));
    } else {
      assert.fail(`volume ${m["name"]}: unknown kind`);
    }
  }
  const env: Record<string, string> = { ...image.env };
  for (const e of (container["env"] ?? []) as Obj[]) if ("value" in e) env[e["name"]] = String(e["value"]);
  return {
    app,
    workdir: image.workdir,
    uid,
    gid,
    groups: fsGroup === undefined ? [] : [fsGroup],
    env: { ...env, ...testEnv(registry) },
    binds,
    readOnly,
    tmpfs,
    argv: [...image.entrypoint, ...((container["args"] as string[] | undefined) ?? image.cmd)],
  };
}

/** Pushes one image as `a` and `b` through the proxy, deletes `a`, and checks `b` is intact. */
async function deleteOneTag(url: string, repo: string): Promise<void> {
  const image = makeImage({ layerCount: 1 });
  const digest = await pushImage(url, repo, image, ["a", "b"]);
  const del = await request("DELETE", `${url}/v2/${repo}/manifests/a`);
  assert.equal(del.status, 202, del.text);
  assert.deepEqual(await tagsOf(url, repo), ["b"]);
  assert.equal((await manifestOf(url, repo, "b"))?.digest, digest);
}

function journalIn(spec: SandboxSpec): { sandboxPath: string; hostPath: string } {
  const sandboxPath = spec.env["DELETE_JOURNAL"];
  assert.ok(sandboxPath, "DELETE_JOURNAL is set");
  for (const [to, from] of spec.binds) {
    if (sandboxPath.startsWith(`${to}/`))
      return { sandboxPath, hostPath: join(from, sandboxPath.slice(to.length)) };
  }
  return assert.fail(`the journal ${sandboxPath} is on no declared volume`);
}

/** Polls until `ok()`; the deadline only catches a hang. */
async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The admin listener's /metrics, from the "proxy listening" line. */
const metricsOf = (lines: () => Record<string, unknown>[]) =>
  String(lines().find((l) => l["msg"] === "proxy listening")?.["metrics"]);

const handledAgain = (lines: () => Record<string, unknown>[]) => () =>
  lines().some((l) => /already shutting down|second (signal|Ctrl-C)/.test(String(l["msg"])));

/**
 * A 64 MiB blob upload in flight while the proxy's process gets SIGTERM, and SIGTERM
 * again once it drains (a supervisor that repeats itself): the upload completes.
 */
async function drainTwiceDuringUpload(
  url: string,
  pid: number,
  lines: () => Record<string, unknown>[],
  repo: string,
): Promise<string> {
  const upload = await startBigUpload(url, repo, metricsOf(lines));
  process.kill(pid, "SIGTERM");
  await until("the drain to start", () => lines().some((l) => l["msg"] === "shutting down"));
  process.kill(pid, "SIGTERM");
  await until("the second SIGTERM to be handled", handledAgain(lines));
  await upload.sendRest();
  const answer = await upload.answered;
  assert.equal(answer.status, 201, answer.body);
  return upload.digest;
}

/** `node dist/cli.js serve` from a copy of the runtime layout (node_modules: the project's), outside any sandbox. */
function serveFromDist(app: string, env: Record<string, string>) {
  const dir = track(mkdtempSync(join(tmpdir(), "rcp-dist-serve-")));
  for (const part of ["dist", "config", "package.json"])
    cpSync(join(app, part), join(dir, part), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  const child = spawn("setpriv", ["--pdeathsig", "KILL", process.execPath, "dist/cli.js", "serve"], {
    cwd: dir,
    env: {
      PATH: process.env["PATH"] ?? "",
      LOG_FORMAT: "json",
      HOST: "127.0.0.1",
      PORT: "0",
      DATA_DIR: join(dir, "data"),
      DELETE_JOURNAL: join(dir, "journal.jsonl"),
      METRICS_PORT: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const parsed: Record<string, unknown>[] = [];
  let pending = "";
  child.stdout.on("data", (c: Buffer) => {
    pending += c.toString();
    const parts = pending.split("\n");
    pending = parts.pop() ?? "";
    for (const t of parts) if (t.startsWith("{")) parsed.push(JSON.parse(t) as Record<string, unknown>);
  });
  child.stderr.resume();
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const lines = () => [...parsed];
  return {
    child,
    lines,
    exited,
    async url(): Promise<string> {
      await until("serve to listen", () => lines().some((l) => l["msg"] === "proxy listening"));
      return `http://127.0.0.1:${lines().find((l) => l["msg"] === "proxy listening")!["port"]}`;
    },
  };
}

const skip = sandboxUnavailable();

describe("shipped deployments, run as they are declared", { skip: skip ?? false }, () => {
  let registry: TestRegistry;
  let app: string;
  let image: ImageRuntime;

  before(async () => {
    image = imageRuntime();
    app = buildRuntimeLayout();
    registry = await startRegistry();
  });
  after(async () => {
    await registry?.stop();
    for (const d of [app, ...cleanup]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it("the image declares its state folder as a VOLUME owned by its user, with DELETE_JOURNAL in it", () => {
    assert.notEqual(image.uid, 0);
    const journal = image.env["DELETE_JOURNAL"] ?? "";
    const volume = image.volumes.find((v) => journal.startsWith(`${v}/`));
    assert.ok(volume, `DELETE_JOURNAL=${journal} is in a VOLUME (${image.volumes.join(", ")})`);
    assert.ok(image.ownedByUser.includes(volume), `${volume} is chowned to the image's user`);
  });

  it("docker compose: uid 1000, read-only root, the proxy-state volume: DELETE through it → 202, the other tag survives", async () => {
    const spec = composeSpec(app, image, registry);
    const proxy = runSandboxed(spec);
    try {
      const url = await proxy.listening;
      const ready = await request("GET", `${url}/readyz`);
      assert.equal(ready.status, 200, ready.text);
      await deleteOneTag(url, "deploy/compose");
      const { hostPath } = journalIn(spec);
      assert.equal(statSync(hostPath).uid, spec.uid, "the journal was written in the volume");
      assert.match(readFileSync(hostPath, "utf8"), /"tag":"a"/);

      // The volume turns read-only under the running proxy: not ready any more.
      const volume = dirname(hostPath);
      chmodSync(volume, 0o555);
      chmodSync(hostPath, 0o444);
      const notReady = await request("GET", `${url}/readyz`);
      assert.equal(notReady.status, 503, notReady.text);
      assert.match(notReady.json<{ notes: Record<string, string> }>().notes["journal"] ?? "", /not writable/);
      chmodSync(volume, 0o755);
      chmodSync(hostPath, 0o600);
      assert.equal((await request("GET", `${url}/readyz`)).status, 200);
    } finally {
      await proxy.stop();
    }
  });

  it("kubernetes: runAsUser, readOnlyRootFilesystem, ConfigMap and volumes: DELETE through it → 202, the other tag survives; the admin port wants the Secret's token", async () => {
    const spec = kubernetesSpec(app, image, registry);
    const proxy = runSandboxed(spec);
    try {
      const url = await proxy.listening;
      assert.equal((await request("GET", `${url}/readyz`)).status, 200);
      const admin = proxy.lines().find((l) => l["msg"] === "proxy listening")!["admin"] as string;
      assert.equal((await request("GET", `${admin}/admin/read-only`)).status, 401);
      const token = readFileSync(join(spec.readOnly.get("/etc/registry-admin-token")!, "token"), "utf8");
      const authorized = { authorization: `Bearer ${token.trim()}` };
      assert.equal((await request("GET", `${admin}/admin/read-only`, { headers: authorized })).status, 200);
      await deleteOneTag(url, "deploy/kubernetes");
      const { hostPath } = journalIn(spec);
      assert.match(readFileSync(hostPath, "utf8"), /"repository":"deploy\/kubernetes"/);
    } finally {
      await proxy.stop();
    }
  });

  it("a journal where the user cannot write stops start-up, naming the path and the setting", async () => {
    const spec = composeSpec(app, image, registry);
    // The image before its state volume: the journal beside the root-owned /app.
    spec.env["DELETE_JOURNAL"] = "./data/tag-delete-journal.jsonl";
    const { code, stderr } = await runSandboxed(spec).exited;
    assert.notEqual(code, 0);
    assert.match(stderr, /tag delete journal \/app\/data\/tag-delete-journal\.jsonl cannot be written/);
    assert.match(stderr, /delete\.journalPath \(env DELETE_JOURNAL\)/);
  });

  it("the image's entrypoint (node [flags] dist/cli.js serve as the container's process) gets SIGTERM twice during a 64 MiB upload, as docker stop, compose or Kubernetes send it: the upload completes (201), exit 0", async () => {
    const spec = composeSpec(app, image, registry);
    const proxy = runSandboxed(spec);
    try {
      const url = await proxy.listening;
      const node = descendants(proxy.pid).find((p) =>
        /^\S*node (--\S+ )*dist\/cli\.js serve/.test(commandLine(p)),
      );
      assert.ok(node, "the entrypoint's process runs below bubblewrap");
      const digest = await drainTwiceDuringUpload(url, node, () => proxy.lines(), "drain/image");
      const { code } = await proxy.exited;
      assert.equal(code, 0);
      assert.equal(proxy.lines().find((l) => l["msg"] === "stopped")?.["cutRequests"], 0);
      const head = await request("HEAD", `${registry.url}/v2/drain/image/blobs/${digest}`);
      assert.equal(head.status, 200);
      assert.equal(head.headers["content-length"], String(64 * 1024 * 1024));
    } finally {
      await proxy.stop();
    }
  });

  it("node dist/cli.js serve gets SIGTERM twice during a 64 MiB upload: the upload completes (201), the proxy exits 0 with nothing cut", async () => {
    const serve = serveFromDist(app, { UPSTREAM_URL: registry.url });
    try {
      const url = await serve.url();
      const digest = await drainTwiceDuringUpload(url, serve.child.pid!, serve.lines, "drain/dist");
      assert.equal(await serve.exited, 0);
      assert.equal((await request("HEAD", `${registry.url}/v2/drain/dist/blobs/${digest}`)).status, 200);
      assert.equal(serve.lines().find((l) => l["msg"] === "stopped")?.["cutRequests"], 0);
    } finally {
      serve.child.kill("SIGKILL");
    }
  });

  it("node dist/cli.js serve in a terminal: Ctrl-C (SIGINT, and npm's copy of it) drains; Ctrl-C again a second later exits 1 at once", async () => {
    const serve = serveFromDist(app, { UPSTREAM_URL: registry.url });
    try {
      const url = await serve.url();
      const pid = serve.child.pid!;
      const upload = await startBigUpload(url, "drain/ctrl-c", metricsOf(serve.lines));
      process.kill(pid, "SIGINT");
      await until("the drain to start", () => serve.lines().some((l) => l["msg"] === "shutting down"));
      process.kill(pid, "SIGINT"); // the copy a wrapper (npm) forwards at once
      await until("the copy to be handled", handledAgain(serve.lines));
      assert.equal(serve.child.exitCode, null, "still draining after the forwarded copy");
      await new Promise((r) => setTimeout(r, 1100));
      process.kill(pid, "SIGINT");
      assert.equal(await serve.exited, 1);
      assert.ok(serve.lines().some((l) => l["msg"] === "second Ctrl-C: exiting without waiting"));
      await assert.rejects(upload.answered, "the upload in flight was cut");
    } finally {
      serve.child.kill("SIGKILL");
    }
  });

  it("docker compose's gc service (profile gc) reaches the proxy's loopback admin listener through the proxy-state volume: the dry run reports, --apply deletes and frees the bytes", async () => {
    const spec = composeSpec(app, image, registry);
    delete spec.env["METRICS_PORT"]; // as compose runs it: the admin listener on loopback, published in DATA_DIR
    // gc's reach, not the tag history: the seed's deleted tag is not held (history-gc.test.ts has that).
    spec.env["HISTORY_WINDOW_MS"] = "0";
    const proxy = runSandboxed(spec);
    try {
      const url = await proxy.listening;
      const seed = await seedGc(url, "deploy/gc");
      const state = spec.binds.get("/var/lib/registry-compat-proxy")!;
      const dry = await runSandboxed(composeGcSpec(app, image, registry, state, ["--dry-run"])).exited;
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, new RegExp(`deploy/gc@${seed.oldDigest}`));
      const apply = await runSandboxed(composeGcSpec(app, image, registry, state, ["--apply", "--json"]))
        .exited;
      assert.equal(apply.code, 0, `${apply.stdout}\n${apply.stderr}`);
      const doc = JSON.parse(apply.stdout) as {
        freedBytes: number;
        deletes: { digest: string; result: string }[];
      };
      assert.ok(doc.deletes.some((d) => d.digest === seed.oldDigest && d.result === "deleted"));
      assert.ok(doc.freedBytes >= 6 * 1024 * 1024, `freed ${doc.freedBytes}`);
    } finally {
      await proxy.stop();
    }
  });
});
