/**
 * The proxy as plain JavaScript, the way the image runs it (`node dist/cli.js`),
 * for tests that measure the process itself (its memory): a process run through
 * tsx also carries tsx's loader and compiler (36-42 MiB more resident memory,
 * measured). Built in half a second: esbuild strips the types of each file of src/
 * (the test command's `tsc --noEmit` checks them; the project's isolatedModules
 * makes each file transpile alone; tsc itself takes about 5 s), the web UI's JSX
 * pages and its assets included, into a temporary folder laid out like the
 * image's /app: dist/, config/, package.json and the project's node_modules (linked).
 */
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { transformSync } from "esbuild";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface BuiltProxy {
  /** The folder laid out like the image's /app. */
  readonly app: string;
  /** `dist/cli.js` inside it. */
  readonly cli: string;
  remove(): void;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

/** The runtime stage's `ENV` variables (the Dockerfile's last `FROM` on), as the image sets them. */
export function imageEnv(): Record<string, string> {
  const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  const runtime = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
  const env: Record<string, string> = {};
  // `ENV K=V \` continuation lines, up to the next instruction.
  for (const block of runtime.matchAll(/^ENV ((?:.*\\\n)*.*)$/gm)) {
    for (const m of block[1]!.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|(\S+))/g)) {
      env[m[1]!] = m[3] ?? m[4] ?? "";
    }
  }
  return env;
}

/**
 * The Node flags of the image's ENTRYPOINT (`["node", FLAGS..., "dist/cli.js"]`): those
 * Node takes only on its command line (`--min-semi-space-size`).
 */
export function imageNodeArgs(): string[] {
  const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  const runtime = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
  const entry = [...runtime.matchAll(/^ENTRYPOINT (\[.*\])$/gm)].at(-1)?.[1];
  const argv = entry === undefined ? [] : (JSON.parse(entry) as string[]);
  const script = argv.findIndex((a) => a.endsWith(".js"));
  return argv[0] === "node" && script > 0 ? argv.slice(1, script) : [];
}

/** The image's NODE_OPTIONS (the Dockerfile's `ENV`), split into Node flags. */
export function imageNodeOptions(): string[] {
  return (imageEnv()["NODE_OPTIONS"] ?? "").split(/\s+/).filter(Boolean);
}

/**
 * The image's settings of the C library's allocator (`MALLOC_*` in the Dockerfile's
 * `ENV`): a process run "as the image runs it" gets them too (docs/performance.md "Knobs").
 */
export function imageMallocEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(imageEnv()).filter(([k]) => k.startsWith("MALLOC_")));
}

export function buildProxyScripts(): BuiltProxy {
  const app = mkdtempSync(join(tmpdir(), "rcp-built-proxy-"));
  const src = join(ROOT, "src");
  for (const file of tsFiles(src)) {
    const out = join(app, "dist", relative(src, file).replace(/\.tsx?$/, ".js"));
    mkdirSync(dirname(out), { recursive: true });
    const tsx = file.endsWith(".tsx");
    const { code } = transformSync(readFileSync(file, "utf8"), {
      // The web UI's pages are JSX, compiled as tsconfig.json says (Hono's JSX runtime).
      ...(tsx ? { loader: "tsx", jsx: "automatic", jsxImportSource: "hono/jsx" } : { loader: "ts" }),
      format: "esm",
      target: "es2022",
      sourcefile: file,
    });
    writeFileSync(out, code);
  }
  // The web UI's stylesheet, script and icon, beside the compiled code as `npm run build` puts them.
  cpSync(join(src, "ui", "assets"), join(app, "dist", "ui", "assets"), { recursive: true });
  cpSync(join(ROOT, "config"), join(app, "config"), { recursive: true });
  cpSync(join(ROOT, "package.json"), join(app, "package.json"));
  symlinkSync(join(ROOT, "node_modules"), join(app, "node_modules"));
  return {
    app,
    cli: join(app, "dist", "cli.js"),
    remove: () => rmSync(app, { recursive: true, force: true }),
  };
}
