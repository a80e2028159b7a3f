/**
 * Where the CLI's registry login comes from (`prune`, `gc`), first found wins:
 *   1. `--username` and `--password`;
 *   2. the environment: REGISTRY_USERNAME and REGISTRY_PASSWORD;
 *   3. the docker/podman auth file: `$REGISTRY_AUTH_FILE` when set (and only it),
 *      else `${XDG_RUNTIME_DIR}/containers/auth.json`, then `~/.docker/config.json`;
 *      the entry `auths[host]` with `auth` = base64("user:password") (or
 *      `username`/`password` fields).
 * Parsing is pure; reading files is the only I/O here.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** A login found for the registry. */
export interface FoundLogin {
  username: string;
  password: string;
  /** Where it came from, for the report (never the secret itself). */
  source: string;
}

export class CredentialsError extends Error {
  override readonly name = "CredentialsError";
}

/** `auths` keys come as `host`, `host:port`, `https://host/v1/`, `http://host:port`... */
export function normalizeAuthKey(key: string): { host: string; path: string } {
  const noScheme = key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  const slash = noScheme.indexOf("/");
  const host = (slash === -1 ? noScheme : noScheme.slice(0, slash)).toLowerCase();
  const path =
    slash === -1
      ? ""
      : noScheme
          .slice(slash + 1)
          .replace(/^(?:v1|v2)\/?$/, "")
          .replace(/\/+$/, "");
  return { host, path };
}

/** The `auths` keys that name `registryUrl`'s host (with or without its default port). */
export function hostAliases(registryUrl: URL): string[] {
  const host = registryUrl.host.toLowerCase();
  const defaultPort = registryUrl.protocol === "https:" ? "443" : "80";
  return registryUrl.port ? [host] : [host, `${host}:${defaultPort}`];
}

export interface AuthFileLookup {
  credentials: { username: string; password: string } | null;
  /** Why an entry that seemed to be there could not be used. */
  notes: string[];
}

/** Finds the credentials for `registryUrl` in the text of an auth file. */
export function lookupAuthFile(text: string, registryUrl: URL, fileName: string): AuthFileLookup {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { credentials: null, notes: [`${fileName}: not JSON (${(err as Error).message})`] };
  }
  const notes: string[] = [];
  const auths = (doc as { auths?: unknown })?.auths;
  const aliases = hostAliases(registryUrl);
  if (typeof auths === "object" && auths !== null) {
    for (const [key, entry] of Object.entries(auths as Record<string, unknown>)) {
      const { host, path } = normalizeAuthKey(key);
      if (!aliases.includes(host)) continue;
      if (path !== "") {
        notes.push(
          `${fileName}: entry "${key}" is for one namespace only; prune needs a registry-wide entry`,
        );
        continue;
      }
      const found = decodeEntry(entry);
      if (typeof found === "string") notes.push(`${fileName}: entry "${key}": ${found}`);
      else return { credentials: found, notes };
    }
  }
  const helpers = doc as { credsStore?: unknown; credHelpers?: Record<string, unknown> };
  if (typeof helpers?.credsStore === "string" || helpers?.credHelpers?.[aliases[0]!] !== undefined) {
    notes.push(`${fileName}: credential helpers are not supported; use REGISTRY_USERNAME/REGISTRY_PASSWORD`);
  }
  return { credentials: null, notes };
}

function decodeEntry(entry: unknown): { username: string; password: string } | string {
  if (typeof entry !== "object" || entry === null) return "not an object";
  const e = entry as { auth?: unknown; username?: unknown; password?: unknown; identitytoken?: unknown };
  if (typeof e.auth === "string" && e.auth !== "") {
    const plain = Buffer.from(e.auth, "base64").toString("utf8");
    const colon = plain.indexOf(":");
    if (colon <= 0) return `"auth" is not base64 of user:password`;
    return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
  }
  if (typeof e.username === "string" && typeof e.password === "string") {
    return { username: e.username, password: e.password };
  }
  if (typeof e.identitytoken === "string") return "identity tokens are not supported";
  return `no "auth" field`;
}

/** The auth files to look at, in order. */
export function authFileCandidates(env: NodeJS.ProcessEnv, home: string): string[] {
  const explicit = env["REGISTRY_AUTH_FILE"];
  if (explicit) return [explicit];
  const files: string[] = [];
  if (env["XDG_RUNTIME_DIR"]) files.push(join(env["XDG_RUNTIME_DIR"], "containers", "auth.json"));
  files.push(join(home, ".docker", "config.json"));
  return files;
}

export interface ResolveInput {
  registryUrl: URL;
  username?: string;
  password?: string;
  env: NodeJS.ProcessEnv;
  home: string;
  readFile?: (path: string) => string;
}

export interface Resolved {
  credentials: FoundLogin | null;
  notes: string[];
}

export function resolveCredentials(input: ResolveInput): Resolved {
  if (input.username !== undefined || input.password !== undefined) {
    if (input.username === undefined || input.password === undefined) {
      throw new CredentialsError("--username and --password go together");
    }
    return {
      credentials: { username: input.username, password: input.password, source: "flags" },
      notes: [],
    };
  }
  const envUser = input.env["REGISTRY_USERNAME"];
  const envPass = input.env["REGISTRY_PASSWORD"];
  if (envUser || envPass) {
    if (!envUser || envPass === undefined) {
      throw new CredentialsError("REGISTRY_USERNAME and REGISTRY_PASSWORD go together");
    }
    return { credentials: { username: envUser, password: envPass, source: "environment" }, notes: [] };
  }
  const read = input.readFile ?? ((p: string) => readFileSync(p, "utf8"));
  const notes: string[] = [];
  const explicit = Boolean(input.env["REGISTRY_AUTH_FILE"]);
  for (const file of authFileCandidates(input.env, input.home)) {
    let text: string;
    try {
      text = read(file);
    } catch (err) {
      if (explicit) notes.push(`${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      continue;
    }
    const found = lookupAuthFile(text, input.registryUrl, file);
    notes.push(...found.notes);
    if (found.credentials) return { credentials: { ...found.credentials, source: file }, notes };
  }
  return { credentials: null, notes };
}
