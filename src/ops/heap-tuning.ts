/**
 * V8 heap tuning for a process that streams blobs.
 *
 * Every 64 KiB a socket delivers is a fresh ArrayBuffer, and Node's HTTP parser
 * copies each body chunk into another one; V8 counts those bytes as external
 * memory allocated since the last full GC. With the proxy's small, steady heap,
 * V8 sets its old-generation limit only a little above it, so streaming a blob
 * would cross that limit every few megabytes and trigger full (mark-compact) GCs
 * for buffers that die young anyway. A growing factor of 4 (limit = 4 x live heap)
 * leaves room for the buffers in flight; the young-generation GCs free them.
 *
 * The flag is read by V8 each time it recomputes the limits, so setting it at start
 * applies from the first full GC on; done here rather than on the command line, it
 * applies however the proxy is started (`npm start`, the image, the manifests).
 */
import { setFlagsFromString } from "node:v8";

export const HEAP_GROWING_PERCENT = 300;

export function tuneHeapForStreaming(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
