import type { Op } from "../contract.js";
import { readAnswer, type MonitorAnswer } from "./answer.js";

export const MONITOR_PATH = "/api/cache-monitor";
const NO_MONITOR = "the collector has no cache monitor: start it with --plugin @vigil/plugin-cache-db";

export interface MonitorQuery {
  /** The collector's base URL, without a trailing slash (a path prefix behind a proxy is kept). */
  url: string;
  key: string | undefined;
  app: string | undefined;
  filter: string | undefined;
  type: Op | undefined;
  /** Recent events wanted: as many as fit the terminal. */
  limit: number;
}

export type MonitorRead = { ok: true; answer: MonitorAnswer } | { ok: false; message: string };

export function monitorUrl(query: MonitorQuery): string {
  const params = new URLSearchParams();
  if (query.app) params.set("app", query.app);
  if (query.filter) params.set("key_label", query.filter);
  if (query.type) params.set("type", query.type);
  params.set("limit", String(query.limit));
  return `${query.url}${MONITOR_PATH}?${params}`;
}

/** The collector's own message from a JSON error body (`{"error":{"message":…}}`), if any. */
function errorMessage(body: string): string | undefined {
  try {
    const message = (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
    return typeof message === "string" ? message : undefined;
  } catch {
    return undefined;
  }
}

/** Why fetch failed, in the words of the socket error when there is one (ECONNREFUSED 127.0.0.1:4600). */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } })?.cause;
  if (error instanceof Error && error.name === "TimeoutError") return "no answer in time";
  if (typeof cause?.message === "string" && cause.message) return cause.message;
  if (typeof cause?.code === "string") return cause.code;
  return error instanceof Error ? error.message : String(error);
}

/** One read of the monitor; every failure becomes a message a person can act on. */
export async function readMonitor(query: MonitorQuery, timeoutMs: number, cancel?: AbortSignal): Promise<MonitorRead> {
  let response: Response;
  let body: string;
  try {
    response = await fetch(monitorUrl(query), {
      headers: { accept: "application/json", ...(query.key ? { authorization: `Bearer ${query.key}` } : {}) },
      signal: cancel ? AbortSignal.any([cancel, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
    });
    body = await response.text();
  } catch (error) {
    return { ok: false, message: `cannot reach the collector at ${query.url}: ${networkReason(error)}. Is it running? (--url or VIGIL_URL)` };
  }
  const said = errorMessage(body);
  switch (response.status) {
    case 200:
      break;
    case 401:
      return {
        ok: false,
        message: query.key
          ? `the collector refused the API key (401${said ? `: ${said}` : ""}): check --key or VIGIL_API_KEY`
          : "the collector needs an API key (401): pass --key KEY or set VIGIL_API_KEY",
      };
    case 403:
      return { ok: false, message: `the API key may not read the cache monitor (403${said ? `: ${said}` : ""}): use a key with read access` };
    case 404:
      // The collector's own "no route" answer means the plugin's collector part is not loaded;
      // any other 404 is the route speaking (e.g. an unknown app) and says why itself.
      return { ok: false, message: said && !said.startsWith("no route") ? `the collector answered 404: ${said}` : NO_MONITOR };
    default:
      return { ok: false, message: `the collector answered ${response.status}${said ? `: ${said}` : ""}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, message: `the collector's answer at ${MONITOR_PATH} is not JSON` };
  }
  const answer = readAnswer(json);
  if (!answer) return { ok: false, message: `the collector's answer at ${MONITOR_PATH} has no "apps" list: is this a Vigil collector?` };
  return { ok: true, answer };
}
