#!/usr/bin/env node
/**
 * The command line: `registry-compat-proxy <command> [options]`. Each command is
 * one entry of COMMANDS; `serve` is the default.
 */

import { runHealthcheck } from "./commands/healthcheck.js";
import { pruneCommand } from "./commands/prune.js";
import { restoreCommand } from "./commands/restore.js";
import { ConfigError } from "./config.js";
import { serve } from "./main.js";

export interface Command {
  summary: string;
  usage: string;
  /** Returns the exit code, or null for a command that keeps running (serve). */
  run(args: string[]): Promise<number | null>;
}

/** Takes `--name value` out of args. */
export function takeOption(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith("--")) throw new ConfigError(`${name} needs a value`);
  args.splice(i, 2);
  return v;
}

/** Takes a boolean `--flag` out of args. */
export function takeFlag(args: string[], name: string): boolean {
  const i = args.indexOf(name);
  if (i === -1) return false;
  args.splice(i, 1);
  return true;
}

/** Takes every `--name value` out of args (repeatable options). */
export function takeOptions(args: string[], name: string): string[] {
  const values: string[] = [];
  for (let v = takeOption(args, name); v !== undefined; v = takeOption(args, name)) values.push(v);
  return values;
}

const PRUNE_USAGE = `prune --registry URL [--repo PATTERN]... [--keep N] [--match PATTERN]...
        [--exclude PATTERN]... [--older-than DURATION] [--apply | --dry-run] [--concurrency N]
        [--json] [--show-kept] [--quiet] [--username USER --password PASS]
      delete old tags one by one through the single-tag delete; a dry run unless --apply.
      PATTERN: a glob (* ? [..], ** crosses /) or /regex/; DURATION: 30d, 12h, 90m, 1w.
      A tag is deleted when it matches no --exclude, matches a --match (if given), has a
      created time, is not among the --keep N newest of those, and is older than --older-than.
      Credentials: flags, REGISTRY_USERNAME/REGISTRY_PASSWORD, or the docker/podman auth file.
      Exit code: 0 all done, 1 something failed, 2 usage error.`;

const COMMANDS: Record<string, Command> = {
  serve: {
    summary: "run the proxy (default)",
    usage: "serve [--config FILE]   configuration file (also RCP_CONFIG), merged over config/default.yaml",
    async run(args) {
      const configFile = takeOption(args, "--config");
      if (args.length > 0) throw new ConfigError(`unexpected arguments: ${args.join(" ")}`);
      await serve(configFile);
      return null;
    },
  },
  prune: {
    summary: "delete old tags in bulk, one safe tag delete at a time (dry run unless --apply)",
    usage: PRUNE_USAGE,
    run(args) {
      const raw = {
        registry: takeOption(args, "--registry"),
        repos: takeOptions(args, "--repo"),
        keep: takeOption(args, "--keep"),
        match: takeOptions(args, "--match"),
        exclude: takeOptions(args, "--exclude"),
        olderThan: takeOption(args, "--older-than"),
        concurrency: takeOption(args, "--concurrency"),
        username: takeOption(args, "--username"),
        password: takeOption(args, "--password"),
        apply: takeFlag(args, "--apply"),
        dryRun: takeFlag(args, "--dry-run"),
        json: takeFlag(args, "--json"),
        showKept: takeFlag(args, "--show-kept"),
        quiet: takeFlag(args, "--quiet"),
        rest: args,
      };
      return pruneCommand(raw);
    },
  },
  restore: restoreCommand,
  healthcheck: {
    summary: "exit 0 when the proxy's /healthz answers 200 (for container HEALTHCHECKs)",
    usage: "healthcheck [--config FILE] [--url URL]   default URL from the config: loopback, listen.port",
    run(args) {
      const configFile = takeOption(args, "--config");
      const url = takeOption(args, "--url");
      if (args.length > 0) throw new ConfigError(`unexpected arguments: ${args.join(" ")}`);
      return runHealthcheck(configFile, url);
    },
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  const details = Object.values(COMMANDS).map((c) => `  registry-compat-proxy ${c.usage}`);
  return `usage: registry-compat-proxy <command> [options]\n\ncommands:\n${lines.join("\n")}\n\n${details.join("\n")}\n`;
}

async function main(argv: string[]): Promise<number | null> {
  const args = [...argv];
  if (args[0] === "-h" || args[0] === "--help" || args[0] === "help") {
    process.stdout.write(usage());
    return 0;
  }
  const name = args[0] && !args[0].startsWith("-") ? args.shift()! : "serve";
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`unknown command: ${name}\n\n${usage()}`);
    return 2;
  }
  return command.run(args);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== null) process.exit(code);
  },
  (err: unknown) => {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`registry-compat-proxy: ${msg}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  },
);
