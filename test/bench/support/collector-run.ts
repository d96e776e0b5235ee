import { join } from "node:path";
import { startCollectorProcess, tempDir, type CollectorProcess } from "../../support/collector-process.js";
import { onExit, stopWithin } from "./run-guard.js";

const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 30_000;

/**
 * A fresh data dir and a collector on it (started with `args`) for one run, both undone
 * however the run ends; a failure's message carries the collector's stderr.
 */
export async function withCollector<T>(prefix: string, args: string[], body: (collector: CollectorProcess, dir: string) => Promise<T>): Promise<T> {
  const dir = tempDir(prefix);
  const forgetDir = onExit(dir.remove);
  // A child still running at exit is SIGKILLed by run-guard before the dir goes.
  let collector: CollectorProcess | undefined;
  try {
    collector = await startCollectorProcess({ dataDir: join(dir.path, "collector"), args, timeoutMs: START_TIMEOUT_MS });
    const result = await body(collector, dir.path);
    await stopWithin(collector, STOP_GRACE_MS, "collector");
    return result;
  } catch (error) {
    await collector?.kill();
    const stderr = collector?.stderr() ? `\ncollector stderr:\n${collector.stderr()}` : "";
    throw new Error(`${(error as Error).message}${stderr}`, { cause: error });
  } finally {
    forgetDir();
    dir.remove();
  }
}
