/**
 * Query strings read strictly: the way Go's `url.ParseQuery` reads them for the
 * registry (pairs split on `&`, key and value decoded once with `+` as a space,
 * empty pairs skipped), with everything Go would drop or read differently
 * refused instead: a broken escape (Go drops that pair) and a `;` (Go 1.17 and
 * later drop the pair, older Go splits on it). A parameter the proxy reads must
 * then appear once, with a value.
 *
 * Pure. Callers name the error code that fits their parameters.
 */
import { percentDecode } from "./percent-encoding.js";

export type QueryParams = ReadonlyMap<string, readonly string[]>;

/** Why a query (or one parameter of it) is refused; `key` names the parameter when known. */
export interface QueryProblem {
  readonly problem: string;
  readonly key: string | null;
}

export function isQueryProblem(v: unknown): v is QueryProblem {
  return typeof v === "object" && v !== null && "problem" in v;
}

/** Every parameter with its values in order, or the first problem found. */
export function parseQuery(query: string): QueryParams | QueryProblem {
  const params = new Map<string, string[]>();
  if (query === "") return params;
  for (const pair of query.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    const key = percentDecode(rawKey, true);
    if (key === null) return { problem: "query has a % not followed by two hex digits", key: null };
    if (pair.includes(";")) return { problem: "query has a ; (not a separator)", key };
    const value = eq === -1 ? "" : percentDecode(pair.slice(eq + 1), true);
    if (value === null) return { problem: `${key} has a % not followed by two hex digits`, key };
    const values = params.get(key);
    if (values === undefined) params.set(key, [value]);
    else values.push(value);
  }
  return params;
}

/**
 * The one value of `key` (undefined when absent), or a problem when it is given
 * more than once or empty (which Go would read as absent).
 */
export function singleValue(params: QueryParams, key: string): string | undefined | QueryProblem {
  const values = params.get(key);
  if (values === undefined) return undefined;
  if (values.length > 1) return { problem: `${key} is given ${values.length} times`, key };
  if (values[0] === "") return { problem: `${key} is empty`, key };
  return values[0];
}
