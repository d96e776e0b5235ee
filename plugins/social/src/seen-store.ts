import { createHash } from "node:crypto";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileDurably } from "@vigil/plugin-sdk";

/**
 * Which items each job has already reported, so "new" means new across restarts. One
 * append-only file per job under `dir` (one JSON string per line, oldest first): adding ids
 * appends and fsyncs them, and when the file holds more than twice `limit` lines it is
 * rewritten with the newest `limit` (temporary file, fsync, rename). A torn last line (a
 * crash mid-append) is ignored when read: those items count as new again, which repeats
 * them rather than losing them. A job's file is read on its first use.
 */
export interface SeenStore {
  /** The ids of `ids` this job has not reported yet, each once, in the given order. */
  unseen(jobId: string, ids: readonly string[]): Promise<string[]>;
  /** Remembers ids as reported (oldest first, so the newest are kept longest); resolves once on disk. */
  add(jobId: string, ids: readonly string[]): Promise<void>;
  /** Forgets a job (it was deleted). */
  forget(jobId: string): Promise<void>;
}

interface JobSet {
  ids: Set<string>;
  /** Lines in the file, including ids evicted from memory since the last rewrite. */
  lines: number;
  /** The file ends in a torn line: the next append starts on a new line. */
  torn: boolean;
}

/** A job id as a file name: itself when it is safe, else its hash. */
function fileNameOf(jobId: string): string {
  return /^[A-Za-z0-9_-]{1,100}$/.test(jobId) ? `${jobId}.jsonl` : `h-${createHash("sha256").update(jobId).digest("hex").slice(0, 32)}.jsonl`;
}

export async function openSeenStore(dir: string, limit: () => number): Promise<SeenStore> {
  await mkdir(dir, { recursive: true });
  const sets = new Map<string, Promise<JobSet>>();
  /** Writes of one job happen one after another. */
  const chains = new Map<string, Promise<unknown>>();

  function serialize<T>(jobId: string, work: () => Promise<T>): Promise<T> {
    const previous = chains.get(jobId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    chains.set(jobId, next);
    void next.finally(() => {
      if (chains.get(jobId) === next) chains.delete(jobId);
    }).catch(() => undefined);
    return next;
  }

  function trim(set: Set<string>): void {
    let excess = set.size - limit();
    for (const id of set) {
      if (excess-- <= 0) break;
      set.delete(id);
    }
  }

  async function load(jobId: string): Promise<JobSet> {
    let text = "";
    try {
      text = await readFile(join(dir, fileNameOf(jobId)), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    const ids = new Set<string>();
    let lines = 0;
    // Only newline-terminated lines count: a torn tail is dropped.
    const complete = text.slice(0, text.lastIndexOf("\n") + 1);
    for (const line of complete.split("\n")) {
      if (!line) continue;
      lines++;
      try {
        const id = JSON.parse(line) as unknown;
        if (typeof id !== "string") continue;
        ids.delete(id);
        ids.add(id);
      } catch {
        // a damaged line: its item may be reported again
      }
    }
    trim(ids);
    return { ids, lines, torn: complete.length < text.length };
  }

  function setOf(jobId: string): Promise<JobSet> {
    let set = sets.get(jobId);
    if (!set) {
      set = load(jobId);
      sets.set(jobId, set);
      set.catch(() => sets.delete(jobId));
    }
    return set;
  }

  async function rewrite(jobId: string, set: JobSet): Promise<void> {
    await writeFileDurably(join(dir, fileNameOf(jobId)), [...set.ids].map((id) => `${JSON.stringify(id)}\n`).join(""));
    set.lines = set.ids.size;
    set.torn = false;
  }

  return {
    async unseen(jobId, ids) {
      const { ids: seen } = await setOf(jobId);
      const fresh = new Set<string>();
      for (const id of ids) if (!seen.has(id)) fresh.add(id);
      return [...fresh];
    },
    add(jobId, ids) {
      if (ids.length === 0) return Promise.resolve();
      return serialize(jobId, async () => {
        const set = await setOf(jobId);
        const handle = await open(join(dir, fileNameOf(jobId)), "a");
        try {
          await handle.write(`${set.torn ? "\n" : ""}${ids.map((id) => `${JSON.stringify(id)}\n`).join("")}`);
          await handle.datasync();
        } finally {
          await handle.close();
        }
        for (const id of ids) {
          set.ids.delete(id);
          set.ids.add(id);
        }
        set.torn = false;
        set.lines += ids.length;
        trim(set.ids);
        if (set.lines > 2 * limit()) await rewrite(jobId, set);
      });
    },
    forget(jobId) {
      return serialize(jobId, async () => {
        sets.delete(jobId);
        await rm(join(dir, fileNameOf(jobId)), { force: true });
      });
    },
  };
}
