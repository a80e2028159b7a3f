/**
 * `registry-compat-proxy prune`: select old tags per repository and delete them
 * one by one through the single-tag delete (`DELETE /v2/<name>/manifests/<tag>`).
 *
 * The run, in order: list repositories (the `--repo` names, or the catalog
 * filtered by the `--repo` patterns), list each one's tags, inspect every tag
 * (digest, image created time), decide per repository (src/prune/select.ts),
 * print the plan; then, only with `--apply`, delete each selected tag after
 * re-checking that it still points at the digest it was selected with. A dry run
 * (the default) sends no DELETE at all.
 */

import { isLoopbackHost } from "../http/local-url.js";
import type { NamePattern } from "../oci/name-patterns.js";
import { createCreatedResolver, registryContent } from "../prune/created.js";
import { type PruneOptions, parsePruneOptions, type RawPruneArgs } from "../prune/options.js";
import { createProgress, type Progress } from "../prune/progress.js";
import { type Output, Reporter } from "../prune/report.js";
import { type Rules, selectTags } from "../prune/select.js";
import {
  deleteTagChecked,
  type Inspected,
  inspectTag,
  listRepositories,
  listTags,
  type Outcome,
  type RepoPlan,
} from "../prune/steps.js";
import { exitCodeOf, type Summary, summarize } from "../prune/summary.js";
import { createRegistryClient, type RegistryCalls } from "../registry-client/client.js";
import { ANONYMOUS, login } from "../registry-client/credentials.js";
import { RegistryError } from "../registry-client/failure.js";
import { mapLimit } from "../util/concurrency.js";

/** Deadline of each registry call. */
const PRUNE_TIMEOUT_MS = 30_000;

export interface PruneIO {
  stdout: Output;
  stderr: Output;
  stderrIsTTY: boolean;
  columns?: number;
  now(): Date;
}

export interface PruneRun {
  plans: RepoPlan[];
  outcomes: Outcome[];
  summary: Summary;
  exitCode: number;
}

/** The `--repo` names as given when every pattern is a plain name (no catalog needed), else null. */
function literalNames(patterns: readonly NamePattern[]): string[] | null {
  return patterns.length > 0 && patterns.every((p) => p.literal) ? patterns.map((p) => p.source) : null;
}

