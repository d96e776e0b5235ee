// What every fake social platform shares: a real HTTP server on 127.0.0.1, a record of the
// requests it received, and fault switches that answer the way the platform does (its
// own 429 headers and error bodies, given by the platform's `wire`).
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readBody } from "../read-body.js";

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

export interface FakeRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface ReceivedRequest {
  /** ms since the epoch, on the fake's clock. */
  at: number;
  method: string;
  path: string;
  /** The query string, with its "?" (or ""). */
  query: string;
  authorization: string | undefined;
  userAgent: string | undefined;
  /** Set once answered. */
  status?: number;
}

/** Which requests a fault applies to: a path, or a pattern the path matches; all when absent. */
export type PathMatch = string | RegExp;

export interface FaultSwitches {
  /** The next `count` matching requests get the platform's 429, allowing the next request in `retryAfterSeconds`. */
  next429(retryAfterSeconds: number, options?: { count?: number; path?: PathMatch }): void;
  /** The next `count` matching requests get the platform's error answer with this status (401, 403, 500, 503 …). */
  nextError(status: number, options?: { count?: number; path?: PathMatch }): void;
  /** The next `count` matching answers are cut off halfway, as a dropped connection or a broken proxy leaves them. */
  malformed(options?: { count?: number; path?: PathMatch }): void;
  /** Every answer waits `ms` first; 0 switches it off. */
  slow(ms: number): void;
  /** Switches every fault off. */
  clear(): void;
}

export interface RequestStats {
  /** Every request received, oldest first. */
  readonly requests: readonly ReceivedRequest[];
  /** Requests whose path matches. */
  count(path: PathMatch): number;
  reset(): void;
}

export interface FakeServer {
  /** The fake's origin, e.g. http://127.0.0.1:41234: the platform's base URL in tests. */
  url: string;
  faults: FaultSwitches;
  stats: RequestStats;
  close(): Promise<void>;
}

/** How a platform words the answers the fault switches inject. */
export interface Wire {
  tooManyRequests(retryAfterSeconds: number, now: number): Answer;
  error(status: number): Answer;
}

export interface FakeServerOptions {
  port?: number;
  now: () => number;
  wire: Wire;
  handle(request: FakeRequest): Answer | Promise<Answer>;
}

type Fault = { match: PathMatch | undefined; count: number } & ({ kind: "429"; seconds: number } | { kind: "error"; status: number } | { kind: "malformed" });

export async function startFakeServer(options: FakeServerOptions): Promise<FakeServer> {
  const { now, wire } = options;
  const faults: Fault[] = [];
  const requests: ReceivedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let delayMs = 0;

  /** Consumes one use of the first pending fault that matches the path. */
  function takeFault(path: string): Fault | undefined {
    const fault = faults.find((f) => matches(f.match, path));
    if (!fault) return undefined;
    fault.count -= 1;
    if (fault.count <= 0) faults.splice(faults.indexOf(fault), 1);
    return fault;
  }

  async function answer(request: FakeRequest): Promise<Answer> {
    const fault = takeFault(request.url.pathname);
    if (fault?.kind === "429") return wire.tooManyRequests(fault.seconds, now());
    if (fault?.kind === "error") return wire.error(fault.status);
    const answered = await options.handle(request);
    return fault?.kind === "malformed" ? { ...answered, body: answered.body.slice(0, Math.floor(answered.body.length / 2)) } : answered;
  }

  function wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const received: ReceivedRequest = {
      at: now(),
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.search,
      authorization: req.headers.authorization,
      userAgent: req.headers["user-agent"],
    };
    requests.push(received);
    res.on("finish", () => (received.status = res.statusCode));
    const body = await readBody(req);
    if (delayMs > 0) await wait(delayMs);
    if (res.destroyed) return;
    const { status, headers = {}, body: text } = await answer({ method: received.method, url, headers: req.headers, body });
    res.writeHead(status, headers);
    res.end(text);
  }

  const server = createServer((req, res) => {
    serve(req, res).catch((error: unknown) => {
      if (res.headersSent || res.destroyed) return void res.destroy();
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(`fake failed: ${String(error)}`);
    });
  });
  server.listen(options.port ?? 0, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    faults: {
      next429: (seconds, { count = 1, path } = {}) => void faults.push({ kind: "429", seconds, count, match: path }),
      nextError: (status, { count = 1, path } = {}) => void faults.push({ kind: "error", status, count, match: path }),
      malformed: ({ count = 1, path } = {}) => void faults.push({ kind: "malformed", count, match: path }),
      slow: (ms) => void (delayMs = ms),
      clear: () => {
        faults.length = 0;
        delayMs = 0;
      },
    },
    stats: {
      requests,
      count: (path) => requests.filter((r) => matches(path, r.path)).length,
      reset: () => void (requests.length = 0),
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function matches(match: PathMatch | undefined, path: string): boolean {
  if (match === undefined) return true;
  return typeof match === "string" ? match === path : match.test(path);
}


export function json(status: number, value: unknown, headers: Record<string, string> = {}): Answer {
  return { status, headers: { "content-type": "application/json; charset=utf-8", ...headers }, body: JSON.stringify(value) };
}

/** Escapes text for XML element content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

/** Escapes text for HTML, as Mastodon and Algolia do. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** Parses a positive integer query parameter; `fallback` when absent, undefined when invalid. */
export function intParam(url: URL, name: string, fallback: number): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  return /^\d+$/.test(raw) ? Number(raw) : undefined;
}
