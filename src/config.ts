/**
 * Configuration: the defaults file, an optional file chosen with `--config` or
 * RCP_CONFIG, then environment overrides; validated once into a frozen Config.
 * Every problem names its key.
 */
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { type Config, type FieldSpec, SCHEMA, type Schema } from "./config-schema.js";
import { ImmutableRuleError, parseImmutableRules } from "./oci/immutable-rules.js";
import { adminTokenProblem, tokenFromFileText } from "./ops/admin-auth.js";

export type { Config } from "./config-schema.js";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

type Plain = Record<string, unknown>;

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_CONFIG_FILE = join(PROJECT_ROOT, "config", "default.yaml");

function isPlain(v: unknown): v is Plain {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function readYamlFile(path: string): Plain {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`config file ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${path}: invalid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isPlain(doc)) throw new ConfigError(`config file ${path}: the top level must be a mapping`);
  return doc;
}

function merge(base: Plain, over: Plain, where: string): Plain {
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlain(b) && isPlain(v) ? merge(b, v, `${where}${k}.`) : v;
  }
  return out;
}

function parseEnvValue(spec: FieldSpec, raw: string): unknown {
  switch (spec.type) {
    case "int":
      if (raw.trim() === "" && spec.nullable) return null;
      return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
    case "bool":
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      return raw;
    case "string[]":
      return raw
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      return raw === "" && "nullable" in spec && spec.nullable ? null : raw;
  }
}

function checkField(key: string, spec: FieldSpec, v: unknown): unknown {
  const fail = (what: string): never => {
    if ("secret" in spec && spec.secret) throw new ConfigError(`config key ${key}: ${what}`);
    throw new ConfigError(`config key ${key}: ${what}, got ${JSON.stringify(v)}`);
  };
  if (v === null && "nullable" in spec && spec.nullable) return null;
  switch (spec.type) {
    case "string":
      if (typeof v !== "string" || v === "") fail("must be a non-empty string");
      return v;
    case "path":
      if (typeof v !== "string" || v === "") fail("must be a non-empty path");
      return resolve(v as string);
    case "url": {
      if (typeof v !== "string") return fail("must be an http(s) URL");
      let u: URL;
      try {
        u = new URL(v);
      } catch {
        return fail("must be an http(s) URL");
      }
      if (u.protocol !== "http:" && u.protocol !== "https:") fail("must use http or https");
      if (u.username || u.password) fail("must not carry credentials");
      if (u.search || u.hash) fail("must not have a query or fragment");
      // The API's /v2/ is added to every path: a URL that already ends in it would be
      // taken as a path prefix (/v2/v2/...) and every request would be a 404.
      if (/\/v2\/*$/.test(u.pathname)) {
        fail(`must be the registry's root URL without /v2 (e.g. ${u.origin}): the proxy adds /v2/ itself`);
      }
      return v.replace(/\/+$/, "");
    }
    case "int":
      if (typeof v !== "number" || !Number.isInteger(v)) fail("must be an integer");
      if ((v as number) < spec.min || (v as number) > spec.max)
        fail(`must be between ${spec.min} and ${spec.max}`);
      return v;
    case "bool":
      if (typeof v !== "boolean") fail("must be true or false");
      return v;
    case "enum":
      if (typeof v !== "string" || !spec.values.includes(v)) fail(`must be one of ${spec.values.join(", ")}`);
      return v;
    case "string[]":
      if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) fail("must be a list of strings");
      return Object.freeze([...(v as string[])]);
  }
}

function validate(schema: Schema, doc: Plain): Plain {
  const out: Plain = {};
  for (const key of Object.keys(doc)) {
    if (!(key in schema)) throw new ConfigError(`config key ${key}: unknown section`);
  }
  for (const [section, fields] of Object.entries(schema)) {
    const given = doc[section] ?? {};
    if (!isPlain(given)) throw new ConfigError(`config key ${section}: must be a mapping`);
    for (const key of Object.keys(given)) {
      if (!(key in fields)) throw new ConfigError(`config key ${section}.${key}: unknown key`);
    }
    const sec: Plain = {};
    for (const [key, spec] of Object.entries(fields)) {
      if (!(key in given)) throw new ConfigError(`config key ${section}.${key}: missing`);
      sec[key] = checkField(`${section}.${key}`, spec, given[key]);
    }
    out[section] = Object.freeze(sec);
  }
  return out;
}

