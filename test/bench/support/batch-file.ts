import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** One pre-built request: its batch id and its gzip NDJSON body. */
export interface PreparedBatch {
  id: string;
  body: Buffer;
}

const INDEX_FILE = "batches.json";
const BODIES_FILE = "bodies.bin";

/**
 * Hands the exact batches the collector receives to the baseline process, which runs
 * apart (chDB allows one data dir per process). The bodies go into one file, the ids
 * and sizes into a small index beside it.
 */
export function writeBatchFile(dir: string, batches: readonly PreparedBatch[]): void {
  writeFileSync(join(dir, BODIES_FILE), Buffer.concat(batches.map((batch) => batch.body)));
  writeFileSync(join(dir, INDEX_FILE), JSON.stringify(batches.map((batch) => ({ id: batch.id, bytes: batch.body.length }))));
}

export function readBatchFile(dir: string): PreparedBatch[] {
  const index = JSON.parse(readFileSync(join(dir, INDEX_FILE), "utf8")) as { id: string; bytes: number }[];
  const bodies = readFileSync(join(dir, BODIES_FILE));
  let offset = 0;
  return index.map(({ id, bytes }) => {
    const body = bodies.subarray(offset, offset + bytes);
    offset += bytes;
    return { id, body };
  });
}
