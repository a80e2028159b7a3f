/**
 * The request tracker's record of one exchange on a lane connection (access log,
 * metrics): the client socket's byte counters since the last record, plus the
 * bytes splice(2) moved, which those counters do not see.
 */
import { performance } from "node:perf_hooks";
import type { Connection } from "./connection.js";

export function recordExchange(c: Connection, finished: boolean): void {
  const s = c.socket;
  const read = s.bytesRead;
  const written = s.bytesWritten;
  c.lane.options.tracker.close({
    method: c.method,
    path: c.path,
    requestId: c.requestId,
    route: c.route,
    repository: c.repository,
    status: c.status,
    finished,
    ms: performance.now() - c.start,
    bytesIn: read - c.readMark + c.reqSpliced,
    bytesOut: written - c.writtenMark + c.spliced,
    remote: s.remoteAddress,
  });
  c.readMark = read;
  c.writtenMark = written;
  c.spliced = 0;
  c.reqSpliced = 0;
}
