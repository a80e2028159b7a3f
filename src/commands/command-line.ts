/**
 * The command line: `registry-compat-proxy <command> [options]`, `serve` by
 * default. Each command declares its options for `node:util` parseArgs (strict:
 * no unknown option, no stray argument). `--help`/`-h` prints the command's usage
 * on stdout and exits 0; a parse error prints it on stderr and exits 2. A command's
 * code is imported when it runs (its usage and options are in command-specs.ts):
 * `serve` reads none of the other commands.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { ConfigError } from "../config.js";
import { attachDashValues, configEnv, envHelp, schemeProblem, versionLine, wholeNumber } from "./cli-args.js";
import {
  GC_USAGE,
  HISTORY_OPTIONS,
  HISTORY_USAGE,
  PRUNE_USAGE,
  REPO_ENV,
  REPO_OPTIONS,
  REPO_USAGE,
  RESTORE_OPTIONS,
  RESTORE_USAGE,
  TAG_ENV,
  TAG_OPTIONS,
  TAG_USAGE,
  TAGS_OPTIONS,
  TAGS_USAGE,
  UNDELETE_OPTIONS,
  UNDELETE_USAGE,
} from "./command-specs.js";

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  summary: string;
  /** Usage lines after `registry-compat-proxy `. */
  usage: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  /** The environment variables it reads (listed by --help). */
  env: readonly string[];
  /** Arguments besides options (`history REPO:TAG`); none unless given. */
  positionals?: { min: number; max: number };
  /** Returns the exit code, or null for a command that keeps running (serve). */
  run(values: OptionValues, positionals: readonly string[], io: Io): Promise<number | null>;
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const str = (v: OptionValues[string]) => (typeof v === "string" ? v : undefined);
const list = (v: OptionValues[string]) => (Array.isArray(v) ? v : []);
const flag = (v: OptionValues[string]) => v === true;