function crossCheck(c: Config): void {
  if ((c.listen.tlsCert === null) !== (c.listen.tlsKey === null)) {
    throw new ConfigError("config key listen.tlsCert/listen.tlsKey: set both or neither");
  }
  if ((c.upstream.clientCertFile === null) !== (c.upstream.clientKeyFile === null)) {
    throw new ConfigError("config key upstream.clientCertFile/upstream.clientKeyFile: set both or neither");
  }
  if (c.metrics.port !== null && c.metrics.port !== 0 && c.metrics.port === c.listen.port) {
    throw new ConfigError(
      "config key metrics.port: must differ from listen.port (null serves /metrics there)",
    );
  }
  if (c.metrics.adminToken !== null && c.metrics.adminTokenFile !== null) {
    throw new ConfigError("config key metrics.adminToken/metrics.adminTokenFile: set one or neither");
  }
  const tokenProblem = c.metrics.adminToken === null ? null : adminTokenProblem(c.metrics.adminToken);
  if (tokenProblem) throw new ConfigError(`config key metrics.adminToken: ${tokenProblem}`);
  try {
    parseImmutableRules(c.tags.immutable);
  } catch (err) {
    if (err instanceof ImmutableRuleError) throw new ConfigError(`config key tags.immutable: ${err.message}`);
    throw err;
  }
  for (const o of c.upstream.publicOrigins) {
    if (!/^https?:\/\/[^/?#]+$/.test(o)) {
      throw new ConfigError(
        `config key upstream.publicOrigins: "${o}" is not an origin like http://host:port`,
      );
    }
  }
}

/**
 * A token kept in a file (a mounted Kubernetes Secret): its content without the
 * trailing line break. An unreadable, empty or unusable file is a ConfigError that
 * names `label` and the path, never the content.
 */
export function readTokenFile(path: string, label: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`${label}: cannot read ${path}: ${(err as Error).message}`);
  }
  const token = tokenFromFileText(text);
  const problem = adminTokenProblem(token);
  if (problem) throw new ConfigError(`${label}: the token in ${path} ${problem}`);
  return token;
}

/** The config with `metrics.adminToken` read from `metrics.adminTokenFile` when that is set. */
function withTokenFromFile(c: Config): Config {
  const file = c.metrics.adminTokenFile;
  if (file === null) return c;
  const adminToken = readTokenFile(file, "config key metrics.adminTokenFile");
  return Object.freeze({ ...c, metrics: Object.freeze({ ...c.metrics, adminToken }) });
}

export interface LoadOptions {
  /** Extra file (from --config); RCP_CONFIG is used when absent. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Values that win over everything (used by tests and the embedded default). */
  overrides?: Plain;
}

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  let doc = readYamlFile(DEFAULT_CONFIG_FILE);
  const file = options.file ?? env["RCP_CONFIG"];
  if (file) doc = merge(doc, readYamlFile(file), "");
  const fromEnv: Plain = {};
  for (const [section, fields] of Object.entries(SCHEMA as Schema)) {
    for (const [key, spec] of Object.entries(fields)) {
      const raw = spec.env ? env[spec.env] : undefined;
      if (raw === undefined) continue;
      const sec = (fromEnv[section] as Plain | undefined) ?? {};
      sec[key] = parseEnvValue(spec, raw);
      fromEnv[section] = sec;
    }
  }
  doc = merge(doc, fromEnv, "");
  if (options.overrides) doc = merge(doc, options.overrides, "");
  const config = Object.freeze(validate(SCHEMA, doc)) as unknown as Config;
  crossCheck(config);
  return withTokenFromFile(config);
}
