/**
 * A small human-readable formatter for pino's JSON lines, used when the logs go to
 * a terminal (`log.format: pretty`, or `auto` on a TTY). Production logs stay JSON:
 * this parses every line again and is meant for people, not for throughput.
 */

const LEVELS: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO ",
  40: "WARN ",
  50: "ERROR",
  60: "FATAL",
};
const COLORS: Record<number, string> = { 10: "90", 20: "36", 30: "32", 40: "33", 50: "31", 60: "35" };
const SKIPPED = new Set(["level", "time", "msg", "service", "pid", "hostname"]);

function formatValue(v: unknown): string {
  if (typeof v === "string") return /^[^\s"=]*$/.test(v) && v !== "" ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/** One JSON log line → one readable line (plus an error's stack, indented). */
export function formatLine(line: string, color: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith("\n") ? line : `${line}\n`;
  }
  const level = typeof rec["level"] === "number" ? rec["level"] : 30;
  const name = LEVELS[level] ?? String(level);
  const time =
    typeof rec["time"] === "string" ? rec["time"].slice(11, 23) : new Date().toISOString().slice(11, 23);
  const label = color ? `\x1b[${COLORS[level] ?? "0"}m${name}\x1b[0m` : name;
  const parts = [time, label, String(rec["msg"] ?? "")];
  let stack = "";
  for (const [k, v] of Object.entries(rec)) {
    if (SKIPPED.has(k) || v === undefined) continue;
    if (k === "err" && typeof v === "object" && v !== null && "stack" in v) {
      stack = `\n    ${String((v as { stack: unknown }).stack).replace(/\n/g, "\n    ")}`;
      continue;
    }
    parts.push(color ? `\x1b[2m${k}=\x1b[0m${formatValue(v)}` : `${k}=${formatValue(v)}`);
  }
  return `${parts.join(" ")}${stack}\n`;
}

export interface PrettyDestination {
  write(chunk: string): boolean;
  flush(cb?: (err?: Error) => void): void;
}

/** A pino destination that writes readable lines to `out` (stdout by default). */
export function createPrettyDestination(out: NodeJS.WritableStream = process.stdout): PrettyDestination {
  const color = Boolean((out as NodeJS.WriteStream).isTTY) && !process.env["NO_COLOR"];
  return {
    write(chunk) {
      let text = "";
      for (const line of chunk.split("\n")) if (line !== "") text += formatLine(line, color);
      return out.write(text);
    },
    flush(cb) {
      cb?.();
    },
  };
}
