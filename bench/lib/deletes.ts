/**
 * Tag deletes through the proxy: 100 one after another and 100 at once (each
 * on its own freshly seeded repository), and the upstream requests one delete
 * costs, counted by an HTTP relay put between a second proxy and the registry
 * (the timed proxy talks to the registry directly, so the relay costs it nothing).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { request } from "../../test/helpers/http.js";

const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });

async function deleteTag(base: string, repo: string, tag: string): Promise<void> {
  const res = await request("DELETE", `${base}/v2/${repo}/tags/${tag}`, { agent });
  if (res.status !== 202) throw new Error(`DELETE ${repo}:${tag}: ${res.status} ${res.text}`);
}

/** Lets the proxy learn the repository's capabilities first (a delete of a tag that does not exist). */
export async function warmRepository(base: string, repo: string): Promise<void> {
  const res = await request("DELETE", `${base}/v2/${repo}/tags/bench-none`, { agent });
  if (res.status !== 404) throw new Error(`warm-up DELETE ${repo}: ${res.status} ${res.text}`);
}

/** Milliseconds to delete every tag, sequentially or all at once. */
export async function timeDeletes(
  base: string,
  repo: string,
  tags: readonly string[],
  parallel: boolean,
): Promise<number> {
  const t0 = performance.now();
  if (parallel) await Promise.all(tags.map((t) => deleteTag(base, repo, t)));
  else for (const t of tags) await deleteTag(base, repo, t);
  return performance.now() - t0;
}

export interface CountingRelay {
  readonly url: string;
  /** Requests relayed since the last reset, by method. */
  counts(): Record<string, number>;
  total(): number;
  reset(): void;
  close(): Promise<void>;
}

/** An HTTP relay to `upstream` that counts what passes (bodies streamed, headers untouched). */
export async function startCountingRelay(upstream: string): Promise<CountingRelay> {
  const target = new URL(upstream);
  const upstreamAgent = new http.Agent({ keepAlive: true });
  let counts: Record<string, number> = {};
  const server = http.createServer((req, res) => {
    const method = req.method ?? "GET";
    counts[method] = (counts[method] ?? 0) + 1;
    const out = http.request(
      {
        host: target.hostname,
        port: target.port,
        method,
        path: req.url,
        headers: req.headers,
        agent: upstreamAgent,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.rawHeaders);
        up.pipe(res);
      },
    );
    out.on("error", () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => ({ ...counts }),
    total: () => Object.values(counts).reduce((a, b) => a + b, 0),
    reset: () => {
      counts = {};
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
        upstreamAgent.destroy();
      }),
  };
}

/** Upstream requests per delete: the first on a repository, then the median of the rest (steady state). */
export async function countDeleteRequests(
  proxyUrl: string,
  relay: CountingRelay,
  repo: string,
  tags: readonly string[],
): Promise<{ first: number; steady: number; steadyByMethod: Record<string, number> }> {
  const per: Array<{ total: number; byMethod: Record<string, number> }> = [];
  for (const t of tags) {
    relay.reset();
    await deleteTag(proxyUrl, repo, t);
    per.push({ total: relay.total(), byMethod: relay.counts() });
  }
  const rest = per.slice(1).sort((a, b) => a.total - b.total);
  const mid = rest[Math.floor(rest.length / 2)] ?? per[0]!;
  return { first: per[0]!.total, steady: mid.total, steadyByMethod: mid.byMethod };
}

export function closeDeleteAgent(): void {
  agent.destroy();
}
