import type { IncomingMessage, ServerResponse } from "node:http";
import type { Params } from "./signature.js";

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the request body is larger than ${limit} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/** The request body as text, refusing more than `limit` bytes: by Content-Length before reading, or as soon as it is passed. */
export function readBodyLimited(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLargeError(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    function onData(chunk: Buffer) {
      size += chunk.length;
      if (size > limit) {
        req.off("data", onData);
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    }
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.once("error", reject);
  });
}

/** `application/x-www-form-urlencoded` text → parameters in order. */
export function formParams(text: string): Params {
  return [...new URLSearchParams(text)];
}

/** A flat JSON object → parameters; undefined when it is not one (nested values, arrays, not JSON). */
export function jsonParams(text: string): Params | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const params: Params = [];
  for (const [name, value] of Object.entries(parsed)) {
    if (value === null) params.push([name, ""]);
    else if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") params.push([name, String(value)]);
    else return undefined;
  }
  return params;
}

/** The media type of a request, lower-case, without parameters ("" when absent). */
export function mediaType(req: IncomingMessage): string {
  return (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": String(Buffer.byteLength(text)), "cache-control": "no-store", ...headers });
  res.end(text);
}

/** The error shape of every Vigil API: `{"error":{"code","message"}}`. */
export function sendError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: { code, message } }, headers);
}
