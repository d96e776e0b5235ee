import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { Hono } from "hono";
import type { AppEnv, Services } from "../app-env.js";

/** The dashboard package's build, next to this package in the workspace and in the images. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL("../../../dashboard/dist/", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};
const COMPRESSIBLE = new Set([".html", ".js", ".css", ".svg", ".json", ".txt"]);
const API_PREFIXES = ["/api/", "/v1/"];
const API_PATHS = new Set(["/api", "/v1", "/health", "/metrics"]);

/**
 * Same-origin only: scripts, styles, images and the live WebSocket come from the
 * collector itself. uPlot and Svelte set element styles, hence 'unsafe-inline' for styles
 * only; no inline script is ever allowed.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** Bytes in their own ArrayBuffer, so a response can send them as they are, without a copy per request. */
type Bytes = Uint8Array<ArrayBuffer>;

interface Asset {
  body: Bytes;
  gzip?: Bytes;
  type: string;
  immutable: boolean;
}

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const file = join(folder, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.isFile()) {
        const ext = extname(entry.name);
        const body: Bytes = new Uint8Array(readFileSync(file));
        const path = `/${relative(dir, file).split(sep).join("/")}`;
        assets.set(path, {
          body,
          ...(COMPRESSIBLE.has(ext) ? { gzip: new Uint8Array(gzipSync(body, { level: 9 })) } : {}),
          type: TYPES[ext] ?? "application/octet-stream",
          // Vite names built assets by content hash: they never change under one name.
          immutable: path.startsWith("/assets/"),
        });
      }
    }
  };
  walk(dir);
  return assets;
}

/** `Accept: application/json` without HTML or a wildcard: an API client, not a browser. */
function wantsJsonOnly(accept: string | undefined): boolean {
  return accept !== undefined && /\bapplication\/json\b/.test(accept) && !/\btext\/html\b|\*\/\*/.test(accept);
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Vigil</title>
<body style="font-family:system-ui;max-width:40rem;margin:4rem auto;line-height:1.5">
<h1>The dashboard is not built</h1>
<p>This collector runs, but it has no dashboard files to serve. From the repository, run
<code>npx -y pnpm@10 build</code> (or set <code>VIGIL_DASHBOARD_DIR</code> to a built
dashboard) and reload. The API, <a href="/health">/health</a> and <a href="/metrics">/metrics</a> work without it.</p>`;

/**
 * Serves the built dashboard at `/`: its files from memory (gzip when the browser takes
 * it), and `index.html` for every other page path so the single-page app's own router
 * can answer deep links. The files are read on the first request, so a dashboard built
 * after the collector started is still found.
 */
export function dashboardRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  const dir = services.dashboardDir ?? DEFAULT_DASHBOARD_DIR;
  let assets: Map<string, Asset> | undefined;

  function current(): Map<string, Asset> | undefined {
    if (assets) return assets;
    try {
      if (!statSync(join(dir, "index.html")).isFile()) return undefined;
      assets = loadAssets(dir);
      services.log.info({ dir, files: assets.size }, "dashboard loaded");
      return assets;
    } catch {
      return undefined;
    }
  }

  app.get("*", async (c, next) => {
    const path = c.req.path;
    if (API_PATHS.has(path) || API_PREFIXES.some((prefix) => path.startsWith(prefix))) return next();
    const files = current();
    if (!files) return c.html(NOT_BUILT, 503);
    let asset = files.get(path);
    if (!asset) {
      // A missing built file is a 404, and so is an API path under a mistyped base URL
      // (`/elsewhere/api/…`) or a request that wants JSON only: a program must get the JSON
      // error, not the app's page. Any other path is a page of the app.
      if (path.startsWith("/assets/") || extname(path) !== "" || /\/(api|v1)\//.test(path) || wantsJsonOnly(c.req.header("accept"))) return next();
      asset = files.get("/index.html")!;
    }
    const gzip = asset.gzip && /\bgzip\b/.test(c.req.header("accept-encoding") ?? "");
    c.header("Content-Type", asset.type);
    c.header("Cache-Control", asset.immutable ? "public, max-age=31536000, immutable" : "no-cache");
    c.header("X-Content-Type-Options", "nosniff");
    if (asset.gzip) c.header("Vary", "Accept-Encoding");
    if (asset.type.startsWith("text/html")) {
      c.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
      c.header("Referrer-Policy", "same-origin");
    }
    if (gzip) c.header("Content-Encoding", "gzip");
    return c.body(gzip ? asset.gzip! : asset.body, 200);
  });

  return app;
}
