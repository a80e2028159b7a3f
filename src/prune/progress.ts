/**
 * Progress on stderr: a bar redrawn in place on a terminal, plain lines
 * otherwise (logs, CI), nothing with `--quiet`.
 */

export interface ProgressSink {
  write(text: string): void;
}

export interface Progress {
  /**
   * A step finished: `done` of `total` in `phase`; `label` says which. Plain
   * output shows every `always` step, the others at each tenth and at the end.
   */
  step(phase: string, done: number, total: number, label: string, always?: boolean): void;
  /** A line that is not progress (a note, a warning). */
  line(text: string): void;
  /** Clears the bar (call before writing anything else to the terminal). */
  clear(): void;
}

const BAR_WIDTH = 24;
const REDRAW_MS = 100;

export function renderBar(phase: string, done: number, total: number, label: string, columns = 80): string {
  const filled = total === 0 ? BAR_WIDTH : Math.round((done / total) * BAR_WIDTH);
  const bar = `${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}`;
  const text = `${phase} [${bar}] ${done}/${total} ${label}`;
  return text.length > columns - 1 ? text.slice(0, columns - 1) : text;
}

export function createProgress(
  sink: ProgressSink,
  o: { tty: boolean; quiet: boolean; columns?: number; now?: () => number },
): Progress {
  if (o.quiet) return { step() {}, line() {}, clear() {} };
  if (!o.tty) {
    return {
      step(phase, done, total, label, always) {
        const tenth = (n: number) => Math.floor((n * 10) / Math.max(total, 1));
        if (always || done === total || tenth(done) !== tenth(done - 1)) {
          sink.write(`prune: ${phase} ${done}/${total} ${label}\n`);
        }
      },
      line: (t) => sink.write(`prune: ${t}\n`),
      clear() {},
    };
  }
  const now = o.now ?? Date.now;
  let shown = false;
  let last = 0;
  const clear = () => {
    if (shown) sink.write("\r\x1b[K");
    shown = false;
  };
  return {
    step(phase, done, total, label) {
      const t = now();
      if (done < total && t - last < REDRAW_MS) return;
      last = t;
      sink.write(`\r\x1b[K${renderBar(phase, done, total, label, o.columns)}`);
      shown = true;
      if (done >= total) clear();
    },
    line(text) {
      clear();
      sink.write(`prune: ${text}\n`);
    },
    clear,
  };
}
