/**
 * The proxy as a child process (`node --import tsx src/cli.ts serve`, or another
 * command line given), for what only a real process shows: signals, exit codes,
 * stdout logs, memory. Port 0 via PORT; the port is read from the "proxy
 * listening" log line. Unless `env` names them, the process gets its own
 * temporary DATA_DIR and DELETE_JOURNAL, removed once it exits.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface ProxyProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  /** JSON log lines so far. */
  lines(): Record<string, unknown>[];
  /** Resolves with the first log line matching `msg` (already seen or future). */
  waitForLog(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  kill(): void;
}

const TSX_SERVE = ["--import", "tsx", "src/cli.ts", "serve"];

/**
 * `args`: Node's arguments (flags, script, command); by default tsx running src/cli.ts serve.
 * `node`: the Node binary, by default the one running the tests.
 */
export async function spawnProxy(
  env: Record<string, string>,
  timeoutMs = 120_000,
  args: readonly string[] = TSX_SERVE,
  node = process.execPath,
): Promise<ProxyProcess> {
  const dir = mkdtempSync(join(tmpdir(), "rcp-serve-"));
  // setpriv: the kernel kills the proxy when the test process dies, however it dies.
  const child = spawn("setpriv", ["--pdeathsig", "KILL", node, ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_FORMAT: "json",
      DATA_DIR: join(dir, "data"),
      DELETE_JOURNAL: join(dir, "tag-delete-journal.jsonl"),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const parsed: Record<string, unknown>[] = [];
  const waiters: { msg: string; resolve: (l: Record<string, unknown>) => void }[] = [];
  let buffer = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl = buffer.indexOf("\n");
    while (nl !== -1) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf("\n");
      if (!text.startsWith("{")) continue;
      const line = JSON.parse(text) as Record<string, unknown>;
      parsed.push(line);
      for (const w of waiters.filter((w) => w.msg === line["msg"])) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((res) =>
    child.once("exit", (code) => {
      rmSync(dir, { recursive: true, force: true });
      res(code);
    }),
  );

  function waitForLog(msg: string, ms = timeoutMs): Promise<Record<string, unknown>> {
    const seen = parsed.find((l) => l["msg"] === msg);
    if (seen) return Promise.resolve(seen);
    return new Promise((res, rej) => {
      const timer = setTimeout(
        () => rej(new Error(`no "${msg}" log line within ${ms} ms; stderr:\n${stderr}`)),
        ms,
      );
      waiters.push({
        msg,
        resolve: (l) => {
          clearTimeout(timer);
          res(l);
        },
      });
      void exited.then(() => {
        clearTimeout(timer);
        rej(new Error(`proxy exited before "${msg}"; stderr:\n${stderr}`));
      });
    });
  }

  let listening: Record<string, unknown>;
  try {
    listening = await waitForLog("proxy listening");
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  const port = Number(listening["port"]);
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    lines: () => [...parsed],
    waitForLog,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}
