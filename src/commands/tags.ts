/**
 * `registry-compat-proxy tags list REPO` and `registry-compat-proxy tag delete REPO:TAG`:
 * a one-tag delete and the tags of a repository without crafting curl. Both talk to
 * the proxy (--registry URL, its scheme required) with the credentials `prune` uses
 * (flags, REGISTRY_USERNAME/REGISTRY_PASSWORD, the docker/podman auth file); the
 * delete goes through the proxy's `DELETE /v2/<name>/tags/<tag>`, so its guards
 * (immutable tags, the read-only window) and its tag history apply.
 */

import { homedir } from "node:os";
import { ConfigError } from "../config.js";
import { isLoopbackHost } from "../http/local-url.js";
import { isValidName, isValidTag } from "../oci/grammar.js";
import { parseRegistryUrl } from "../prune/options.js";
import { createRegistryClient, type RegistryCalls } from "../registry-client/client.js";
import { CredentialsError, resolveCredentials } from "../registry-client/credential-sources.js";
import { ANONYMOUS, login } from "../registry-client/credentials.js";
import { splitReference, wholeNumber } from "./cli-args.js";
import { DEFAULT_PAGE_SIZE } from "./command-specs.js";
import { deleteOneTag, listAllTags } from "./tag-calls.js";

/** Exit codes of `tags list` and `tag delete` (docs/tag-delete.md). */
export const TAGS_EXIT = {
  ok: 0,
  /** The registry failed, or refused (immutable tag, read-only window, credentials). */
  failed: 1,
  usage: 2,
  /** The repository or the tag does not exist. */
  notFound: 3,
} as const;

const CALL_TIMEOUT_MS = 30_000;

type Values = Record<string, string | boolean | string[] | undefined>;
interface Io {
  out(text: string): void;
  err(text: string): void;
}

const str = (v: Values, k: string) => (typeof v[k] === "string" ? (v[k] as string) : undefined);

/** The registry's calls with the command's credentials (a note on stderr says where they came from). */
function connect(v: Values, io: Io, env: NodeJS.ProcessEnv, command: string) {
  const registryText = str(v, "registry") ?? env["REGISTRY_URL"];
  if (registryText !== undefined && !/^[a-z][a-z0-9+.-]*:\/\//i.test(registryText)) {
    throw new ConfigError(
      `REGISTRY_URL ${registryText} has no scheme: write http://${registryText} or https://${registryText}`,
    );
  }
  const registry = parseRegistryUrl(registryText);
  let resolved: ReturnType<typeof resolveCredentials>;
  try {
    resolved = resolveCredentials({
      registryUrl: registry,
      username: str(v, "username"),
      password: str(v, "password"),
      env,
      home: homedir(),
    });
  } catch (err) {
    if (err instanceof CredentialsError) throw new ConfigError(err.message);
    throw err;
  }
  for (const note of resolved.notes) io.err(`${command}: ${note}\n`);
  const creds = resolved.credentials;
  if (creds && registry.protocol === "http:" && !isLoopbackHost(registry.hostname)) {
    io.err(`${command}: warning: sending credentials over plain http\n`);
  }
  const client = createRegistryClient({
    url: registry,
    timeoutMs: CALL_TIMEOUT_MS,
    userAgent: `registry-compat-proxy-${command.replace(" ", "-")}`,
  });
  const reg: RegistryCalls = client.as(creds ? login(creds.username, creds.password) : ANONYMOUS);
  return { registry, reg, close: () => client.close() };
}

function expectWord(positionals: readonly string[], word: string, command: string): string {
  if (positionals[0] !== word) {
    throw new ConfigError(`${command} ${positionals[0] ?? ""}: unknown; write "${command} ${word} ..."`);
  }
  const arg = positionals[1];
  if (arg === undefined) throw new ConfigError(`${command} ${word}: an argument is missing`);
  return arg;
}

/** `tags list REPO`. */
export async function tagsListCommand(
  v: Values,
  positionals: readonly string[],
  io: Io,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const name = expectWord(positionals, "list", "tags");
  if (!isValidName(name)) throw new ConfigError(`tags list: not a repository name: ${JSON.stringify(name)}`);
  const sizeText = str(v, "page-size");
  const size =
    sizeText === undefined ? { value: DEFAULT_PAGE_SIZE } : wholeNumber("page-size", sizeText, 1, 100_000);
  if ("problem" in size) throw new ConfigError(size.problem);
  const { registry, reg, close } = connect(v, io, env, "tags list");
  try {
    const result = await listAllTags(reg, registry, name, size.value);
    if (!result.ok) {
      io.err(`${result.message}\n`);
      return result.kind === "not-found" ? TAGS_EXIT.notFound : TAGS_EXIT.failed;
    }
    if (v["json"] === true) io.out(`${JSON.stringify({ name, tags: result.tags })}\n`);
    else if (result.tags.length > 0) io.out(`${result.tags.join("\n")}\n`);
    return TAGS_EXIT.ok;
  } finally {
    await close();
  }
}

/** `tag delete REPO:TAG`. */
export async function tagDeleteCommand(
  v: Values,
  positionals: readonly string[],
  io: Io,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const ref = expectWord(positionals, "delete", "tag");
  const { name, tag } = splitReference(ref);
  if (tag === null) throw new ConfigError(`tag delete: name the tag: ${ref}:TAG`);
  if (!isValidName(name)) throw new ConfigError(`tag delete: not a repository name: ${JSON.stringify(name)}`);
  if (!isValidTag(tag)) throw new ConfigError(`tag delete: not a tag: ${JSON.stringify(tag)}`);
  const { reg, close } = connect(v, io, env, "tag delete");
  try {
    const result = await deleteOneTag(reg, name, tag);
    if (result.ok) {
      io.out(`deleted ${name}:${tag}\n`);
      return TAGS_EXIT.ok;
    }
    io.err(`${result.message}\n`);
    return result.kind === "not-found" ? TAGS_EXIT.notFound : TAGS_EXIT.failed;
  } finally {
    await close();
  }
}
