import { gzipSync } from "node:zlib";

export { realisticEvent } from "./realistic-event.js";

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
