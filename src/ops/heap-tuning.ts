/**
 * V8 tuning for a process that streams blobs, set at start-up from inside
 * the proxy, so it applies however the proxy is started (`npm start`, the image,
 * the manifests, `node dist/cli.js`). Both flags are read by V8 each time it
 * decides, so setting them at start applies from the first collection on.
 *
 * Every 64 KiB body chunk the upstream sends becomes a fresh Buffer (Node's HTTP
 * parser copies it out of the socket's read buffer); the chunks die young, and
 * their memory returns only when a collection frees them.
 *
 * - `--heap-growing-percent`: V8 lets the old generation grow to (1 + p/100) times
 *   the live heap before a full (mark-compact) collection. With the proxy's small
 *   live heap the default leaves little room, and the chunks that are in flight
 *   when young collections run, promoted with their external bytes, start full
 *   collections every few megabytes moved. 300 (4x the live heap) measured 20-45%
 *   less CPU per GiB pulled than 100 or V8's default in the sidecar load
 *   (docs/performance.md); it also sets how far the heap grows, so the live heap is
 *   kept small (undici loaded in parts, ioredis only with Redis).
 * - `--scavenger-max-new-space-capacity-mb` (V8 13.6 and later, Node 24): V8 runs a
 *   cheap young collection when the young generation's external bytes reach twice
 *   this many MiB of semi-space; V8 13.6 raised it from 8 to 32, which puts that
 *   trigger (128 MiB on Node's builds) above the 64 MiB at which external memory
 *   starts full collections, so on Node 24 every chunk was freed by a mark-compact
 *   and up to 140 MiB of dead chunks waited for it. 8 is the value of Node 20 and 22.
 * - `--liftoff-only`: the proxy's own upstream calls go through undici, whose HTTP
 *   parser is llhttp compiled to WebAssembly. V8 recompiles its hot functions with
 *   its optimizing compiler, which on Node 20 took about 30 MiB of compiler memory at
 *   once and 15-20 MiB of peak RSS under tags lists; the baseline compiler's code
 *   parses those few small answers just as well. Passthrough traffic (http-proxy-3
 *   on Node's own parser) has no WebAssembly.
 *
 * A flag the operator gave on Node's command line (`node --heap-growing-percent=...`,
 * `--no-liftoff-only`) is left as given. The young generation's size itself can only be set when the
 * process starts (`--max-semi-space-size`, docs/performance.md "Knobs").
 */
import { setFlagsFromString } from "node:v8";

export const HEAP_GROWING_PERCENT = 300;
export const SCAVENGER_MAX_NEW_SPACE_MB = 8;

/** The V8 major version from which the scavenger flag exists with the raised default. */
const SCAVENGER_FLAG_SINCE_V8 = 13;

/** Whether `flag` (`--name`) is among Node's flags, in either spelling (`-` or `_`). */
function given(execArgv: readonly string[], flag: string): boolean {
  const norm = (a: string) => a.split("=")[0]!.replace(/_/g, "-");
  return execArgv.some((a) => norm(a) === flag);
}

/** The flags to set for a V8 version and Node's own flags (pure). */
export function heapFlags(v8Version: string, execArgv: readonly string[]): string[] {
  const flags: string[] = [];
  if (!given(execArgv, "--heap-growing-percent"))
    flags.push(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  if (!given(execArgv, "--liftoff-only") && !given(execArgv, "--no-liftoff-only"))
    flags.push("--liftoff-only");
  const major = Number.parseInt(v8Version, 10);
  if (major >= SCAVENGER_FLAG_SINCE_V8 && !given(execArgv, "--scavenger-max-new-space-capacity-mb"))
    flags.push(`--scavenger-max-new-space-capacity-mb=${SCAVENGER_MAX_NEW_SPACE_MB}`);
  return flags;
}

/** Sets the flags on this process's V8 (before undici compiles its parser); returns them (for the start-up log). */
export function tuneHeapForStreaming(): string[] {
  const flags = heapFlags(process.versions.v8, process.execArgv);
  for (const f of flags) setFlagsFromString(f);
  return flags;
}
