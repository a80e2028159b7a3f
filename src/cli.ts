#!/usr/bin/env node
/**
 * The command line: `registry-compat-proxy [serve] [--config FILE]`.
 */
import { ConfigError } from "./config.js";
import { serve } from "./main.js";

const USAGE = `usage: registry-compat-proxy [command] [options]

commands:
  serve              run the proxy (default)

options:
  --config FILE      configuration file (also RCP_CONFIG); merged over config/default.yaml
  -h, --help         this text
`;

function optionValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith("--")) throw new ConfigError(`${name} needs a value`);
  args.splice(i, 2);
  return v;
}

async function run(argv: string[]): Promise<number> {
  const args = [...argv];
  if (args.includes("-h") || args.includes("--help")) {
    process.stdout.write(USAGE);
    return 0;
  }
  const command = args[0] && !args[0].startsWith("-") ? args.shift()! : "serve";
  switch (command) {
    case "serve": {
      const configFile = optionValue(args, "--config");
      if (args.length > 0) throw new ConfigError(`unexpected arguments: ${args.join(" ")}`);
      await serve(configFile);
      return -1; // keeps running
    }
    default:
      process.stderr.write(`unknown command: ${command}\n\n${USAGE}`);
      return 2;
  }
}

run(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`registry-compat-proxy: ${msg}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  },
);
