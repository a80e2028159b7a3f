/**
 * The argument layer's own checks, before any command runs: the package version, option
 * values that start with a dash (a negative number reaches the command's own check
 * instead of parseArgs' "ambiguous"), addresses given without their scheme (refused, never
 * guessed), numbers for serve's flags, `REPO:TAG` references, and the environment each
 * command reads (for --help). Pure functions.
 */
import { readFileSync } from "node:fs";
import type { ParseArgsConfig } from "node:util";
import { SCHEMA } from "../config-schema.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** `registry-compat-proxy X.Y.Z`: src/commands and dist/commands both sit two folders below package.json. */
export function versionLine(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return `registry-compat-proxy ${pkg.version}\n`;
}

/** `--keep -1` becomes `--keep=-1`: a string option's value may be a negative number. */
export function attachDashValues(args: readonly string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const name = arg.startsWith("--") && !arg.includes("=") ? arg.slice(2) : null;
    const next = args[i + 1];
    if (name && options[name]?.type === "string" && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** Options whose value is an address with a scheme (http:// or https://). */
const URL_OPTIONS = ["registry", "admin", "upstream", "url"] as const;

/** A usage problem with an address option given without its scheme, or null. */
export function schemeProblem(values: Record<string, unknown>): string | null {
  for (const name of URL_OPTIONS) {
    const v = values[name];
    if (typeof v !== "string" || /^[a-z][a-z0-9+.-]*:\/\//i.test(v)) continue;
    return `--${name} ${v} has no scheme: write http://${v} (plain HTTP) or https://${v} (TLS)`;
  }
  return null;
}

/** A whole number from min to max, or a usage message naming the option and the value. */
export function wholeNumber(
  name: string,
  text: string,
  min: number,
  max: number,
): { value: number } | { problem: string } {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    return { problem: `--${name} must be a whole number from ${min} to ${max}, got "${text}"` };
  }
  return { value: Number(text) };
}

/** Every environment variable of the configuration (config/default.yaml's comments), and RCP_CONFIG. */
export function configEnv(): string[] {
  const names = Object.values(SCHEMA).flatMap((fields) =>
    Object.values(fields as Record<string, { env?: string }>).flatMap((f) => (f.env ? [f.env] : [])),
  );
  return ["RCP_CONFIG", ...names];
}

/** "environment: A, B, C" wrapped under a command's usage. */
export function envHelp(names: readonly string[]): string {
  const lines: string[] = [];
  let line = "      environment:";
  for (const [i, name] of names.entries()) {
    const word = ` ${name}${i < names.length - 1 ? "," : ""}`;
    if (line.length + word.length > 96) {
      lines.push(line);
      line = "       ";
    }
    line += word;
  }
  lines.push(line);
  return lines.join("\n");
}

/** `REPO` or `REPO:TAG` split (a tag has no `/` or `:`, so the last `:` after the last `/` splits); not validated. */
export function splitReference(ref: string): { name: string; tag: string | null } {
  const colon = ref.lastIndexOf(":");
  return colon > ref.lastIndexOf("/")
    ? { name: ref.slice(0, colon), tag: ref.slice(colon + 1) }
    : { name: ref, tag: null };
}
