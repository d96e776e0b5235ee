import { open, rename } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Durable small files for the agent and its plugins (state, cursors, seen sets): what
 * they write must survive a crash whole or not at all.
 */

/** Makes a directory's entries (a created, renamed or removed file) durable. */
export async function syncDir(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch (error) {
    // Some platforms (Windows) cannot fsync a directory; there rename is already as durable as it gets.
    if (!["EISDIR", "EPERM", "EINVAL", "EBADF"].includes((error as NodeJS.ErrnoException).code ?? "")) throw error;
  } finally {
    await handle?.close();
  }
}

/** Replaces `file` atomically (temporary file, fsync, rename, fsync of the folder): a crash leaves the old content or the new, never a mix. */
export async function writeFileDurably(file: string, data: string, options: { mode?: number } = {}): Promise<void> {
  const temp = `${file}.tmp`;
  const handle = await open(temp, "w", options.mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
  await syncDir(dirname(file));
}
