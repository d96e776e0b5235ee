/**
 * What every benchmark needs so a failed, overrunning or interrupted run leaves nothing
 * behind: on any exit (SIGINT/SIGTERM included) every child process still running is
 * SIGKILLed and the registered cleanups run; and deadlines on every wait.
 */
import { readdirSync, readFileSync } from "node:fs";

const cleanups = new Set<() => void>();
let installed = false;

/**
 * The pids of this process's own children still running (from /proc/self/task/<tid>/children).
 * Catches a child a helper started but could not hand back, e.g. an agent that never logged
 * "agent running" before startAgentProcess gave up on it.
 */
function ownChildren(): number[] {
  const pids: number[] = [];
  try {
    for (const task of readdirSync("/proc/self/task")) {
      try {
        for (const pid of readFileSync(`/proc/self/task/${task}/children`, "utf8").trim().split(/\s+/)) if (pid) pids.push(Number(pid));
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    // no /proc: the registered cleanups are all there is
  }
  return pids;
}

/** Dead or gone: a SIGKILLed child stays a zombie ("Z") until it is reaped, but runs no more code. */
function ended(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return true;
  }
}

const EXIT_KILL_WAIT_MS = 3_000;

/**
 * On exit: SIGKILL every child still running and wait (briefly, synchronously) until they
 * are dead, so none still writes into a data dir while the cleanups delete it; then the
 * cleanups.
 */
function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", () => {
    const children = ownChildren();
    for (const pid of children) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    const until = Date.now() + EXIT_KILL_WAIT_MS;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    while (Date.now() < until && !children.every(ended)) Atomics.wait(nap, 0, 0, 20);
    for (const cleanup of cleanups) {
      try {
        cleanup();
      } catch {
        // the others still run
      }
    }
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));
}

/** Runs `cleanup` (synchronous: it runs inside the exit handler) on any exit; returns the function that unregisters it. */
export function onExit(cleanup: () => void): () => void {
  install();
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** Fails with a clear message instead of hanging when `promise` outlives the deadline. */
export async function beforeDeadline<T>(promise: Promise<T>, deadline: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: deadline passed`)), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

export function checkDeadline(deadline: number, what: string): void {
  if (Date.now() > deadline) throw new Error(`${what}: deadline passed`);
}

/** SIGTERM and wait up to graceMs for a clean exit, else SIGKILL (as test/support's process handles do). */
export async function stopWithin(proc: { stop(): Promise<unknown>; kill(): Promise<void> }, graceMs: number, what: string): Promise<void> {
  try {
    await beforeDeadline(proc.stop(), Date.now() + graceMs, `${what} shutdown`);
  } catch {
    await proc.kill();
  }
}

/** What a failed run's error adds about the processes it started: their stderr and last log lines. */
export function processDetails(agent?: { stderr(): string; logs: readonly unknown[] }, collector?: { stderr(): string }): string {
  const agentLogs = agent ? `\nagent stderr:\n${agent.stderr()}\nlast agent logs:\n${agent.logs.slice(-10).map((l) => JSON.stringify(l)).join("\n")}` : "";
  const collectorLogs = collector?.stderr() ? `\ncollector stderr:\n${collector.stderr()}` : "";
  return agentLogs + collectorLogs;
}
