import { gzipSync } from "node:zlib";
import { uuidv7, type EventInput } from "@vigil/plugin-sdk";

const HOSTS = ["api.example.com", "shop.example.com", "status.example.org", "cdn.example.net"];
const REGIONS = ["eu-west", "us-east", "ap-south"];
const BODY_WORDS = "checked endpoint responded within budget cache warm retry skipped tls valid redirect followed".split(" ");

/** A realistic HTTP-check event: 8 attrs and a ~200-byte body. */
export function realisticEvent(i: number, now = Date.now()): EventInput {
  const host = HOSTS[i % HOSTS.length]!;
  let body = `GET https://${host}/health/${i % 97} `;
  while (body.length < 200) body += `${BODY_WORDS[(i + body.length) % BODY_WORDS.length]} `;
  return {
    id: uuidv7(now - (i % 1000)),
    ts: now - (i % 1000),
    source: "http",
    type: "http.check",
    severity: i % 50 === 0 ? "warning" : "info",
    attrs: {
      url_host: host,
      region: REGIONS[i % REGIONS.length]!,
      status_code: i % 50 === 0 ? 503 : 200,
      latency_ms: 20 + (i % 180),
      ok: i % 50 !== 0,
      check_name: `check-${i % 25}`,
      attempt: 1 + (i % 3),
      tls_days_left: 30 + (i % 60),
    },
    body: body.slice(0, 200),
  };
}

export function ndjson(events: object[]): string {
  return events.map((e) => JSON.stringify(e)).join("\n") + "\n";
}

export function gzipNdjson(events: object[]): Buffer {
  return gzipSync(ndjson(events));
}

export async function postBatch(
  url: string,
  token: string,
  body: string | Buffer,
  options: { batchId?: string; gzip?: boolean; contentType?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${token}`,
    "content-type": options.contentType ?? "application/json",
  };
  if (options.batchId) headers["vigil-batch-id"] = options.batchId;
  if (options.gzip) headers["content-encoding"] = "gzip";
  return fetch(`${url}/v1/events`, { method: "POST", headers, body });
}
