/**
 * The tag delete phase (proxy only): per round, 100 sequential deletes on one
 * fresh repository and 100 parallel ones on another (order alternating), then the
 * upstream requests per delete, counted through a relay by a second proxy.
 */
import { join } from "node:path";
import { startProxyProcess } from "../proxy-process.js";
import {
  closeDeleteAgent,
  countDeleteRequests,
  startCountingRelay,
  timeDeletes,
  warmRepository,
} from "./deletes.js";
import type { Extras } from "./report.js";
import { seedDeletable, seedImage } from "./seed.js";

export interface DeletePhaseOptions {
  proxyUrl: string;
  registryUrl: string;
  rounds: number;
  journalDir: string;
  count?: number;
}

export async function runDeletes(o: DeletePhaseOptions): Promise<NonNullable<Extras["deletes"]>> {
  const count = o.count ?? 100;
  const image = await seedImage(o.registryUrl, "bench/delete-source");
  const sequentialMs: number[] = [];
  const parallelMs: number[] = [];
  for (let r = 0; r < o.rounds; r++) {
    for (const parallel of r % 2 === 0 ? [false, true] : [true, false]) {
      const repo = `bench/delete-${parallel ? "par" : "seq"}-${r}`;
      const tags = await seedDeletable(o.registryUrl, repo, image, count);
      await warmRepository(o.proxyUrl, repo);
      (parallel ? parallelMs : sequentialMs).push(await timeDeletes(o.proxyUrl, repo, tags, parallel));
    }
  }
  const relay = await startCountingRelay(o.registryUrl);
  const counter = await startProxyProcess(relay.url, {
    env: { DELETE_JOURNAL: join(o.journalDir, "journal-count.jsonl") },
  });
  try {
    const tags = await seedDeletable(o.registryUrl, "bench/delete-count", image, 11);
    const c = await countDeleteRequests(counter.url, relay, "bench/delete-count", tags);
    return {
      sequentialMs,
      parallelMs,
      firstRequests: c.first,
      steadyRequests: c.steady,
      steadyByMethod: c.steadyByMethod,
    };
  } finally {
    await counter.stop();
    await relay.close();
    closeDeleteAgent();
  }
}
