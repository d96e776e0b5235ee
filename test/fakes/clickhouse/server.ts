// A fake ClickHouse server: a real HTTP(S) server speaking ClickHouse's HTTP interface
// (https://clickhouse.com/docs/interfaces/http) as far as @clickhouse/client uses it, with
// a real engine behind it — chDB, in this process — so every statement really runs:
//
// - `GET /ping` → `Ok.`; `POST /` (or read-only `GET /`) with the query in the `query` URL
//   parameter, the body, or both (joined by a newline, as the server does), `INSERT … FORMAT
//   <fmt>` with the rows in the body; `database`, `query_id`, `default_format`,
//   `param_<name>` and every other parameter as a setting of that one query.
// - Credentials from `X-ClickHouse-User`/`X-ClickHouse-Key`, basic auth, or the `user` and
//   `password` parameters; a wrong one is refused with AUTHENTICATION_FAILED (403).
// - `Content-Encoding: gzip|deflate|br` request bodies; answers compressed when the query
//   has `enable_http_compression=1` and the client accepts the encoding.
// - `X-ClickHouse-Query-Id`, `-Format`, `-Timezone`, `-Summary` headers; errors as the
//   server sends them: `Code: N. DB::Exception: … (NAME) (version …)` with
//   `X-ClickHouse-Exception-Code` and the server's HTTP status for that code.
// - Keep-alive as the server does it: `Keep-Alive: timeout=N` on every answer and idle
//   connections closed after N seconds (`keep_alive_timeout`, 3 by default as before
//   ClickHouse 23.11; 30 since). Node's HTTP agent reads that header and drops an idle
//   connection a second before; `announceKeepAlive: false` hides it, as a proxy may.
//
// An answer is sent once its statement finished (chDB materializes results), which is what
// `wait_end_of_query=1` asks of the server; the parameter is taken and logged.
//
// Each request runs on its own chDB session (a connection to the one engine of this
// process), so settings and query parameters apply to that query only, as on the server.
// Query parameters travel the way the server takes them: their text, exactly as sent, set
// as `param_<name>` and parsed by the engine for the placeholder's type.
//
// Not implemented: HTTP sessions (`session_id`), the native compression format
// (`compress`/`decompress`), progress headers, multi-statement queries' refusal.
import { randomUUID } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { mkdirSync } from "node:fs";
import { promisify } from "node:util";
import { brotliCompress, createBrotliDecompress, createGunzip, createInflate, deflate, gzip } from "node:zlib";
import { Session } from "chdb";

export interface FakeClickHouseOptions {
  /** chDB's data directory. chDB binds one per process: one fake per process. */
  dataDir: string;
  host?: string;
  port?: number;
  /** User → password. Default: the user `default` with no password, as a fresh server has. */
  users?: Record<string, string>;
  /** Serve HTTPS with this certificate chain and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** `keep_alive_timeout`: idle connections are closed after this many seconds. Default 3. */
  keepAliveTimeoutSeconds?: number;
  /**
   * Whether answers say `Keep-Alive: timeout=N`, as the server does. false: as behind a proxy
   * that drops this hop-by-hop header, so a client cannot learn the timeout. Default true.
   */
  announceKeepAlive?: boolean;
  /** How many requests the log keeps (oldest dropped first). Default 10,000. */
  logLimit?: number;
}

/** One request as the fake saw it. */
export interface ClickHouseRequestRecord {
  at: number;
  method: string;
  path: string;
  /** The user the request authenticated as (or tried to). */
  user: string;
  queryId: string;
  /** The statement without its data (an insert's rows are not kept). */
  query: string;
  kind: "ping" | "insert" | "select" | "other";
  /** Settings the request carried (URL parameters that are settings), as sent. */
  settings: Record<string, string>;
  /** `param_<name>` values, as sent. */
  params: Record<string, string>;
  /** HTTP-layer parameters (`wait_end_of_query`, `database`, `default_format` …). */
  http: Record<string, string>;
  contentEncoding?: string;
  /** The answer's Content-Encoding, when compressed. */
  responseEncoding?: string;
  /** 0 when the connection was dropped without an answer. */
  status: number;
  exceptionCode?: number;
  /** Which fault was applied, if any. */
  fault?: string;
  /** Rows the request inserted (counted from a line-per-row body), for inserts. */
  insertedRows?: number;
  /** The connection it came on (1, 2, …): shows keep-alive reuse. */
  connection: number;
}

