/**
 * `registry-compat-proxy repo delete NAME --registry URL`: deletes a repository
 * through the running proxy's `DELETE /v2/<name>` (docs/repo-delete.md), so the
 * proxy's guards (immutable tags, read-only window) and its tag history apply; the
 * registry is never called directly. Credentials as `prune`'s: flags, then
 * REGISTRY_USERNAME/REGISTRY_PASSWORD, then the docker/podman auth file.
 *
 * Exit codes: 0 deleted, 1 refused or failed (the message names what was deleted
 * and what remains), 2 usage error, 3 no such repository (or one without tags).
 */
import { homedir } from "node:os";
import { firstErrorCode } from "../oci/errors.js";
import { isValidName } from "../oci/grammar.js";
import { createRegistryClient } from "../registry-client/client.js";
import { CredentialsError, resolveCredentials } from "../registry-client/credential-sources.js";
import { ANONYMOUS, login } from "../registry-client/credentials.js";

/** Where the command writes (the command line's io). */
export interface RepoIo {
  out(text: string): void;
  err(text: string): void;
}

type OptionValues = Record<string, string | boolean | string[] | undefined>;

/** A repository delete of many tags takes a while: one call, waited for this long. */
const REPO_DELETE_TIMEOUT_MS = 30 * 60_000;

interface OciErrorBody {
  errors?: Array<{ code?: string; message?: string; detail?: Record<string, unknown> }>;
}

const str = (v: OptionValues[string]) => (typeof v === "string" ? v : undefined);

/** Why the arguments cannot be used, or null. */
function usageProblem(positionals: readonly string[], registry: string | undefined): string | null {
  if (positionals[0] !== "delete")
    return `unknown repo subcommand: ${positionals[0] ?? "(none)"}; use: repo delete NAME`;
  const name = positionals[1];
  if (name === undefined) return "repo delete needs the repository NAME";
  if (!isValidName(name))
    return `${JSON.stringify(name)} is not a repository name (lowercase components separated by /)`;
  if (registry === undefined)
    return "--registry URL is required (the proxy's address, e.g. http://localhost:5000)";
  if (/@/.test(new URL(registry).host)) return "--registry must not carry credentials";
  return null;
}

function describeError(body: OciErrorBody, status: number): string {
  const e = body.errors?.[0];
  if (!e) return `the proxy answered ${status}`;
  const lines = [`${e.code ?? "ERROR"}: ${e.message ?? ""}`];
  const remaining = e.detail?.["remaining"];
  if (Array.isArray(remaining) && remaining.length > 0) lines.push(`remaining tags: ${remaining.join(", ")}`);
  const deleted = e.detail?.["deleted"];
  if (Array.isArray(deleted) && deleted.length > 0) lines.push(`deleted tags: ${deleted.join(", ")}`);
  return lines.join("\n");
}

export async function repoCommand(
  values: OptionValues,
  positionals: readonly string[],
  io: RepoIo,
): Promise<number> {
  const registry = str(values["registry"]);
  const problem = usageProblem(positionals, registry);
  if (problem) {
    io.err(`registry-compat-proxy repo: ${problem}\n`);
    return 2;
  }
  const name = positionals[1]!;
  const url = new URL(registry!);
  let creds = ANONYMOUS;
  try {
    const found = resolveCredentials({
      registryUrl: url,
      ...(str(values["username"]) !== undefined ? { username: str(values["username"])! } : {}),
      ...(str(values["password"]) !== undefined ? { password: str(values["password"])! } : {}),
      env: process.env,
      home: homedir(),
    }).credentials;
    if (found) creds = login(found.username, found.password);
  } catch (err) {
    if (!(err instanceof CredentialsError)) throw err;
    io.err(`registry-compat-proxy repo: ${err.message}\n`);
    return 2;
  }
  const client = createRegistryClient({
    url: url.href,
    timeoutMs: REPO_DELETE_TIMEOUT_MS,
    userAgent: "registry-compat-proxy-repo",
  });
  try {
    const res = await client.as(creds).request({
      method: "DELETE",
      path: `/v2/${name}`,
      scope: `repository:${name}:pull,push,delete`,
    });
    const text = res.body.toString("utf8");
    if (values["json"] === true) io.out(text.endsWith("\n") ? text : `${text}\n`);
    if (res.status === 202) {
      const deleted = (JSON.parse(text) as { deleted?: string[] }).deleted ?? [];
      if (values["json"] !== true)
        io.out(`deleted repository ${name}: ${deleted.length} tag(s): ${deleted.join(", ")}\n`);
      return 0;
    }
    let body: OciErrorBody = {};
    try {
      body = JSON.parse(text) as OciErrorBody;
    } catch {
      // not OCI JSON: the status says it
    }
    if (res.status === 404 && firstErrorCode(res.body) === "NAME_UNKNOWN") {
      io.err(`registry-compat-proxy repo: no repository ${name} (or it has no tags); nothing was deleted\n`);
      return 3;
    }
    io.err(
      `registry-compat-proxy repo: delete of ${name} failed (${res.status})\n${describeError(body, res.status)}\n`,
    );
    return 1;
  } catch (err) {
    io.err(`registry-compat-proxy repo: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await client.close();
  }
}
