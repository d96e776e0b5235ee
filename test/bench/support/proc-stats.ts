/** Resident memory and CPU time of a child process, read from Linux's /proc. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** /proc/<pid>/stat counts CPU time in clock ticks (USER_HZ); 100 unless getconf says otherwise. */
const CLOCK_TICKS_PER_S = (() => {
  try {
    const ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

const RSS_SAMPLE_MS = 100;

export function procStatusKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) : 0;
}

/** User + system CPU seconds the process has used so far. */
export function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

/**
 * Samples a process's resident memory while it works. VmHWM (the kernel's own high-water
 * mark) catches peaks between samples; the samples are a check on it. Read peakMb() while
 * the process is still alive.
 */
export function sampleRss(pid: number): { peakMb(): number; stop(): void } {
  let peakKb = 0;
  const timer = setInterval(() => {
    try {
      peakKb = Math.max(peakKb, procStatusKb(pid, "VmRSS"));
    } catch {
      // The process is gone; the run fails on its next request and says why.
    }
  }, RSS_SAMPLE_MS);
  return {
    peakMb: () => Math.max(peakKb, procStatusKb(pid, "VmHWM")) / 1024,
    stop: () => clearInterval(timer),
  };
}
