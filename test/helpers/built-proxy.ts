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
