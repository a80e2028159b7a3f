/**
 * Runs the proxy the way a container runs it, without a container engine: the
 * image's runtime layout (dist/ built from src/, config/, package.json,
 * node_modules) at /app, a read-only root, an unprivileged uid, and only the
 * writable paths and the environment a deployment declares. bubblewrap builds the
 * mount namespace (it runs as root here, so it needs no user namespace), setpriv
 * drops to the uid/gid/groups inside it.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export function sandboxUnavailable(): string | null {
  if (process.getuid?.() !== 0)
    return "needs root (to run bubblewrap without a user namespace and drop to a uid)";
  for (const bin of ["bwrap", "setpriv"]) {
    if (spawnSync(bin, ["--version"]).status !== 0)
      return `${bin} is not installed (apt-get install -y bubblewrap)`;
  }
  return null;
}

/** The image's /app: built with the project's tsc into a temporary folder (mode 755, root-owned). */
export function buildRuntimeLayout(): string {
  const app = mkdtempSync(join(tmpdir(), "rcp-image-app-"));
  chmodSync(app, 0o755);
  execFileSync(
    process.execPath,
    [
      join(ROOT, "node_modules/typescript/bin/tsc"),
      "-p",
      "tsconfig.build.json",
      "--outDir",
      join(app, "dist"),
    ],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  // As `npm run build` (the Dockerfile's): the web UI's assets beside the compiled code.
  cpSync(join(ROOT, "src/ui/assets"), join(app, "dist/ui/assets"), { recursive: true });
  cpSync(join(ROOT, "config"), join(app, "config"), { recursive: true });
  cpSync(join(ROOT, "package.json"), join(app, "package.json"));
  // Mount point for the project's node_modules (bound read-only over it).
  mkdirSync(join(app, "node_modules"));
  return app;
}

export interface SandboxSpec {
  /** The image's runtime layout (buildRuntimeLayout). */
  app: string;
  workdir: string;
  uid: number;
  gid: number;
  /** Supplementary groups (Kubernetes fsGroup). */
  groups: number[];
  env: Record<string, string>;
  /** Writable folders: sandbox path → host folder. */
  binds: Map<string, string>;
  /** Read-only folders: sandbox path → host folder. */
  readOnly: Map<string, string>;
  /** Writable tmpfs mounts (world-writable, like /tmp or an emptyDir). */
  tmpfs: string[];
  argv: string[];
}

export function sandboxArgs(s: SandboxSpec): string[] {
  const args = [
    // Its own pid namespace: when bwrap goes, everything in it goes (the uid change
    // in setpriv clears --die-with-parent for the proxy itself).
    "--unshare-pid",
    "--die-with-parent",
    "--clearenv",
    "--ro-bind",
    "/usr",
    "/usr",
    // /etc stays the sandbox's own (mount points can be made there): only what Node reads.
    "--dir",
    "/etc",
    "--ro-bind-try",
    "/etc/passwd",
    "/etc/passwd",
    "--ro-bind-try",
    "/etc/group",
    "/etc/group",
    "--ro-bind-try",
    "/etc/hosts",
    "/etc/hosts",
    "--ro-bind-try",
    "/etc/resolv.conf",
    "/etc/resolv.conf",
    "--ro-bind-try",
    "/etc/ssl",
    "/etc/ssl",
    "--symlink",
    "usr/lib",
    "/lib",
    "--symlink",
    "usr/lib64",
    "/lib64",
    "--symlink",
    "usr/bin",
    "/bin",
    // The Node that runs the tests, where the node image has it (/usr/local/bin).
    "--ro-bind",
    dirname(process.execPath),
    "/usr/local/bin",
    "--ro-bind",
    s.app,
    "/app",
    "--ro-bind",
    join(ROOT, "node_modules"),
    "/app/node_modules",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
  ];
  const mountPoints = [...s.binds.keys(), ...s.readOnly.keys(), ...s.tmpfs];
  for (const p of mountPoints) args.push("--dir", p);
  // Everything so far read-only; the declared mounts come after.
  args.push("--remount-ro", "/");
  for (const p of s.tmpfs) args.push("--perms", "1777", "--tmpfs", p);
  for (const [to, from] of s.readOnly) args.push("--ro-bind", from, to);
  for (const [to, from] of s.binds) args.push("--bind", from, to);
  for (const [k, v] of Object.entries(s.env)) args.push("--setenv", k, v);
  args.push("--chdir", s.workdir, "--");
  args.push("setpriv", "--reuid", String(s.uid), "--regid", String(s.gid));
  args.push(...(s.groups.length ? ["--groups", s.groups.join(",")] : ["--clear-groups"]));
  args.push("--no-new-privs", ...s.argv);
  return args;
}

export interface SandboxedProcess {
  /** bubblewrap's pid (the proxy runs below it, as the command line the spec names). */
  readonly pid: number;
  /** JSON log lines so far. */
  lines(): Record<string, unknown>[];
  /** Resolves with the proxy's URL once it logs "proxy listening". */
  listening: Promise<string>;
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export function runSandboxed(s: SandboxSpec, timeoutMs = 60_000): SandboxedProcess {
  const child = spawn("bwrap", sandboxArgs(s), { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let onLine: ((line: Record<string, unknown>) => void) | null = null;
  const parsed: Record<string, unknown>[] = [];
  let pending = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    pending += chunk.toString();
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const text of lines) {
      if (!text.startsWith("{")) continue;
      const line = JSON.parse(text) as Record<string, unknown>;
      parsed.push(line);
      onLine?.(line);
    }
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((res) =>
    child.once("exit", (code) => res({ code, stdout, stderr })),
  );
  const listening = new Promise<string>((res, rej) => {
    const timer = setTimeout(
      () => rej(new Error(`not listening within ${timeoutMs} ms:\n${stdout}\n${stderr}`)),
      timeoutMs,
    );
    onLine = (line) => {
      if (line["msg"] !== "proxy listening") return;
      clearTimeout(timer);
      res(`http://127.0.0.1:${line["port"]}`);
    };
    void exited.then(({ code }) => {
      clearTimeout(timer);
      rej(new Error(`the proxy exited (${code}) before listening:\n${stdout}\n${stderr}`));
    });
  });
  listening.catch(() => {});
  return {
    pid: child.pid!,
    lines: () => [...parsed],
    listening,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** A host folder standing for a volume: owned by uid:gid with the given mode. */
export function volumeDir(uid: number, gid: number, mode: number): string {
  const dir = mkdtempSync(join(tmpdir(), "rcp-volume-"));
  execFileSync("chown", [`${uid}:${gid}`, dir]);
  chmodSync(dir, mode);
  return dir;
}

/** A read-only folder holding the given files (a ConfigMap volume). */
export function filesDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "rcp-configmap-"));
  chmodSync(dir, 0o755);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { mode: 0o644 });
  return dir;
}
