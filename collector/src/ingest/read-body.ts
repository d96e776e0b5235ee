import { gunzip } from "node:zlib";
import { promisify } from "node:util";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { MAX_BATCH_BYTES, MAX_BATCH_DECOMPRESSED_BYTES } from "@vigil/plugin-sdk";
import { ApiError } from "../errors.js";

const gunzipAsync = promisify(gunzip);

/**
 * Refuses an ingest body over MAX_BATCH_BYTES: at once from its Content-Length, or as
 * soon as a chunked body streams past the limit.
 */
export function ingestBodyLimit() {
  return bodyLimit({
    maxSize: MAX_BATCH_BYTES,
    onError: () => {
      throw new ApiError(
        "payload_too_large",
        `the body is larger than ${MAX_BATCH_BYTES} bytes (MAX_BATCH_BYTES): split it into smaller batches or gzip it`,
        [{ limit: "MAX_BATCH_BYTES", max: MAX_BATCH_BYTES }],
      );
    },
  });
}

/**
 * Reads a request body (its size already bounded by `ingestBodyLimit`) as text, and
 * un-gzips it when `Content-Encoding: gzip` says so. The decompressed size is capped
 * too, so a small gzip bomb cannot exhaust memory.
 */
export async function readBodyText(c: Context): Promise<string> {
  const raw = Buffer.from(await c.req.arrayBuffer());

  const encoding = (c.req.header("content-encoding") ?? "identity").trim().toLowerCase();
  if (encoding === "identity" || encoding === "") return raw.toString("utf8");
  if (encoding !== "gzip") {
    throw new ApiError("unsupported_media_type", `Content-Encoding "${encoding}" is not supported: send the body plain or gzip-compressed`);
  }
  try {
    const plain = await gunzipAsync(raw, { maxOutputLength: MAX_BATCH_DECOMPRESSED_BYTES });
    return plain.toString("utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" || error instanceof RangeError) {
      throw new ApiError(
        "payload_too_large",
        `the body decompresses to more than ${MAX_BATCH_DECOMPRESSED_BYTES} bytes (MAX_BATCH_DECOMPRESSED_BYTES): split it into smaller batches`,
        [{ limit: "MAX_BATCH_DECOMPRESSED_BYTES", max: MAX_BATCH_DECOMPRESSED_BYTES }],
      );
    }
    throw new ApiError("invalid_argument", "the body is marked Content-Encoding: gzip but is not valid gzip data");
  }
}