async function selectRepositories(reg: RegistryCalls, patterns: readonly NamePattern[]): Promise<string[]> {
  const literal = literalNames(patterns);
  if (literal) return [...new Set(literal)].sort();
  const all = await listRepositories(reg);
  const chosen = patterns.length === 0 ? all : all.filter((name) => patterns.some((p) => p.test(name)));
  for (const p of patterns) if (p.literal) chosen.push(p.source);
  return [...new Set(chosen)].sort();
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Lists and inspects every tag of the chosen repositories, then decides per repository. */
async function planRepositories(
  o: PruneOptions,
  reg: RegistryCalls,
  progress: Progress,
  now: Date,
): Promise<RepoPlan[]> {
  const resolver = createCreatedResolver(registryContent(reg));
  const repositories = await selectRepositories(reg, o.repos);
  progress.line(`${repositories.length} repositories to look at on ${o.registry.href}`);
  const listed = await mapLimit(repositories, o.concurrency, async (name) => {
    try {
      return { name, tags: await listTags(reg, name) };
    } catch (err) {
      return { name, tags: [], error: message(err) };
    }
  });

  const jobs = listed.flatMap((r) => r.tags.map((tag) => ({ name: r.name, tag })));
  let done = 0;
  const inspected = await mapLimit(jobs, o.concurrency, async (job) => {
    const result = await inspectTag(reg, resolver, job.name, job.tag);
    progress.step("inspecting", ++done, jobs.length, `${job.name}:${job.tag}`);
    return { ...job, result };
  });
  const byRepo = new Map<string, Inspected[]>();
  for (const i of inspected) byRepo.set(i.name, [...(byRepo.get(i.name) ?? []), i.result]);

  const rules: Rules = {
    ...(o.keep !== undefined ? { keep: o.keep } : {}),
    match: o.match,
    exclude: o.exclude,
    ...(o.olderThan ? { olderThan: o.olderThan } : {}),
    now,
  };
  return listed.map((r) => {
    const results = byRepo.get(r.name) ?? [];
    const infos = results.flatMap((x) => (x.ok ? [x.info] : []));
    const problems = results.flatMap((x) => (x.ok ? [] : [x.outcome]));
    const plan: RepoPlan = { repository: r.name, decisions: selectTags(infos, rules), problems };
    if (r.error !== undefined) plan.error = r.error;
    return plan;
  });
}

/** Deletes every selected tag, one request per tag, re-checking each first. */
async function applyPlans(
  plans: readonly RepoPlan[],
  o: PruneOptions,
  reg: RegistryCalls,
  progress: Progress,
  reporter: Reporter,
): Promise<Outcome[]> {
  const candidates = plans.flatMap((p) =>
    p.decisions.filter((d) => d.action === "delete").map((d) => ({ name: p.repository, d })),
  );
  let done = 0;
  const outcomes = await mapLimit(candidates, o.concurrency, async ({ name, d }) => {
    const outcome = await deleteTagChecked(reg, name, d.tag, d.digest);
    const verb = outcome.result === "deleted" ? "deleted" : `${outcome.result} (${outcome.reason})`;
    progress.step("deleting", ++done, candidates.length, `${verb} ${name}:${d.tag}`, true);
    reporter.outcome(outcome);
    return outcome;
  });
  progress.clear();
  return outcomes;
}

/** The registry of a prune run: its URL, with the run's login (or anonymous tokens). Close it after. */
export function connectPrune(o: PruneOptions): { registry: RegistryCalls; close(): Promise<void> } {
  const client = createRegistryClient({
    url: o.registry,
    timeoutMs: PRUNE_TIMEOUT_MS,
    userAgent: "registry-compat-proxy-prune",
  });
  const creds = o.credentials ? login(o.credentials.username, o.credentials.password) : ANONYMOUS;
  return { registry: client.as(creds), close: () => client.close() };
}

/** One run against `registry`: plan, print the plan, delete (with --apply), summarize. */
export async function runPrune(o: PruneOptions, io: PruneIO, registry: RegistryCalls): Promise<PruneRun> {
  const progress = createProgress(io.stderr, { tty: io.stderrIsTTY, quiet: o.quiet, columns: io.columns });
  const now = io.now();
  const reporter = new Reporter(io.stdout, { json: o.json, showKept: o.showKept, dryRun: !o.apply, now });

  const plans = await planRepositories(o, registry, progress, now);
  progress.clear();
  for (const plan of plans) reporter.plan(plan);

  const outcomes = o.apply ? await applyPlans(plans, o, registry, progress, reporter) : [];

  const summary = summarize(plans, outcomes, !o.apply);
  const exitCode = exitCodeOf(summary);
  reporter.finish(summary, exitCode);
  return { plans, outcomes, summary, exitCode };
}

/** The CLI entry: validates the arguments (UsageError → exit 2), runs, returns the exit code. */
export async function pruneCommand(raw: RawPruneArgs, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const say = (t: string) => process.stderr.write(`prune: ${t}\n`);
  const options = parsePruneOptions(raw, { env, note: say });
  if (options.credentials && !options.quiet)
    say(`credentials for ${options.registry.host} from ${options.credentials.source}`);
  if (
    options.credentials &&
    options.registry.protocol === "http:" &&
    !isLoopbackHost(options.registry.hostname)
  ) {
    say("warning: sending credentials over plain http");
  }
  const io: PruneIO = {
    stdout: process.stdout,
    stderr: process.stderr,
    stderrIsTTY: process.stderr.isTTY === true,
    columns: process.stderr.columns,
    now: () => new Date(),
  };
  const { registry, close } = connectPrune(options);
  try {
    return (await runPrune(options, io, registry)).exitCode;
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    say(`stopped: ${err.message}`);
    return 1;
  } finally {
    await close();
  }
}
