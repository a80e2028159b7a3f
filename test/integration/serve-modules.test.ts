/**
 * What a serving proxy reads of its own code, seen from a real process run as the
 * image runs it (`node dist/cli.js serve`, plain JavaScript): every module Node
 * loads is recorded by a module hook given with `--import`. Serving registry
 * clients reads no other command's code (gc, prune, history, undelete, repo,
 * restore, tags, tag, healthcheck) and no web UI code; the first `/ui/` request
 * loads the UI and gets its page; a command run from the same build still works.
 * (The proxy's live heap, and with it how far its old generation grows, is smaller
 * for each module it does not read: docs/performance.md "Memory".)
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { type BuiltProxy, buildProxyScripts } from "../helpers/built-proxy.js";
import { request } from "../helpers/http.js";
import { type ProxyProcess, spawnProxy } from "../helpers/proxy-process.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

/** Registers a load hook that appends each loaded module's URL to LOADED_MODULES_FILE. */
const RECORDER = `import { register } from "node:module";
register(${JSON.stringify(
  `data:text/javascript,${encodeURIComponent(`import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  appendFileSync(process.env.LOADED_MODULES_FILE, url + "\\n");
  return next(url, context);
}`)}`,
)});
`;

/** The modules of the built proxy's dist/ loaded so far, as paths inside dist/. */
function loadedDist(file: string, dist: string): string[] {
  const prefix = `${pathToFileURL(dist).href}/`;
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((url) => url.startsWith(prefix))
    .map((url) => url.slice(prefix.length));
}

const COMMAND_CODE = [
  /^commands\/(gc|prune|history|history-format|repo|restore|tags|tag-calls|healthcheck|admin-target)\.js$/,
  /^gc\//,
  /^prune\//,
];
const UI_CODE = [
  /^ui\/(ui-app|page-handlers|history-handlers|repo-delete-handlers|ui-caches|assets)\.js$/,
  /^ui\/pages\//,
];

describe("serve: the code a serving proxy reads (node dist/cli.js serve, modules recorded)", () => {
  let registry: TestRegistry;
  let built: BuiltProxy;
  let dir: string;
  let record: string;
  let proxy: ProxyProcess;

  before(async () => {
    registry = await startRegistry();
    built = buildProxyScripts();
    dir = mkdtempSync(join(tmpdir(), "rcp-modules-"));
    record = join(dir, "loaded.txt");
    writeFileSync(record, "");
    const recorder = join(dir, "recorder.mjs");
    writeFileSync(recorder, RECORDER);
    proxy = await spawnProxy({ UPSTREAM_URL: registry.url, LOADED_MODULES_FILE: record }, 60_000, [
      "--import",
      pathToFileURL(recorder).href,
      built.cli,
      "serve",
    ]);
  });
  after(async () => {
    proxy?.kill();
    await proxy?.exited;
    await registry?.stop();
    built?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it("GET /v2/, tags/list and a manifest through the proxy: no command's code and no UI code read", async () => {
    assert.equal((await request("GET", `${proxy.url}/v2/`)).status, 200);
    assert.equal((await request("GET", `${proxy.url}/v2/nothing/here/tags/list`)).status, 404);
    assert.equal((await request("GET", `${proxy.url}/v2/nothing/here/tags/_list?n=2`)).status, 404);
    assert.equal((await request("GET", `${proxy.url}/v2/nothing/here/manifests/latest`)).status, 404);
    assert.equal((await request("GET", `${proxy.url}/healthz`)).status, 200);
    const loaded = loadedDist(record, join(built.app, "dist"));
    assert.ok(loaded.includes("main.js") && loaded.includes("server.js"), `recorded: ${loaded.join(" ")}`);
    const read = loaded.filter((m) => [...COMMAND_CODE, ...UI_CODE].some((re) => re.test(m)));
    assert.deepEqual(read, [], "a serving proxy read other commands' or the web UI's code");
  });

  it("GET /ui/ (the first UI request): the UI is loaded then and answers its repositories page", async () => {
    const before = loadedDist(record, join(built.app, "dist"));
    assert.ok(!before.includes("ui/ui-app.js"), "the UI's code was read before any UI request");
    const first = await request("GET", `${proxy.url}/ui/`);
    assert.equal(first.status, 200);
    assert.match(first.headers["content-type"] as string, /^text\/html/);
    assert.match(first.headers["content-security-policy"] as string, /default-src 'none'/);
    assert.match(first.body.toString(), /<html/i);
    const loaded = loadedDist(record, join(built.app, "dist"));
    assert.ok(loaded.includes("ui/ui-app.js"), "the UI's code is read on its first request");
    // The UI's own routes and the app's redirect to it, after the load.
    const asset = await request("GET", `${proxy.url}/ui/assets/nothing.css`);
    assert.equal(asset.status, 404);
    const root = await request("GET", `${proxy.url}/`, { headers: { accept: "text/html" } });
    assert.equal(root.status, 302);
    assert.equal(root.headers["location"], "/ui/");
  });

  it("registry-compat-proxy healthcheck --url (the image's HEALTHCHECK): exit 0, without the server's or other commands' code", async () => {
    const own = join(dir, "healthcheck-loaded.txt");
    writeFileSync(own, "");
    const code = await new Promise<number>((res) =>
      execFile(
        process.execPath,
        [
          "--import",
          pathToFileURL(join(dir, "recorder.mjs")).href,
          built.cli,
          "healthcheck",
          "--url",
          `${proxy.url}/healthz`,
        ],
        { env: { ...process.env, LOADED_MODULES_FILE: own } },
        (err) => res(err ? Number(err.code) : 0),
      ),
    );
    assert.equal(code, 0);
    const loaded = loadedDist(own, join(built.app, "dist"));
    assert.ok(loaded.includes("commands/healthcheck.js"), `recorded: ${loaded.join(" ")}`);
    const extra = loaded.filter(
      (m) =>
        ["main.js", "server.js", "listener.js"].includes(m) || COMMAND_CODE.slice(1).some((re) => re.test(m)),
    );
    assert.deepEqual(extra, [], "healthcheck read the server's or other commands' code");
  });
});
