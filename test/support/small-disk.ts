import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A real, small filesystem (tmpfs) for tests that need storage to run out of space:
 * `fill()` takes all its free space, `free()` gives it back. Mounting needs root, which
 * the test machines and CI run as.
 */
export function mountSmallDisk(megabytes: number): { path: string; fill(): void; free(): void; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), "vigil-small-disk-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${megabytes}m`, "tmpfs", path]);
  const filler = join(path, "filler");
  return {
    path,
    fill() {
      // fallocate takes what is left; on a tmpfs it fails at the limit after using it all.
      try {
        execFileSync("fallocate", ["-l", `${megabytes}M`, filler], { stdio: "ignore" });
      } catch {
        execFileSync("sh", ["-c", `dd if=/dev/zero of=${filler} bs=1M count=${megabytes} 2>/dev/null || true`]);
      }
    },
    free() {
      rmSync(filler, { force: true });
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
