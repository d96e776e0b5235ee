import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Real local servers for the checks to hit. Routes:
 *   /health   200 "status: ok"
 *   /json     200 {"status":"ok","items":[{"name":"alpha"}]}
 *   /error    503
 *   /switch   200 or 503, as set by `setHealthy`
 *   /hold     answers 200 only when `release()` is called
 *   /slow     never answers while the test runs
 */
export interface TestServer {
  origin: string;
  url(path: string): string;
  setHealthy(healthy: boolean): void;
  /** Resolves when a /hold request has arrived. */
  held(): Promise<void>;
  release(): void;
  /** Bodies and methods the server received, in order. */
  received: { method: string; path: string; headers: IncomingMessage["headers"]; body: string }[];
  close(): Promise<void>;
}

function handler(state: { healthy: boolean; holds: ServerResponse[]; onHold: (() => void)[] }, received: TestServer["received"]) {
  return (req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      received.push({ method: req.method ?? "", path, headers: req.headers, body });
      switch (path) {
        case "/health":
          return res.writeHead(200, { "content-type": "text/plain" }).end("status: ok");
        case "/json":
          return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "ok", items: [{ name: "alpha" }] }));
        case "/error":
          return res.writeHead(503, { "content-type": "text/plain" }).end("unavailable");
        case "/switch":
          return res.writeHead(state.healthy ? 200 : 503).end(state.healthy ? "ok" : "down");
        case "/hold":
          state.holds.push(res);
          for (const waiter of state.onHold.splice(0)) waiter();
          return;
        case "/slow":
          return; // never answers; close() ends the socket
        default:
          return res.writeHead(404).end("not found");
      }
    });
  };
}

async function listen(server: Server, protocol: "http" | "https"): Promise<TestServer> {
  const state = { healthy: true, holds: [] as ServerResponse[], onHold: [] as (() => void)[] };
  const received: TestServer["received"] = [];
  server.on("request", handler(state, received));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `${protocol}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: (path) => `${origin}${path}`,
    setHealthy: (healthy) => void (state.healthy = healthy),
    held: () => (state.holds.length > 0 ? Promise.resolve() : new Promise((resolve) => state.onHold.push(resolve))),
    release: () => state.holds.splice(0).forEach((res) => res.writeHead(200).end("released")),
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function startHttpServer(): Promise<TestServer> {
  return listen(createHttpServer(), "http");
}

export function startHttpsServer(certificate: Certificate): Promise<TestServer> {
  return listen(createHttpsServer({ key: certificate.key, cert: certificate.cert }), "https");
}

export interface Certificate {
  key: string;
  cert: string;
}

/** A self-signed certificate for 127.0.0.1 and localhost, valid for `days` days from now, made by the openssl CLI. */
export function makeCertificate(days: number): Certificate {
  const dir = mkdtempSync(join(tmpdir(), "vigil-http-check-"));
  try {
    execFileSync(
      "openssl",
      [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", String(days),
        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
      ],
      { stdio: "pipe" },
    );
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A local port with nothing listening on it: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