export interface FaultOptions {
  count?: number;
  /** Only requests whose statement matches (the query text without data). */
  match?: RegExp;
}

export interface FaultSwitches {
  /**
   * The next requests are answered with this status without running: 503 as ClickHouse
   * itself answers it (SOCKET_TIMEOUT), 502/504 as a proxy in front of it does (plain text).
   */
  failNext(status: 502 | 503 | 504, options?: FaultOptions): void;
  /**
   * The next requests lose their connection: `before` the statement runs, or `after` it
   * ran and before the answer (an insert is stored; the client never hears it was).
   */
  resetNext(when: "before" | "after", options?: FaultOptions): void;
  /** The next requests wait this long before they run. */
  delayNext(ms: number, options?: FaultOptions): void;
  clear(): void;
}

export interface ConnectionStats {
  opened: number;
  /** Closed by the fake after keep_alive_timeout seconds idle. */
  closedIdleByServer: number;
  /** Closed by the client (it ended or reset the connection first). */
  closedByClient: number;
}

export interface FakeClickHouse {
  /** e.g. http://127.0.0.1:41234 — what CLICKHOUSE_URL points at. */
  url: string;
  port: number;
  requests: readonly ClickHouseRequestRecord[];
  faults: FaultSwitches;
  connections(): ConnectionStats;
  /** Runs SQL on the engine directly (no HTTP): for tests to look at what was stored. */
  query(sql: string, format?: string): Promise<string>;
  close(): Promise<void>;
}

type Fault = { count: number; match: RegExp | undefined } & ({ kind: "fail"; status: 502 | 503 | 504 } | { kind: "reset"; when: "before" | "after" } | { kind: "delay"; ms: number });

/** Parameters the HTTP handler takes itself; every other one (except param_*) is a setting. */
const HTTP_PARAMETERS = new Set([
  "query",
  "database",
  "default_format",
  "query_id",
  "user",
  "password",
  "quota_key",
  "compress",
  "decompress",
  "buffer_size",
  "wait_end_of_query",
  "session_id",
  "session_timeout",
  "session_check",
  "client_protocol_version",
  "close_session",
  "stacktrace",
  "role",
]);

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The server's mapping of exception codes to HTTP statuses (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp), by name. */
const STATUS_BY_ERROR: Record<string, number> = {
  REQUIRED_PASSWORD: 401,
  ...Object.fromEntries(["UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE", "ACCESS_DENIED"].map((name) => [name, 403])),
  ...Object.fromEntries(
    [
      "BAD_ARGUMENTS",
      "CANNOT_COMPILE_REGEXP",
      "CANNOT_PARSE_TEXT",
      "CANNOT_PARSE_ESCAPE_SEQUENCE",
      "CANNOT_PARSE_QUOTED_STRING",
      "CANNOT_PARSE_DATE",
      "CANNOT_PARSE_DATETIME",
      "CANNOT_PARSE_NUMBER",
      "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING",
      "CANNOT_PARSE_IPV4",
      "CANNOT_PARSE_IPV6",
      "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
      "CANNOT_PARSE_UUID",
      "DUPLICATE_COLUMN",
      "ILLEGAL_COLUMN",
      "UNKNOWN_ELEMENT_IN_AST",
      "UNKNOWN_TYPE_OF_AST_NODE",
      "THERE_IS_NO_COLUMN",
      "TOO_DEEP_AST",
      "TOO_BIG_AST",
      "UNEXPECTED_AST_STRUCTURE",
      "SYNTAX_ERROR",
      "INCORRECT_DATA",
      "TYPE_MISMATCH",
      "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
    ].map((name) => [name, 400]),
  ),
  ...Object.fromEntries(
    [
      "UNKNOWN_TABLE",
      "UNKNOWN_FUNCTION",
      "UNKNOWN_IDENTIFIER",
      "UNKNOWN_TYPE",
      "UNKNOWN_STORAGE",
      "UNKNOWN_DATABASE",
      "UNKNOWN_SETTING",
      "UNKNOWN_DIRECTION_OF_SORTING",
      "UNKNOWN_AGGREGATE_FUNCTION",
      "UNKNOWN_FORMAT",
      "UNKNOWN_DATABASE_ENGINE",
      "UNKNOWN_TYPE_OF_QUERY",
      "UNKNOWN_ROLE",
    ].map((name) => [name, 404]),
  ),
  QUERY_IS_TOO_LARGE: 413,
  NOT_IMPLEMENTED: 501,
  SOCKET_TIMEOUT: 503,
  CANNOT_OPEN_FILE: 503,
  CANNOT_SCHEDULE_TASK: 503,
  HTTP_LENGTH_REQUIRED: 411,
  TIMEOUT_EXCEEDED: 408,
  UNSUPPORTED_MEDIA_TYPE: 415,
};

