/**
 * `pnpm bench`: runs every `test/bench/*.ts` benchmark, one after another so they do not
 * compete for the two cores, each as its own `tsx <file>` process with its output passed
 * through. Helpers of the benchmarks live in `test/bench/support/` and are not run.
 * Exits non-zero when any benchmark failed; the others still run.
 *
 * Knob: BENCH_FILE_TIMEOUT_S (3600) bounds each benchmark.
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { REPO_ROOT } from "../support/collector-process.js";
import { progress } from "./support/figures.js";
import { envInt } from "./support/knobs.js";

const BENCH_DIR = join(REPO_ROOT, "test/bench");
const TSX = join(REPO_ROOT, "node_modules/.bin/tsx");
const FILE_TIMEOUT_MS = envInt("BENCH_FILE_TIMEOUT_S", 3600) * 1000;
const KILL_GRACE_MS = 30_000;

function benchFiles(): string[] {
  const self = basename(import.meta.filename);
  return readdirSync(BENCH_DIR, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts") && entry.name !== self)
    .map((entry) => join(BENCH_DIR, entry.name))
    .sort();
}

/**
 * Resolves with the exit code, or null when the bench had to be stopped. A bench that
 * overruns gets SIGTERM (so it can stop its own children), then SIGKILL.
 */
function runBench(file: string): Promise<number | null> {
  const child = spawn(TSX, [file], { cwd: REPO_ROOT, stdio: ["ignore", "inherit", "inherit"] });
  return new Promise((resolve, reject) => {
    const terminate = setTimeout(() => {
      progress(`${basename(file)}: still running after ${FILE_TIMEOUT_MS / 1000} s, stopping it`);
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS).unref();
    }, FILE_TIMEOUT_MS);
    child.once("error", (error) => {
      clearTimeout(terminate);
      reject(error);
    });
    child.once("exit", (code) => {
      clearTimeout(terminate);
      resolve(code);
    });
  });
}

async function main(): Promise<number> {
  const files = benchFiles();
  const failed: string[] = [];
  for (const file of files) {
    progress(`== ${basename(file)}`);
    const code = await runBench(file);
    if (code !== 0) failed.push(`${basename(file)} (exit ${code ?? "stopped"})`);
  }
  if (failed.length > 0) progress(`${failed.length} of ${files.length} benchmarks failed: ${failed.join(", ")}`);
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    progress(`bench runner failed: ${(error as Error)?.stack ?? String(error)}`);
    process.exit(1);
  },
);
