/**
 * Tag listing: one full `tags/list` (every target), and a walk of
 * `tags/_list?n=100` following `Link` to the end (the proxy only; 2.8 has no
 * `_list`).
 *
 * Every proxy list starts cold: each full list and each walk sends its own
 * `Authorization` value, and the proxy keys its short-lived list cache by it, so
 * the first page always costs one upstream `tags/list` (the registry runs
 * without auth and ignores the header). The later pages of a walk hit the cache,
 * as they do for a client paging with one set of credentials.
 */
import http from "node:http";
import { performance } from "node:perf_hooks";
import { request } from "../../test/helpers/http.js";

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
let walkCounter = 0;

function freshAuth(): Record<string, string> {
  return { authorization: `Bearer bench-walk-${process.pid}-${walkCounter++}` };
}

/** Milliseconds for one full `tags/list`; checks the count. */
export async function timeFullList(base: string, repo: string, expected: number): Promise<number> {
  const t0 = performance.now();
  const res = await request("GET", `${base}/v2/${repo}/tags/list`, { agent, headers: freshAuth() });
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`${base} tags/list ${repo}: ${res.status}`);
  const n = res.json<{ tags: string[] }>().tags.length;
  if (n !== expected) throw new Error(`${base} tags/list ${repo}: ${n} tags, expected ${expected}`);
  return ms;
}

/** Milliseconds to walk every page of `tags/_list?n=<n>`; checks the count. */
export async function timeWalk(base: string, repo: string, n: number, expected: number): Promise<number> {
  const headers = freshAuth();
  let path: string | null = `/v2/${repo}/tags/_list?n=${n}`;
  let seen = 0;
  const t0 = performance.now();
  while (path !== null) {
    const res = await request("GET", `${base}${path}`, { agent, headers });
    if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
    seen += res.json<{ tags: string[] }>().tags.length;
    const link = res.headers.link as string | undefined;
    path = link ? /^<([^>]+)>/.exec(link)![1]! : null;
  }
  const ms = performance.now() - t0;
  if (seen !== expected) throw new Error(`walk ${repo}: ${seen} tags, expected ${expected}`);
  return ms;
}

/**
 * Milliseconds for one `tags/_list?n=<n>` (the first page): `cold` with fresh
 * credentials (the proxy fetches the whole list upstream), warm with the same
 * credentials as a page fetched just before (the proxy's list cache answers).
 */
export async function timeFirstPage(base: string, repo: string, n: number, cold: boolean): Promise<number> {
  const headers = cold ? freshAuth() : { authorization: "Bearer bench-warm" };
  const url = `${base}/v2/${repo}/tags/_list?n=${n}`;
  if (!cold) await request("GET", url, { agent, headers });
  const t0 = performance.now();
  const res = await request("GET", url, { agent, headers });
  const ms = performance.now() - t0;
  if (res.status !== 200 || res.json<{ tags: string[] }>().tags.length !== n) {
    throw new Error(`${url}: ${res.status}`);
  }
  return ms;
}

/** Median of `times` runs of `fn`. */
export async function medianOf(times: number, fn: () => Promise<number>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < times; i++) xs.push(await fn());
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)]!;
}

export function closeTagsAgent(): void {
  agent.destroy();
}
