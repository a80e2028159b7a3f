/**
 * The parsed route travels with the raw request from the listener (which decides
 * ownership) to the Hono handler, so the path is parsed once.
 */
import type { IncomingMessage } from "node:http";
import { parseRoute, type RouteMatch, splitPathQuery } from "../oci/routes.js";

const routes = new WeakMap<IncomingMessage, RouteMatch>();

export function setRoute(req: IncomingMessage, route: RouteMatch): void {
  routes.set(req, route);
}

export function routeOf(req: IncomingMessage): RouteMatch {
  let route = routes.get(req);
  if (route === undefined) {
    route = parseRoute(req.method ?? "GET", splitPathQuery(req.url ?? "/").path);
    routes.set(req, route);
  }
  return route;
}
