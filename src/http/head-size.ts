/**
 * The one limit on the size of a message head (request line or status line plus
 * headers), for client requests (the server's `maxHeaderSize`: a larger head is
 * answered 431 by Node's server) and for upstream responses (the proxy's own calls:
 * undici's `maxHeaderSize`).
 *
 * Upstream responses through the passthrough are read by `http.request` inside
 * http-proxy-3, which takes no per-request head limit there: they get Node's
 * process-wide default (`http.maxHeaderSize`), which is this same 16 KiB; a test
 * pins that the two agree. A larger upstream head is a 502.
 */
export const MAX_HEADER_SIZE = 16 * 1024;
