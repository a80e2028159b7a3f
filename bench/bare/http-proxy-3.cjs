// A bare Node server + http-proxy-3 passthrough, a reference point for bench/compare.ts:
// what Node's HTTP server and client with http-proxy-3 cost with nothing of the proxy's
// own around them. Same high-water mark and keep-alive agent as the proxy.
const http = require("node:http");
const { createProxyServer } = require("http-proxy-3");

const hwm = 64 * 1024;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64, highWaterMark: hwm });
const proxy = createProxyServer({ target: process.env.UPSTREAM_URL, agent, changeOrigin: true });
proxy.on("error", (_err, _req, res) => {
  if ("writeHead" in res && !res.headersSent) res.writeHead(502).end();
  else res.destroy();
});
http
  .createServer({ highWaterMark: hwm }, (req, res) => proxy.web(req, res))
  .listen(Number(process.env.PORT), process.env.HOST || "127.0.0.1");
// Exit on SIGTERM through process.exit, so that `--cpu-prof` writes its profile.
process.on("SIGTERM", () => process.exit(0));
