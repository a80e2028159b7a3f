/**
 * The image as the Dockerfile declares it (its last stage, as an engine runs it):
 * user, environment, volumes, working folder, ENTRYPOINT and CMD. Tests and benches
 * that run the proxy "as the image runs it" take its Node flags and environment from
 * here, and the deployment tests build their sandboxes from it.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Users of the node base image. */
const IMAGE_USERS: Record<string, number> = { node: 1000, root: 0 };
/** What the node image's PATH holds (node is in /usr/local/bin). */
const IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface ImageRuntime {
  uid: number;
  env: Record<string, string>;
  volumes: string[];
  /** Folders the image creates owned by its user. */
  ownedByUser: string[];
  workdir: string;
  entrypoint: string[];
  cmd: string[];
}

/** The Dockerfile's last stage, as an engine would run it. */
export function imageRuntime(): ImageRuntime {
  const lines = readFileSync(join(ROOT, "Dockerfile"), "utf8")
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const stage = lines.slice(lines.findLastIndex((l) => /^FROM /i.test(l)));
  const arg = (kw: string) =>
    stage.filter((l) => l.startsWith(`${kw} `)).map((l) => l.slice(kw.length + 1).trim());
  const user = arg("USER").at(-1) ?? "root";
  const env: Record<string, string> = { PATH: IMAGE_PATH };
  for (const e of arg("ENV")) {
    // K=V pairs, a value in double quotes may hold spaces.
    for (const m of e.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|(\S*))/g))
      env[m[1]!] = m[3] ?? m[4] ?? "";
  }
  const ownedByUser = arg("RUN").flatMap((r) => {
    const m = new RegExp(`chown (?:-R )?${user}(?::${user})? (\\S+)`).exec(r);
    return m ? [m[1]!] : [];
  });
  assert.ok(user in IMAGE_USERS, `USER ${user}`);
  return {
    uid: IMAGE_USERS[user]!,
    env,
    volumes: arg("VOLUME").flatMap((v) => JSON.parse(v) as string[]),
    ownedByUser,
    workdir: arg("WORKDIR").at(-1) ?? "/",
    entrypoint: JSON.parse(arg("ENTRYPOINT").at(-1) ?? "[]") as string[],
    cmd: JSON.parse(arg("CMD").at(-1) ?? "[]") as string[],
  };
}

/** The image's NODE_OPTIONS (its `ENV`), split into Node flags. */
export function imageNodeOptions(): string[] {
  return (imageRuntime().env["NODE_OPTIONS"] ?? "").split(/\s+/).filter(Boolean);
}

/**
 * The Node flags of the image's ENTRYPOINT (`["node", FLAGS..., "dist/cli.js"]`): those
 * Node takes only on its command line (`--min-semi-space-size`).
 */
export function imageNodeArgs(): string[] {
  const argv = imageRuntime().entrypoint;
  const script = argv.findIndex((a) => a.endsWith(".js"));
  return argv[0] === "node" && script > 0 ? argv.slice(1, script) : [];
}

/**
 * The image's settings of the C library's allocator (`MALLOC_*` in its `ENV`): a
 * process run "as the image runs it" gets them too (docs/performance.md "Knobs").
 */
export function imageMallocEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(imageRuntime().env).filter(([k]) => k.startsWith("MALLOC_")));
}
