import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A real, small filesystem (tmpfs) for tests that need storage to run out of space:
 * `fill()` takes all its free space, `free()` gives it back. Call `fill()` again to take
 * space the engine freed meanwhile (a merge that finished removes its source parts).
 * Mounting needs root, which the test machines and CI run as.
 */
export function mountSmallDisk(megabytes: number): { path: string; fill(): void; free(): void; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), "vigil-small-disk-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${megabytes}m`, "tmpfs", path]);
  const fillers: string[] = [];
  return {
    path,
    fill() {
      // A new file each time, written until the disk refuses (dd stops at ENOSPC).
      const filler = join(path, `filler-${fillers.length}`);
      fillers.push(filler);
      execFileSync("sh", ["-c", `dd if=/dev/zero of=${filler} bs=64k count=${megabytes * 16} 2>/dev/null || true`]);
    },
    free() {
      for (const filler of fillers.splice(0)) rmSync(filler, { force: true });
    },
    remove() {
      try {
        execFileSync("umount", ["-l", path]);
      } finally {
        rmSync(path, { recursive: true, force: true });
      }
    },
  };
}
