/**
 * Helpers for the digest delete guard's tests (delete.digestDeletes): the delete
 * commands people run against a registry:2 (skopeo delete, the HEAD-then-DELETE
 * curl script of countless blog posts) and the refusal's body.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { requireTools } from "./prereq.js";

const exec = promisify(execFile);

export interface CommandResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

async function run(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<CommandResult> {
  try {
    const r = await exec(file, args, { env: { ...process.env, ...env } });
    return { ok: true, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** `skopeo delete --tls-verify=false docker://<host>/<ref>` (ref = repo:tag or repo@digest). */
export function skopeoDelete(host: string, ref: string, creds?: string): Promise<CommandResult> {
  requireTools("skopeo");
  return run("skopeo", [
    "delete",
    "--tls-verify=false",
    ...(creds ? ["--creds", creds] : []),
    `docker://${host}/${ref}`,
  ]);
}

/**
 * The blog-post script: HEAD the tag for its Docker-Content-Digest, then
 * DELETE /v2/<name>/manifests/<digest>. Prints the DELETE's body, then its status
 * on a line of its own; `curl -u` when credentials are given.
 */
export const HEAD_THEN_DELETE = `
set -eu
registry=$1 name=$2 tag=$3 user=\${4:-}
auth=()
if [ -n "$user" ]; then auth=(-u "$user"); fi
digest=$(curl -sSI "\${auth[@]}" \\
  -H "Accept: application/vnd.docker.distribution.manifest.v2+json" \\
  -H "Accept: application/vnd.oci.image.manifest.v1+json" \\
  "$registry/v2/$name/manifests/$tag" | awk 'tolower($1) == "docker-content-digest:" { print $2 }' | tr -d '\\r')
test -n "$digest"
curl -sS "\${auth[@]}" -w '\n%{http_code}' -X DELETE "$registry/v2/$name/manifests/$digest"
`;

export async function headThenDelete(
  registry: string,
  name: string,
  tag: string,
  user?: string,
): Promise<{ status: number; body: string }> {
  requireTools("curl");
  const r = await run("bash", ["-c", HEAD_THEN_DELETE, "head-then-delete", registry, name, tag, user ?? ""]);
  const lines = r.stdout.trimEnd().split("\n");
  if (!r.ok || lines.length === 0) throw new Error(`head-then-delete failed: ${r.stderr}`);
  return { status: Number(lines.pop()), body: lines.join("\n") };
}

export interface Refusal {
  code: string;
  message: string;
  detail: {
    name: string;
    digest: string;
    tags: string[];
    indexes: Array<{ digest: string; tags: string[] }>;
  };
}

export function refusalOf(res: { json<T>(): T }): Refusal {
  return res.json<{ errors: Refusal[] }>().errors[0]!;
}
