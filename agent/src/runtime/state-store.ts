import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileDurably, type PluginStore } from "@vigil/plugin-sdk";

/**
 * A plugin's persistent key-value state: one JSON file, replaced atomically (write a
 * temporary file, fsync, rename), so a crash leaves either the old or the new state,
 * never half of one. Writes are serialized; reads come from memory.
 */
export async function openStateStore(dir: string): Promise<PluginStore> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, "state.json");
  let data: Record<string, unknown> = {};
  try {
    data = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") data = {}; // unreadable state starts fresh rather than crash-looping
  }
  let writing: Promise<void> = Promise.resolve();

  function persist(): Promise<void> {
    const snapshot = JSON.stringify(data);
    // A failed write must not poison every later one.
    writing = writing.catch(() => undefined).then(() => writeFileDurably(file, snapshot));
    return writing;
  }

  return {
    get<T>(key: string): T | undefined {
      return data[key] as T | undefined;
    },
    set(key: string, value: unknown) {
      data[key] = value;
      return persist();
    },
    delete(key: string) {
      delete data[key];
      return persist();
    },
  };
}
