import { collectorConfigSchema, createLogger, startCollector, type RunningCollector } from "../../collector/src/index.js";
import { createApp } from "../../collector/src/app.js";
import { TEST_TOKEN, tempDir } from "./collector-process.js";

/**
 * A collector started inside the test process on embedded ClickHouse (one per test file:
 * chDB binds one data directory per process), with `request()` calling its routes in
 * process like Hono's `app.request()`.
 */
export async function startInProcess(overrides: Record<string, unknown> = {}) {
  const dir = tempDir();
  const config = collectorConfigSchema.parse({
    port: 0,
    host: "127.0.0.1",
    dataDir: dir.path,
    bootstrapToken: TEST_TOKEN,
    logLevel: "silent",
    logFormat: "json",
    ...overrides,
  });
  const collector: RunningCollector = await startCollector(config, createLogger({ format: "json", level: "silent" }));
  const app = createApp(collector.services);

  async function request(method: string, path: string, options: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? TEST_TOKEN : options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | Uint8Array | undefined;
    if (options.body !== undefined) {
      if (typeof options.body === "string" || options.body instanceof Uint8Array) body = options.body as string | Uint8Array;
      else {
        body = JSON.stringify(options.body);
        headers["content-type"] ??= "application/json";
      }
    }
    const response = await app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await response.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  return {
    collector,
    app,
    request,
    async close() {
      await collector.close();
      dir.remove();
    },
  };
}
