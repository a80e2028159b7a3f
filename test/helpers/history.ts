/**
 * For the tag history tests: the `history` and `undelete` command lines run in
 * process (the real argument parsing and admin client, output captured), and a
 * tag's or repository's entries read straight from the admin endpoints.
 */
import { runCommandLine } from "../../src/commands/command-line.js";
import type { HistoryEntry } from "../../src/history/queries.js";
import { request } from "./http.js";

export interface CliRun {
  code: number | null;
  out: string;
  err: string;
}

/** `registry-compat-proxy <args>` in process. */
export async function cli(args: string[]): Promise<CliRun> {
  let out = "";
  let err = "";
  const code = await runCommandLine(args, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

/** A tag's entries (tag given) or a repository's, newest first, from the admin endpoint. */
export async function entries(
  admin: string,
  repo: string,
  tag?: string,
  token?: string,
): Promise<HistoryEntry[]> {
  const path = tag === undefined ? `/admin/history/${repo}` : `/admin/history/${repo}/_tags/${tag}`;
  const res = await request("GET", `${admin}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text}`);
  return res.json<{ entries: HistoryEntry[] }>().entries;
}

/** The fields of entries that tests compare (ids and times vary). */
export function shape(list: readonly HistoryEntry[]): Array<Record<string, unknown>> {
  return list.map((e) => {
    const { id: _id, time: _time, replica: _replica, expired: _expired, ...rest } = e;
    return rest;
  });
}
