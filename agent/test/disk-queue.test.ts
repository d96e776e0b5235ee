import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { appendFile, open, readdir, rm, stat, truncate, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { openDiskQueue, type DiskQueue, type DiskQueueOptions } from "../src/queue/index.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = join(HERE, "../..");
const CRASH_CHILD = join(HERE, "fixtures/disk-queue-crash-child.ts");
const HEADER = 8;
const BATCH_ID = /^[A-Za-z0-9._:-]{8,128}$/;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function newDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "vigil-disk-queue-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

type LogLine = { level: "info" | "warn" | "error"; fields: Record<string, unknown>; message: string | undefined };

interface Opened {
  queue: DiskQueue;
  logs: LogLine[];
  drops: [number, string][];
}

async function openQueue(dir: string, options: Partial<DiskQueueOptions> = {}): Promise<Opened> {
  const logs: LogLine[] = [];
  const drops: [number, string][] = [];
  const entry = (level: LogLine["level"]) => (fields: object, message?: string) => logs.push({ level, fields: fields as Record<string, unknown>, message });
  const queue = await openDiskQueue({
    dir,
    maxBytes: 64 * 1024 * 1024,
    policy: "block",
    log: { info: entry("info"), warn: entry("warn"), error: entry("error") },
    onDrop: (records, reason) => drops.push([records, reason]),
    ...options,
  });
  cleanups.push(() => queue.close());
  return { queue, logs, drops };
}

/** A record that carries its sequence number, `size` bytes long. */
function record(seq: number, size = 400): Buffer {
  const head = `{"seq":${seq},"pad":"`;
  return Buffer.from(head + "x".repeat(Math.max(0, size - head.length - 2)) + `"}`);
}

function seqOf(payload: Buffer): number {
  return (JSON.parse(payload.toString()) as { seq: number }).seq;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/** Ships everything: next + ack until empty; returns the sequence numbers in order. */
async function drain(queue: DiskQueue, limits = { maxRecords: 7, maxBytes: 1024 * 1024 }): Promise<number[]> {
  const seqs: number[] = [];
  for (let batch = await queue.next(limits); batch; batch = await queue.next(limits)) {
    seqs.push(...batch.records.map(seqOf));
    await queue.ack(batch.id);
  }
  return seqs;
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith(".seg")).sort();
}

function settledFlag(promise: Promise<unknown>): { settled: boolean } {
  const flag = { settled: false };
  promise.then(
    () => (flag.settled = true),
    () => (flag.settled = true),
  );
  return flag;
}

describe("disk queue: append, next, ack", () => {
  it("round trip: records come back in order, framed bytes are counted, acked segments are deleted", async () => {
    const dir = newDir();
    const { queue } = await openQueue(dir, { segmentBytes: 4096 });
    await queue.append(range(0, 10).map((n) => record(n)));
    await queue.append(range(10, 25).map((n) => record(n)));
    expect(queue.stats()).toMatchObject({ records: 25, bytes: 25 * (400 + HEADER), droppedRecords: 0, corruptRecords: 0 });
    expect(queue.stats().segments).toBeGreaterThan(1);

    const batch = (await queue.next({ maxRecords: 100, maxBytes: 1024 * 1024 }))!;
    expect(batch.records.map(seqOf)).toEqual(range(0, 25));
    expect(batch.bytes).toBe(25 * 400);
    expect(batch.id).toMatch(BATCH_ID);
    await queue.ack(batch.id);

    expect(queue.stats()).toMatchObject({ records: 0, bytes: 0 });
    expect(await queue.next({ maxRecords: 100, maxBytes: 1024 * 1024 })).toBeUndefined();
    // Only the segment being appended to is kept.
    expect(await segmentFiles(dir)).toHaveLength(1);
    expect(queue.stats().segments).toBe(1);
  });

  it("next() honours maxRecords and maxBytes, but always hands out at least one record", async () => {
    const { queue } = await openQueue(newDir());
    await queue.append([...range(0, 10).map((n) => record(n)), record(10, 5000), record(11)]);

    const byCount = (await queue.next({ maxRecords: 3, maxBytes: 1024 * 1024 }))!;
    expect(byCount.records.map(seqOf)).toEqual([0, 1, 2]);
    await queue.ack(byCount.id);

    const byBytes = (await queue.next({ maxRecords: 100, maxBytes: 1000 }))!;
    expect(byBytes.records.map(seqOf)).toEqual([3, 4]);
    expect(byBytes.bytes).toBe(800);
    await queue.ack(byBytes.id);

    expect((await drain(queue, { maxRecords: 100, maxBytes: 2000 }))).toEqual([5, 6, 7, 8, 9, 10, 11]);
    const large = await openQueue(newDir());
    await large.queue.append([record(0, 5000), record(1)]);
    const oversized = (await large.queue.next({ maxRecords: 100, maxBytes: 1000 }))!;
    expect(oversized.records.map(seqOf)).toEqual([0]);
    expect(oversized.bytes).toBe(5000);
  });

  it("next() returns the same batch until it is acked; acks of other ids are refused, a repeated ack is harmless", async () => {
    const { queue } = await openQueue(newDir());
    await queue.append(range(0, 10).map((n) => record(n)));
    const first = (await queue.next({ maxRecords: 4, maxBytes: 1024 * 1024 }))!;
    await queue.append(range(10, 20).map((n) => record(n)));
    const again = (await queue.next({ maxRecords: 100, maxBytes: 1024 * 1024 }))!;
    expect(again.id).toBe(first.id);
    expect(again.records.map(seqOf)).toEqual([0, 1, 2, 3]);

    await expect(queue.ack("someone-else:1.0-1.8")).rejects.toThrow(/cannot ack batch someone-else.*in flight is/);
    await queue.ack(first.id);
    await queue.ack(first.id);
    const following = (await queue.next({ maxRecords: 100, maxBytes: 1024 * 1024 }))!;
    expect(following.id).not.toBe(first.id);
    expect(following.records.map(seqOf)).toEqual(range(4, 20));
  });

  it("batch ids are well-formed and never repeat, also across reopens", async () => {
    const dir = newDir();
    const ids: string[] = [];
    for (let round = 0; round < 3; round++) {
      const { queue } = await openQueue(dir, { segmentBytes: 2048 });
      await queue.append(range(0, 12).map((n) => record(round * 100 + n)));
      for (let batch = await queue.next({ maxRecords: 5, maxBytes: 1e6 }); batch; batch = await queue.next({ maxRecords: 5, maxBytes: 1e6 })) {
        ids.push(batch.id);
        await queue.ack(batch.id);
      }
      await queue.close();
    }
    expect(ids).toHaveLength(9);
    for (const id of ids) expect(id).toMatch(BATCH_ID);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("appends that run concurrently are all stored, in call order", async () => {
    const { queue } = await openQueue(newDir(), { segmentBytes: 64 * 1024 });
    await Promise.all(range(0, 400).map((n) => queue.append([record(2 * n), record(2 * n + 1)])));
    expect(queue.stats().records).toBe(800);
    expect(await drain(queue, { maxRecords: 250, maxBytes: 1024 * 1024 })).toEqual(range(0, 800));
  });

  it("waitForData resolves when a record arrives, on timeout, and on close", async () => {
    const { queue } = await openQueue(newDir());
    await queue.waitForData(1); // empty: the timeout ends it
    const waiting = queue.waitForData(60_000);
    await queue.append([record(1)]);
    await waiting;
    expect(queue.stats().records).toBe(1);
    await queue.waitForData(60_000); // data present: at once

    const empty = await openQueue(newDir());
    const onClose = empty.queue.waitForData(60_000);
    await empty.queue.close();
    await onClose;
  });
});

describe("disk queue: restarts", () => {
  it("reopening keeps unacked records and the batch in flight with its id, whatever the new limits", async () => {
    const dir = newDir();
    const first = await openQueue(dir, { segmentBytes: 4096 });
    await first.queue.append(range(0, 50).map((n) => record(n)));
    const acked = (await first.queue.next({ maxRecords: 5, maxBytes: 1e6 }))!;
    await first.queue.ack(acked.id);
    const inFlight = (await first.queue.next({ maxRecords: 20, maxBytes: 1e6 }))!;
    expect(inFlight.records.map(seqOf)).toEqual(range(5, 25));
    await first.queue.close();

    const second = await openQueue(dir, { segmentBytes: 4096 });
    expect(second.queue.stats()).toMatchObject({ records: 45, bytes: 45 * 408, corruptRecords: 0 });
    const resent = (await second.queue.next({ maxRecords: 3, maxBytes: 100 }))!;
    expect(resent.id).toBe(inFlight.id);
    expect(resent.records.map(seqOf)).toEqual(range(5, 25));
    expect(resent.bytes).toBe(inFlight.bytes);
    await second.queue.ack(resent.id);
    await second.queue.append([record(50)]);
    await second.queue.close();

    const third = await openQueue(dir, { segmentBytes: 4096 });
    expect(await drain(third.queue)).toEqual(range(25, 51));
    expect(third.logs.filter((line) => line.level !== "info")).toEqual([]);
  });

  it("a missing cursor file replays from the oldest segment (at least once) with a warning and a new queue id", async () => {
    const dir = newDir();
    const first = await openQueue(dir);
    await first.queue.append(range(0, 10).map((n) => record(n)));
    const batch = (await first.queue.next({ maxRecords: 4, maxBytes: 1e6 }))!;
    await first.queue.ack(batch.id);
    await first.queue.close();
    await unlink(join(dir, "cursor.json"));

    const second = await openQueue(dir);
    expect(second.logs.some((line) => line.level === "warn" && /cursor/.test(line.message ?? ""))).toBe(true);
    const replayed = (await second.queue.next({ maxRecords: 4, maxBytes: 1e6 }))!;
    expect(replayed.records.map(seqOf)).toEqual([0, 1, 2, 3]);
    expect(replayed.id.split(":")[0]).not.toBe(batch.id.split(":")[0]);
  });

  it("a corrupt cursor file is survived the same way", async () => {
    const dir = newDir();
    const first = await openQueue(dir);
    await first.queue.append(range(0, 3).map((n) => record(n)));
    await first.queue.close();
    await appendFile(join(dir, "cursor.json"), "}}garbage");
    const second = await openQueue(dir);
    expect(second.logs.some((line) => line.level === "warn" && /cursor/.test(line.message ?? ""))).toBe(true);
    expect(await drain(second.queue)).toEqual([0, 1, 2]);
  });

  it("kill -9 while appending and shipping: every acknowledged record is stored exactly once, each batch id always names the same records", async () => {
    const dir = newDir();
    /** what the "collector" stored, by batch id */
    const stored = new Map<string, number[]>();
    const acknowledged = new Set<number>();
    const store = (id: string, seqs: number[]) => {
      const known = stored.get(id);
      if (known) expect(seqs).toEqual(known); // a re-sent batch must be the very same batch
      else stored.set(id, seqs);
    };

    for (const [round, first] of [
      [0, 0],
      [1, 10_000_000],
      [2, 20_000_000],
    ] as const) {
      const child = spawn(process.execPath, ["--import", "tsx", CRASH_CHILD, dir, String(first)], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
      cleanups.push(async () => child.kill("SIGKILL"));
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
      let pending = "";
      let appendedThisRound = 0;
      let shippedThisRound = 0;
      await new Promise<void>((resolve, reject) => {
        child.on("exit", (code) => reject(new Error(`crash child exited by itself (code ${code}): ${stderr}`)));
        child.stdout.on("data", (chunk: Buffer) => {
          pending += chunk.toString();
          const lines = pending.split("\n");
          pending = lines.pop()!; // a line cut by the kill is not evidence of anything
          for (const line of lines) {
            const [kind, a, b] = line.split(" ");
            if (kind === "A") {
              for (let n = Number(a); n <= Number(b); n++) acknowledged.add(n);
              appendedThisRound += Number(b) - Number(a) + 1;
            } else if (kind === "S") {
              store(a!, b!.split(",").map(Number));
              shippedThisRound++;
            }
          }
          // Kill at a different depth each round, right after a batch was "stored": the likeliest
          // moment to catch it before its ack, so that it must be sent again with the same id.
          if (appendedThisRound >= 3000 + round * 1500 && shippedThisRound >= 5 && lines.at(-1)?.startsWith("S ")) {
            child.kill("SIGKILL");
            resolve();
          }
        });
      });
      await exited;
    }

    const { queue, logs } = await openQueue(dir, { segmentBytes: 64 * 1024 });
    for (let batch = await queue.next({ maxRecords: 500, maxBytes: 1e6 }); batch; batch = await queue.next({ maxRecords: 500, maxBytes: 1e6 })) {
      store(batch.id, batch.records.map(seqOf));
      await queue.ack(batch.id);
    }
    expect(logs.filter((line) => line.level === "error")).toEqual([]);

    const count = new Map<number, number>();
    for (const seqs of stored.values()) for (const n of seqs) count.set(n, (count.get(n) ?? 0) + 1);
    expect([...count.entries()].filter(([, times]) => times > 1)).toEqual([]);
    const missing = [...acknowledged].filter((n) => !count.has(n));
    expect(missing).toEqual([]);
    expect(acknowledged.size).toBeGreaterThan(10_000);
  }, 120_000);
});

describe("disk queue: damaged files", () => {
  const tails = [
    { name: "a record cut short", cut: 100, garbage: Buffer.alloc(0), reason: "torn_record" },
    { name: "a record cut short, then garbage", cut: 100, garbage: Buffer.concat([Buffer.from("\x13\x37garbage after the tear"), Buffer.alloc(300)]), reason: "crc_mismatch" },
    // The file grew but its data never landed: zeros, which must not read as empty records.
    { name: "a tail of zeros", cut: 0, garbage: Buffer.alloc(4096), reason: "zero_length" },
  ];
  it.each(tails)("a torn tail ($name) is cut off and reported as a warning; the queue keeps working", async ({ cut, garbage, reason }) => {
    const dir = newDir();
    const first = await openQueue(dir);
    await first.queue.append(range(0, 10).map((n) => record(n)));
    await first.queue.close();
    const [segment] = await segmentFiles(dir);
    const path = join(dir, segment!);
    await truncate(path, 10 * 408 - cut);
    await appendFile(path, garbage);

    const lastGood = cut > 0 ? 9 : 10;
    const second = await openQueue(dir);
    expect(second.queue.stats()).toMatchObject({ records: lastGood, bytes: lastGood * 408, corruptRecords: 1 });
    expect(second.drops).toEqual([[1, "corrupt"]]);
    const report = second.logs.find((line) => line.fields.records_lost !== undefined)!;
    expect(report.level).toBe("warn");
    expect(report.fields).toMatchObject({ segment, offset: lastGood * 408, reason, records_lost: 1, bytes_skipped: 10 * 408 - cut + garbage.length - lastGood * 408 });
    expect((await stat(path)).size).toBe(lastGood * 408);

    await second.queue.append([record(10), record(11)]);
    expect(await drain(second.queue)).toEqual([...range(0, lastGood), 10, 11]);
    await second.queue.close();

    const third = await openQueue(dir);
    expect(third.queue.stats().corruptRecords).toBe(0);
    expect(third.drops).toEqual([]);
  });

  it("a segment file deleted under the running queue is counted as lost, not retried forever; the queue goes on", async () => {
    const dir = newDir();
    const opened = await openQueue(dir, { segmentBytes: 10 * 408 });
    await opened.queue.append(range(0, 25).map((n) => record(n)));
    const [oldest] = await segmentFiles(dir);
    await unlink(join(dir, oldest!));
    // The oldest segment's 10 records are gone; the next batch comes from the next segment.
    expect(await drain(opened.queue)).toEqual(range(10, 25));
    expect(opened.drops).toEqual([[10, "corrupt"]]);
    expect(opened.logs.some((line) => line.level === "error" && line.fields.records_lost === 10)).toBe(true);
    expect(opened.queue.stats()).toMatchObject({ records: 0, corruptRecords: 10 });
    await opened.queue.append([record(30)]);
    expect(await drain(opened.queue)).toEqual([30]);
    await opened.queue.close();
  });

  it("a bad checksum mid-segment loses that record and the rest of its segment, reported with a count; other segments are kept", async () => {
    const dir = newDir();
    const first = await openQueue(dir, { segmentBytes: 10 * 408 });
    await first.queue.append(range(0, 30).map((n) => record(n)));
    await first.queue.close();
    const files = await segmentFiles(dir);
    expect(files).toHaveLength(3);
    await flipByte(join(dir, files[1]!), 4 * 408 + HEADER + 100); // payload of record 14

    const second = await openQueue(dir, { segmentBytes: 10 * 408 });
    expect(second.queue.stats()).toMatchObject({ records: 24, corruptRecords: 6 });
    expect(second.drops).toEqual([[6, "corrupt"]]);
    const report = second.logs.find((line) => line.fields.records_lost !== undefined)!;
    expect(report.level).toBe("error");
    expect(report.fields).toMatchObject({ segment: files[1], offset: 4 * 408, reason: "crc_mismatch", records_lost: 6, bytes_skipped: 6 * 408 });
    expect(await drain(second.queue)).toEqual([...range(0, 14), ...range(20, 30)]);
  });

  it("a garbled length mid-segment is reported, never thrown", async () => {
    const dir = newDir();
    const first = await openQueue(dir, { segmentBytes: 10 * 408 });
    await first.queue.append(range(0, 20).map((n) => record(n)));
    await first.queue.close();
    const files = await segmentFiles(dir);
    const handle = await open(join(dir, files[0]!), "r+");
    await handle.write(Buffer.from([0x7f, 0xff, 0xff, 0xff]), 0, 4, 3 * 408); // record 3 claims 2 GiB
    await handle.close();

    const second = await openQueue(dir, { segmentBytes: 10 * 408 });
    expect(second.queue.stats()).toMatchObject({ records: 13, corruptRecords: 1 });
    expect(await drain(second.queue)).toEqual([0, 1, 2, ...range(10, 20)]);
  });

  it("corruption that appears while the queue is open is cut off when next() meets it", async () => {
    const dir = newDir();
    const { queue, drops } = await openQueue(dir, { segmentBytes: 10 * 408 });
    await queue.append(range(0, 30).map((n) => record(n)));
    const files = await segmentFiles(dir);
    await flipByte(join(dir, files[1]!), 7 * 408 + HEADER + 5); // record 17

    const batch = (await queue.next({ maxRecords: 100, maxBytes: 1e6 }))!;
    expect(batch.records.map(seqOf)).toEqual([...range(0, 17), ...range(20, 30)]);
    expect(drops).toEqual([[3, "corrupt"]]);
    expect(queue.stats()).toMatchObject({ records: 27, corruptRecords: 3 });
    await queue.ack(batch.id);
    await queue.append([record(30)]);
    expect(await drain(queue)).toEqual([30]);
  });
});

describe("disk queue: bounded size", () => {
  const recordBytes = 1000 + HEADER;

  it('policy "block": a full queue holds appends back, in order, until an ack makes room', async () => {
    const { queue } = await openQueue(newDir(), { maxBytes: 10 * recordBytes, policy: "block" });
    await queue.append(range(0, 10).map((n) => record(n, 1000)));
    expect(queue.stats().bytes).toBe(10 * recordBytes);

    const blocked = queue.append([record(10, 1000)]);
    const behind = queue.append([record(11, 1000)]);
    const blockedState = settledFlag(blocked);
    const behindState = settledFlag(behind);
    const batch = (await queue.next({ maxRecords: 1, maxBytes: 1e6 }))!;
    expect(blockedState.settled).toBe(false);
    expect(queue.stats().records).toBe(10);

    await queue.ack(batch.id);
    await blocked;
    expect(behindState.settled).toBe(false);
    const second = (await queue.next({ maxRecords: 1, maxBytes: 1e6 }))!;
    await queue.ack(second.id);
    await behind;
    expect(await drain(queue)).toEqual(range(2, 12));
    expect(queue.stats().droppedRecords).toBe(0);
  });

  it('policy "block": close() rejects appends still waiting for room', async () => {
    const { queue } = await openQueue(newDir(), { maxBytes: 2 * recordBytes, policy: "block" });
    await queue.append([record(0, 1000), record(1, 1000)]);
    const refused = expect(queue.append([record(2, 1000)])).rejects.toThrow(/closed/);
    await queue.close();
    await refused;
  });

  it('policy "drop_oldest": old segments make way, every dropped record is counted and logged, the newest are kept', async () => {
    const maxBytes = 40 * recordBytes;
    const { queue, drops, logs } = await openQueue(newDir(), { maxBytes, segmentBytes: 10 * recordBytes, policy: "drop_oldest" });
    for (let n = 0; n < 200; n += 5) await queue.append(range(n, n + 5).map((i) => record(i, 1000)));

    const stats = queue.stats();
    expect(stats.bytes).toBeLessThanOrEqual(maxBytes);
    expect(stats.droppedRecords).toBe(200 - stats.records);
    expect(drops.every(([, reason]) => reason === "queue_full")).toBe(true);
    expect(drops.reduce((sum, [records]) => sum + records, 0)).toBe(stats.droppedRecords);
    expect(logs.filter((line) => line.level === "warn" && /dropped/.test(line.message ?? "")).reduce((sum, line) => sum + (line.fields.records as number), 0)).toBe(stats.droppedRecords);

    const kept = await drain(queue);
    expect(kept).toEqual(range(200 - kept.length, 200));
    expect(kept.length).toBeGreaterThanOrEqual(30);
  });

  it('policy "drop_oldest": the batch in flight is never dropped', async () => {
    const { queue, drops } = await openQueue(newDir(), { maxBytes: 40 * recordBytes, segmentBytes: 10 * recordBytes, policy: "drop_oldest" });
    await queue.append(range(0, 10).map((n) => record(n, 1000)));
    const inFlight = (await queue.next({ maxRecords: 4, maxBytes: 1e6 }))!;
    for (let n = 10; n < 150; n += 5) await queue.append(range(n, n + 5).map((i) => record(i, 1000)));
    expect(drops.length).toBeGreaterThan(0);

    const again = (await queue.next({ maxRecords: 100, maxBytes: 1e6 }))!;
    expect(again.id).toBe(inFlight.id);
    expect(again.records.map(seqOf)).toEqual([0, 1, 2, 3]);
    await queue.ack(inFlight.id);
    const rest = await drain(queue);
    // The rest of the in-flight batch's segment was kept with it; whole later segments went.
    expect(rest.slice(0, 6)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(rest.at(-1)).toBe(149);
    expect(4 + rest.length + queue.stats().droppedRecords).toBe(150);
  });

  it('policy "drop_oldest": when only the batch in flight is left to drop, appends wait for its ack (or close)', async () => {
    const options = { maxBytes: 10 * recordBytes, segmentBytes: 10 * recordBytes, policy: "drop_oldest" } as const;
    async function fullWithEverythingInFlight() {
      const opened = await openQueue(newDir(), options);
      await opened.queue.append(range(0, 5).map((n) => record(n, 1000)));
      const inFlight = (await opened.queue.next({ maxRecords: 5, maxBytes: 1e6 }))!;
      await opened.queue.append(range(5, 10).map((n) => record(n, 1000)));
      const waiting = opened.queue.append([record(10, 1000)]);
      const waitingState = settledFlag(waiting);
      // The writer reaches its wait without any I/O, so one turn of the event loop is enough.
      await new Promise((resolve) => setImmediate(resolve));
      return { ...opened, inFlight, waiting, waitingState };
    }

    const { queue, logs, inFlight, waiting, waitingState } = await fullWithEverythingInFlight();
    expect(waitingState.settled).toBe(false);
    expect(logs.some((line) => line.level === "warn" && /only the batch in flight/.test(line.message ?? ""))).toBe(true);
    await queue.ack(inFlight.id);
    await waiting;
    expect(queue.stats()).toMatchObject({ records: 6, droppedRecords: 0 });
    expect(await drain(queue)).toEqual(range(5, 11));

    const closing = await fullWithEverythingInFlight();
    const refused = expect(closing.waiting).rejects.toThrow(/closed/);
    await closing.queue.close();
    await refused;
  });

  it("an append larger than maxBytes is refused with a clear message; invalid records too", async () => {
    const { queue } = await openQueue(newDir(), { maxBytes: 4096 });
    await expect(queue.append([record(0, 5000)])).rejects.toThrow(/5008 bytes.*larger than the queue's maxBytes \(4096\)/);
    await expect(queue.append([Buffer.alloc(0)])).rejects.toThrow(/must not be empty/);
    await expect(queue.append(["text" as unknown as Buffer])).rejects.toThrow(/Buffers/);
    await queue.append([record(1)]);
    expect(await drain(queue)).toEqual([1]);
  });

  it("bad options are refused, naming each problem", async () => {
    await expect(openDiskQueue({ dir: newDir(), maxBytes: 0, policy: "sometimes" as "block" })).rejects.toThrow(/maxBytes must be an integer.*policy must be "block" or "drop_oldest"/);
  });
});

describe("disk queue: close", () => {
  it("close() is safe twice; afterwards appends, next and ack reject, stats still answer", async () => {
    const { queue } = await openQueue(newDir());
    await queue.append([record(0)]);
    await Promise.all([queue.close(), queue.close()]);
    await queue.close();
    await expect(queue.append([record(1)])).rejects.toThrow(/closed/);
    await expect(queue.next({ maxRecords: 1, maxBytes: 1e6 })).rejects.toThrow(/closed/);
    await expect(queue.ack("x:1.0-1.8")).rejects.toThrow(/closed/);
    expect(queue.stats().records).toBe(1);
  });

  it("appends accepted before close() are written, not lost", async () => {
    const dir = newDir();
    const first = await openQueue(dir);
    const appends = range(0, 20).map((n) => first.queue.append([record(n)]));
    await first.queue.close();
    await Promise.all(appends);
    const second = await openQueue(dir);
    expect(await drain(second.queue)).toEqual(range(0, 20));
  });
});

async function flipByte(path: string, offset: number): Promise<void> {
  const handle = await open(path, "r+");
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, offset);
    byte[0] = byte[0]! ^ 0xff;
    await handle.write(byte, 0, 1, offset);
  } finally {
    await handle.close();
  }
}
