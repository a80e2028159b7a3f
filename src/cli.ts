#!/usr/bin/env node
/**
 * The `registry-compat-proxy` binary: runs the command line (src/commands/command-line.ts)
 * and turns its result into an exit code.
 */
import { runCommandLine } from "./commands/command-line.js";

const io = {
  out: (text: string) => process.stdout.write(text),
  err: (text: string) => process.stderr.write(text),
};

runCommandLine(process.argv.slice(2), io).then(
  (code) => {
    if (code !== null) process.exit(code);
  },
  (err: unknown) => {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`registry-compat-proxy: ${msg}\n`);
    process.exit(1);
  },
);