/** A ClickHouse exception: its code, name and message, as the server words it. */
class ServerError extends Error {
  constructor(
    readonly code: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const gzipAsync = promisify(gzip);
const deflateAsync = promisify(deflate);
const brotliAsync = promisify(brotliCompress);

export async function startFakeClickHouse(options: FakeClickHouseOptions): Promise<FakeClickHouse> {
  mkdirSync(options.dataDir, { recursive: true });
  // Opening the engine takes a moment; this session keeps it open for the fake's lifetime,
  // and each request's own session on the same directory then opens at once.
  const anchor = new Session(options.dataDir);
  const serverVersion = (await anchor.queryAsync("SELECT version()", { format: "TabSeparated" })).text().trim();
  const users = options.users ?? { default: "" };
  const keepAliveSeconds = options.keepAliveTimeoutSeconds ?? 3;
  const logLimit = options.logLimit ?? 10_000;
  const requests: ClickHouseRequestRecord[] = [];
  const faults: Fault[] = [];
  const running = new Set<string>();
  const stats: ConnectionStats = { opened: 0, closedIdleByServer: 0, closedByClient: 0 };
  const connectionIds = new WeakMap<Socket, number>();
  const idleClosed = new WeakSet<Socket>();
  let closing = false;

  function takeFault(statement: string): Fault | undefined {
    const fault = faults.find((f) => f.match === undefined || f.match.test(statement));
    if (!fault) return undefined;
    fault.count -= 1;
    if (fault.count <= 0) faults.splice(faults.indexOf(fault), 1);
    return fault;
  }

  function record(entry: ClickHouseRequestRecord): void {
    requests.push(entry);
    if (requests.length > logLimit) requests.splice(0, requests.length - logLimit);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const connection = connectionIds.get(req.socket) ?? 0;
    const method = req.method ?? "GET";
    if (url.pathname === "/ping" || url.pathname === "/replicas_status") {
      await readRaw(req);
      res.writeHead(200, { "content-type": "text/plain; charset=UTF-8" }).end("Ok.\n");
      record({ at: Date.now(), method, path: url.pathname, user: "", queryId: "", query: "", kind: "ping", settings: {}, params: {}, http: {}, status: 200, connection });
      return;
    }

    const settings: Record<string, string> = {};
    const params: Record<string, string> = {};
    const http: Record<string, string> = {};
    for (const [key, value] of url.searchParams) {
      if (key.startsWith("param_")) params[key.slice(6)] = value;
      else if (HTTP_PARAMETERS.has(key)) http[key] = value;
      else settings[key] = value;
    }
    const queryId = http.query_id || randomUUID();
    const entry: ClickHouseRequestRecord = {
      at: Date.now(),
      method,
      path: url.pathname,
      user: "default",
      queryId,
      query: "",
      kind: "other",
      settings,
      params,
      http,
      status: 0,
      connection,
      ...(req.headers["content-encoding"] ? { contentEncoding: String(req.headers["content-encoding"]) } : {}),
    };
    const baseHeaders: Record<string, string> = {
      "X-ClickHouse-Query-Id": queryId,
      "X-ClickHouse-Timezone": "UTC",
      "X-ClickHouse-Server-Display-Name": "fake-clickhouse",
    };

    const sendError = (error: ServerError) => {
      const status = STATUS_BY_ERROR[error.type] ?? 500;
      entry.status = status;
      entry.exceptionCode = error.code;
      record(entry);
      res
        .writeHead(status, { ...baseHeaders, "content-type": "text/plain; charset=UTF-8", "X-ClickHouse-Exception-Code": String(error.code) })
        .end(`Code: ${error.code}. DB::Exception: ${error.message}. (${error.type}) (version ${serverVersion} (official build))\n`);
    };

    if (url.pathname !== "/") {
      await readRaw(req);
      entry.status = 404;
      record(entry);
      res.writeHead(404, { "content-type": "text/plain; charset=UTF-8" }).end(`There is no handle ${url.pathname}\n\nUse / or /ping for health checks.\n`);
      return;
    }
    try {
      if (method !== "GET" && method !== "POST") throw new ServerError(36, "BAD_ARGUMENTS", `HTTP method ${method} is not supported`);
      const user = authenticate(req, url, users);
      entry.user = user.name;
      if (!user.ok) throw new ServerError(516, "AUTHENTICATION_FAILED", `${user.name}: Authentication failed: password is incorrect, or there is no user with such name`);
      if (http.session_id) throw new ServerError(48, "NOT_IMPLEMENTED", "HTTP sessions (session_id) are not implemented by this fake");
      if (http.compress === "1" || http.decompress === "1") throw new ServerError(48, "NOT_IMPLEMENTED", "the native compression format is not implemented by this fake");

      const body = method === "POST" ? await readBody(req) : "";
      let text = body;
      const contentType = String(req.headers["content-type"] ?? "");
      if (contentType.startsWith("multipart/form-data")) {
        const parts = parseMultipart(body, contentType);
        text = parts.query ?? "";
        for (const [name, value] of Object.entries(parts)) if (name.startsWith("param_")) params[name.slice(6)] = value;
      }
      const sql = http.query ? (text ? `${http.query}\n${text}` : http.query) : text;
      if (sql.trim() === "") throw new ServerError(62, "SYNTAX_ERROR", "Empty query");
      const statement = statementOf(sql);
      entry.query = statement;
      entry.kind = /^\s*INSERT\b/i.test(statement) ? "insert" : /^\s*(SELECT|WITH|SHOW|DESCRIBE|DESC|EXISTS)\b/i.test(statement) ? "select" : "other";
      if (entry.kind === "insert") entry.insertedRows = countRows(sql.slice(statement.length));

      const fault = takeFault(statement);
      if (fault) entry.fault = fault.kind === "fail" ? `fail ${fault.status}` : fault.kind === "reset" ? `reset ${fault.when}` : `delay ${fault.ms}`;
      if (fault?.kind === "fail") {
        entry.status = fault.status;
        record(entry);
        if (fault.status === 503) {
          res
            .writeHead(503, { ...baseHeaders, "content-type": "text/plain; charset=UTF-8", "X-ClickHouse-Exception-Code": "209" })
            .end(`Code: 209. DB::Exception: Timeout exceeded while reading from socket (${req.socket.remoteAddress}:${req.socket.remotePort}). (SOCKET_TIMEOUT) (version ${serverVersion} (official build))\n`);
        } else {
          // What a proxy in front of the server answers: no ClickHouse headers, its own text.
          res.writeHead(fault.status, { "content-type": "text/plain" }).end(fault.status === 502 ? "502 Bad Gateway\n" : "504 Gateway Time-out\n");
        }
        return;
      }
      if (fault?.kind === "reset" && fault.when === "before") {
        record(entry);
        req.socket.destroy();
        return;
      }
      if (fault?.kind === "delay") await new Promise((resolve) => setTimeout(resolve, fault.ms));

      if (running.has(queryId)) throw new ServerError(216, "QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING", `Query with id = ${queryId} is already running`);
      running.add(queryId);
      let result;
      try {
        result = await execute({ dataDir: options.dataDir, sql, settings, params, http, readOnly: method !== "POST" });
      } finally {
        running.delete(queryId);
      }
      if (fault?.kind === "reset") {
        record(entry);
        req.socket.destroy();
        return;
      }

      const summary = {
        read_rows: String(result.rowsRead),
        read_bytes: String(result.bytesRead),
        written_rows: String(entry.insertedRows ?? 0),
        written_bytes: String(entry.kind === "insert" ? Buffer.byteLength(sql) - Buffer.byteLength(statement) : 0),
        total_rows_to_read: "0",
        result_rows: String(entry.kind === "insert" ? 0 : result.rowsRead),
        result_bytes: String(result.bytes.byteLength),
        elapsed_ns: String(Math.round(result.elapsed * 1e9)),
      };
      let payload: Buffer = Buffer.from(result.bytes.buffer, result.bytes.byteOffset, result.bytes.byteLength);
      const headers: Record<string, string> = {
        ...baseHeaders,
        "X-ClickHouse-Format": result.format,
        "X-ClickHouse-Summary": JSON.stringify(summary),
        "content-type": contentTypeOf(result.format),
      };
      const encoding = settings.enable_http_compression === "1" ? chooseEncoding(String(req.headers["accept-encoding"] ?? "")) : undefined;
      if (encoding) {
        payload = await (encoding === "gzip" ? gzipAsync(payload) : encoding === "deflate" ? deflateAsync(payload) : brotliAsync(payload));
        headers["content-encoding"] = encoding;
        entry.responseEncoding = encoding;
      }
      entry.status = 200;
      record(entry);
      res.writeHead(200, headers).end(payload);
    } catch (error) {
      if (res.headersSent || res.destroyed) return void res.destroy();
      sendError(error instanceof ServerError ? error : engineError(error));
    }
  }

  const idleTimers = new WeakMap<Socket, NodeJS.Timeout>();
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    // keep_alive_timeout: a connection idle this long after an answer is closed.
    clearTimeout(idleTimers.get(req.socket));
    res.on("finish", () => {
      const socket = req.socket;
      const timer = setTimeout(() => {
        idleClosed.add(socket);
        socket.destroy();
      }, keepAliveSeconds * 1000);
      timer.unref();
      idleTimers.set(socket, timer);
    });
    if (options.announceKeepAlive ?? true) res.setHeader("Keep-Alive", `timeout=${keepAliveSeconds}`);
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) res.writeHead(500, { "content-type": "text/plain" }).end(`fake ClickHouse failed: ${String(error)}\n`);
      else res.destroy();
    });
  };
  const server: Server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener) : createHttpServer(listener);
  // Idle connections are closed by the timers above (Node's own keep-alive timeout would
  // always announce itself), and a connection is never cut by Node's request timeouts.
  server.keepAliveTimeout = 0;
  server.requestTimeout = 0;
  server.on(options.tls ? "secureConnection" : "connection", (socket: Socket) => {
    stats.opened += 1;
    connectionIds.set(socket, stats.opened);
    let clientEnded = false;
    socket.on("end", () => (clientEnded = true));
    socket.on("error", () => (clientEnded = true));
    socket.on("close", () => {
      clearTimeout(idleTimers.get(socket));
      if (closing) return;
      if (idleClosed.has(socket)) stats.closedIdleByServer += 1;
      else if (clientEnded) stats.closedByClient += 1;
    });
  });
  server.listen(options.port ?? 0, options.host ?? "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host && options.host !== "0.0.0.0" ? options.host : "127.0.0.1";

  const addFault = (fault: Fault) => void faults.push(fault);
  return {
    url: `${options.tls ? "https" : "http"}://${host}:${port}`,
    port,
    requests,
    faults: {
      failNext: (status, { count = 1, match } = {}) => addFault({ kind: "fail", status, count, match }),
      resetNext: (when, { count = 1, match } = {}) => addFault({ kind: "reset", when, count, match }),
      delayNext: (ms, { count = 1, match } = {}) => addFault({ kind: "delay", ms, count, match }),
      clear: () => void (faults.length = 0),
    },
    connections: () => ({ ...stats }),
    async query(sql, format = "TabSeparated") {
      return (await anchor.queryAsync(sql, { format })).text();
    },
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        server.close(() => {
          anchor.close();
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

interface Executed {
  bytes: Uint8Array;
  format: string;
  rowsRead: number;
  bytesRead: number;
  elapsed: number;
}

/**
 * Runs one request's statement on a session of its own: the database, the settings and the
 * parameters (`param_<name>` settings carry the text exactly as sent, which the engine parses
 * for each placeholder's type, as the server does) apply to this statement only.
 */
async function execute(request: { dataDir: string; sql: string; settings: Record<string, string>; params: Record<string, string>; http: Record<string, string>; readOnly: boolean }): Promise<Executed> {
  const session = new Session(request.dataDir);
  try {
    const database = request.http.database;
    if (database && database !== "default") {
      if (!IDENTIFIER.test(database)) throw new ServerError(81, "UNKNOWN_DATABASE", `Database ${database} does not exist`);
      await session.queryAsync(`USE ${database}`);
    }
    const assignments: string[] = [];
    for (const [name, value] of Object.entries(request.settings)) {
      if (!IDENTIFIER.test(name)) throw new ServerError(115, "UNKNOWN_SETTING", `Unknown setting '${name}'`);
      assignments.push(`${name} = ${quote(value)}`);
    }
    for (const [name, value] of Object.entries(request.params)) {
      if (!IDENTIFIER.test(name)) throw new ServerError(36, "BAD_ARGUMENTS", `Invalid query parameter name '${name}'`);
      assignments.push(`param_${name} = ${quote(value)}`);
    }
    // Anything but POST runs read-only (readonly = 2: settings may still change), as on the server.
    if (request.readOnly && request.settings.readonly === undefined) assignments.push("readonly = 2");
    if (assignments.length > 0) await session.queryAsync(`SET ${assignments.join(", ")}`);
    const format = request.http.default_format || request.settings.default_format || "TabSeparated";
    const result = await session.queryAsync(request.sql, { format });
    const declared = /\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$/i.exec(statementOf(request.sql));
    return {
      bytes: result.bytes(),
      format: declared && !/^\s*INSERT\b/i.test(request.sql) ? declared[1]! : format,
      rowsRead: result.rowsRead,
      bytesRead: result.bytesRead,
      elapsed: result.elapsed,
    };
  } finally {
    session.close();
  }
}

/** A chDB error (`Code: N. DB::Exception: message. (NAME)`) as a ServerError. */
function engineError(error: unknown): ServerError {
  const message = error instanceof Error ? error.message : String(error);
  const match = /Code: (\d+)\. DB::Exception: ([\s\S]*?)\.? \(([A-Z0-9_]+)\)\s*$/.exec(message.trim());
  if (match) return new ServerError(Number(match[1]), match[3]!, match[2]!);
  return new ServerError(1001, "STD_EXCEPTION", message);
}

/** A SQL string literal: the server takes URL values as text, so every setting and parameter is sent as one. */
function quote(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** The statement part of an insert (up to its FORMAT name; its data follows), or the whole query. */
function statementOf(sql: string): string {
  const insert = /^\s*INSERT\b[\s\S]*?\bFORMAT\s+[A-Za-z0-9_]+/i.exec(sql);
  return (insert ? insert[0] : sql).trim();
}

function countRows(data: string): number {
  let rows = 0;
  for (const line of data.split("\n")) if (line.trim() !== "") rows += 1;
  return rows;
}

function authenticate(req: IncomingMessage, url: URL, users: Record<string, string>): { name: string; ok: boolean } {
  let name: string | undefined;
  let password: string | undefined;
  const header = req.headers["x-clickhouse-user"];
  if (typeof header === "string") {
    name = header;
    password = typeof req.headers["x-clickhouse-key"] === "string" ? req.headers["x-clickhouse-key"] : "";
  } else if (req.headers.authorization?.startsWith("Basic ")) {
    const decoded = Buffer.from(req.headers.authorization.slice(6), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    name = colon >= 0 ? decoded.slice(0, colon) : decoded;
    password = colon >= 0 ? decoded.slice(colon + 1) : "";
  } else if (url.searchParams.has("user")) {
    name = url.searchParams.get("user") ?? "default";
    password = url.searchParams.get("password") ?? "";
  }
  name = name || "default";
  return { name, ok: Object.hasOwn(users, name) && users[name] === (password ?? "") };
}

async function readRaw(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The request body as text, decompressed per Content-Encoding. */
async function readBody(req: IncomingMessage): Promise<string> {
  const encoding = String(req.headers["content-encoding"] ?? "").toLowerCase();
  if (encoding === "" || encoding === "identity") return (await readRaw(req)).toString("utf8");
  const decoder = encoding === "gzip" ? createGunzip() : encoding === "deflate" ? createInflate() : encoding === "br" ? createBrotliDecompress() : undefined;
  if (!decoder) {
    await readRaw(req);
    throw new ServerError(36, "BAD_ARGUMENTS", `Unknown HTTP content encoding: ${encoding}`);
  }
  req.pipe(decoder);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of decoder) chunks.push(chunk as Buffer);
  } catch (error) {
    throw new ServerError(354, "CANNOT_DECOMPRESS", `Cannot decompress the ${encoding} body: ${(error as Error).message}`);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The named parts of a multipart/form-data body (the client sends the query and its parameters this way when they are long). */
function parseMultipart(body: string, contentType: string): Record<string, string> {
  const boundary = /boundary=("?)([^";]+)\1/.exec(contentType)?.[2];
  if (!boundary) throw new ServerError(36, "BAD_ARGUMENTS", "multipart/form-data without a boundary");
  const parts: Record<string, string> = {};
  for (const section of body.split(`--${boundary}`)) {
    const cut = section.indexOf("\r\n\r\n");
    if (cut < 0) continue;
    const name = /name="([^"]+)"/.exec(section.slice(0, cut))?.[1];
    if (name) parts[name] = section.slice(cut + 4).replace(/\r\n$/, "");
  }
  return parts;
}

function chooseEncoding(accept: string): "gzip" | "deflate" | "br" | undefined {
  const offered = accept.toLowerCase().split(",").map((part) => part.trim().split(";")[0]);
  if (offered.includes("gzip")) return "gzip";
  if (offered.includes("deflate")) return "deflate";
  if (offered.includes("br")) return "br";
  return undefined;
}

function contentTypeOf(format: string): string {
  if (/^JSON/i.test(format)) return "application/json; charset=UTF-8";
  if (/^(TabSeparated|TSV)/i.test(format)) return "text/tab-separated-values; charset=UTF-8";
  if (/^CSV/i.test(format)) return "text/csv; charset=UTF-8";
  return "text/plain; charset=UTF-8";
}