export const COMMANDS: Record<string, Command> = {
  serve: {
    summary: "run the proxy (default)",
    usage: `serve [--config FILE] [--port PORT] [--upstream URL]
      --config FILE   configuration file (also RCP_CONFIG), merged over config/default.yaml
      --port PORT     listen.port (0: any free port); wins over PORT and the file
      --upstream URL  the registry to front (upstream.url); wins over UPSTREAM_URL and the file;
                      none: an embedded docker-registry
      The environment wins over the files (docs/configuration.md names each key's variable).`,
    options: { config: { type: "string" }, port: { type: "string" }, upstream: { type: "string" } },
    env: configEnv(),
    async run(values) {
      const port = str(values["port"]);
      const upstream = str(values["upstream"]);
      const overrides: Record<string, Record<string, unknown>> = {};
      if (port !== undefined) {
        const n = wholeNumber("port", port, 0, 65535);
        if ("problem" in n) throw new ConfigError(n.problem);
        overrides["listen"] = { port: n.value };
      }
      if (upstream !== undefined) overrides["upstream"] = { url: upstream };
      const { serve } = await import("../main.js");
      await serve(str(values["config"]), overrides);
      return null;
    },
  },
  prune: {
    summary: "delete old tags in bulk, one safe tag delete at a time (dry run unless --apply)",
    usage: PRUNE_USAGE,
    env: ["REGISTRY_USERNAME", "REGISTRY_PASSWORD", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR"],
    options: {
      registry: { type: "string" },
      repo: { type: "string", multiple: true },
      keep: { type: "string" },
      match: { type: "string", multiple: true },
      exclude: { type: "string", multiple: true },
      "older-than": { type: "string" },
      concurrency: { type: "string" },
      username: { type: "string" },
      password: { type: "string" },
      apply: { type: "boolean" },
      "dry-run": { type: "boolean" },
      json: { type: "boolean" },
      "show-kept": { type: "boolean" },
      quiet: { type: "boolean" },
    },
    async run(v) {
      const { pruneCommand } = await import("./prune.js");
      const optional = (key: string, value: string | undefined) =>
        value === undefined ? {} : { [key]: value };
      return pruneCommand({
        ...optional("registry", str(v["registry"])),
        ...optional("keep", str(v["keep"])),
        ...optional("olderThan", str(v["older-than"])),
        ...optional("concurrency", str(v["concurrency"])),
        ...optional("username", str(v["username"])),
        ...optional("password", str(v["password"])),
        repos: list(v["repo"]),
        match: list(v["match"]),
        exclude: list(v["exclude"]),
        apply: flag(v["apply"]),
        dryRun: flag(v["dry-run"]),
        json: flag(v["json"]),
        showKept: flag(v["show-kept"]),
        quiet: flag(v["quiet"]),
        rest: [],
      });
    },
  },
  gc: {
    summary:
      "reclaim disk after tag deletes: untagged manifests and garbage-collect (dry run unless --apply)",
    usage: GC_USAGE,
    env: [
      "RCP_CONFIG",
      "ADMIN_TOKEN",
      ...["REGISTRY_USERNAME", "REGISTRY_PASSWORD", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR"],
    ],
    options: {
      config: { type: "string" },
      "registry-config": { type: "string" },
      admin: { type: "string" },
      "admin-token-file": { type: "string" },
      registry: { type: "string" },
      "gc-command": { type: "string" },
      "restart-command": { type: "string" },
      lease: { type: "string" },
      log: { type: "string" },
      verbose: { type: "boolean" },
      username: { type: "string" },
      password: { type: "string" },
      apply: { type: "boolean" },
      "dry-run": { type: "boolean" },
      json: { type: "boolean" },
      quiet: { type: "boolean" },
    },
    run: async (values) =>
      (await import("./gc.js")).gcCommand(values, {
        out: (t) => process.stdout.write(t),
        err: (t) => process.stderr.write(t),
      }),
  },
  history: {
    summary: "a tag's or a repository's changes from the running proxy's tag history; purge",
    usage: HISTORY_USAGE,
    options: HISTORY_OPTIONS,
    env: ["RCP_CONFIG", "ADMIN_TOKEN", "METRICS_PORT", "ADMIN_TOKEN_FILE"],
    positionals: { min: 1, max: 2 },
    run: async (values, positionals, io) =>
      (await import("./history.js")).historyCommand(values, positionals, io),
  },
  undelete: {
    summary: "put a deleted or overwritten tag back from the running proxy's tag history",
    usage: UNDELETE_USAGE,
    options: UNDELETE_OPTIONS,
    env: [
      "RCP_CONFIG",
      "ADMIN_TOKEN",
      "METRICS_PORT",
      "ADMIN_TOKEN_FILE",
      "REGISTRY_USERNAME",
      "REGISTRY_PASSWORD",
    ],
    positionals: { min: 1, max: 1 },
    run: async (values, positionals, io) =>
      (await import("./history.js")).undeleteCommand(values, positionals, io),
  },
  repo: {
    summary: "delete a repository (every tag) through the running proxy: repo delete NAME",
    usage: REPO_USAGE,
    options: REPO_OPTIONS,
    env: REPO_ENV,
    positionals: { min: 2, max: 2 },
    run: async (values, positionals, io) => (await import("./repo.js")).repoCommand(values, positionals, io),
  },
  restore: {
    summary: "put a tag back from the tag delete journal (an interrupted or failed swap)",
    usage: RESTORE_USAGE,
    options: RESTORE_OPTIONS,
    env: [
      "RCP_CONFIG",
      "DELETE_JOURNAL",
      "UPSTREAM_URL",
      "RECOVERY_USERNAME",
      "RECOVERY_PASSWORD",
      "REDIS_URL",
    ],
    run: async (values) => (await import("./restore.js")).restoreFromValues(values),
  },
  healthcheck: {
    summary: "exit 0 when the proxy's /healthz answers 200 (for container HEALTHCHECKs)",
    usage: "healthcheck [--config FILE] [--url URL]   default URL from the config: loopback, listen.port",
    options: { config: { type: "string" }, url: { type: "string" } },
    env: ["RCP_CONFIG", "HOST", "PORT", "TLS_CERT"],
    run: async (values, _positionals, io) =>
      (await import("./healthcheck.js")).runHealthcheck(str(values["config"]), str(values["url"]), io.err),
  },
  tags: {
    summary: "list a repository's tags through the proxy's tags/_list, every page",
    usage: TAGS_USAGE,
    options: TAGS_OPTIONS,
    env: TAG_ENV,
    positionals: { min: 2, max: 2 },
    run: async (values, positionals, io) =>
      (await import("./tags.js")).tagsListCommand(values, positionals, io),
  },
  tag: {
    summary: "delete one tag through the proxy (other tags of the image stay)",
    usage: TAG_USAGE,
    options: TAG_OPTIONS,
    env: TAG_ENV,
    positionals: { min: 2, max: 2 },
    run: async (values, positionals, io) =>
      (await import("./tags.js")).tagDeleteCommand(values, positionals, io),
  },
};

export function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return (
    "usage: registry-compat-proxy <command> [options]   (registry-compat-proxy <command> --help)\n" +
    "       registry-compat-proxy --version\n\n" +
    `commands:\n${lines.join("\n")}\n`
  );
}

function commandUsage(command: Command): string {
  return `usage: registry-compat-proxy ${command.usage}\n${envHelp(command.env)}\n`;
}

/** Runs one command line; returns the exit code (null: keep running). */
export async function runCommandLine(argv: readonly string[], io: Io): Promise<number | null> {
  const args = [...argv];
  if (args[0] === "-h" || args[0] === "--help" || args[0] === "help") {
    io.out(usage());
    return 0;
  }
  if (args[0] === "--version" || args[0] === "-V" || args[0] === "version") {
    io.out(versionLine());
    return 0;
  }
  const name = args[0] && !args[0].startsWith("-") ? args.shift()! : "serve";
  const command = COMMANDS[name];
  if (!command) {
    io.err(`registry-compat-proxy: unknown command: ${name}\n\n${usage()}`);
    return 2;
  }
  let values: OptionValues;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: attachDashValues(args, command.options),
      options: { ...command.options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: command.positionals !== undefined,
    }) as { values: OptionValues; positionals: string[] });
  } catch (err) {
    io.err(`registry-compat-proxy ${name}: ${(err as Error).message}\n${commandUsage(command)}`);
    return 2;
  }
  if (values["help"]) {
    io.out(commandUsage(command));
    return 0;
  }
  const badAddress = schemeProblem(values);
  if (badAddress) {
    io.err(`registry-compat-proxy ${name}: ${badAddress}\n`);
    return 2;
  }
  const expected = command.positionals;
  if (expected && (positionals.length < expected.min || positionals.length > expected.max)) {
    const problem =
      positionals.length > expected.max
        ? `Unexpected argument '${positionals[expected.max]}'`
        : "an argument is missing";
    io.err(`registry-compat-proxy ${name}: ${problem}\n${commandUsage(command)}`);
    return 2;
  }
  try {
    return await command.run(values, positionals, io);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`registry-compat-proxy: ${err.message}\n`);
    return 2;
  }
}
