// What the adapter tests share: an AdapterContext as the agent builds it, with the agent's
// real HTTP client, and a way to catch the PlatformError a run fails with.
import type { Logger } from "@vigil/plugin-sdk";
import { expect } from "vitest";
import { createHttpClient } from "../../../agent/src/runtime/http-client.js";
import { PlatformError, type AdapterContext } from "../src/contract.js";

export interface TestContextOptions extends Partial<Omit<AdapterContext, "deadline" | "signal">> {
  /** The run's deadline, from now; its signal aborts then, as the agent's does. */
  deadlineMs?: number;
}

export interface TestContext extends AdapterContext {
  /** What the adapter logged at warn level. */
  warnings: string[];
}

export function testContext(options: TestContextOptions = {}): TestContext {
  const { deadlineMs = 20_000, ...rest } = options;
  const warnings: string[] = [];
  const log: Logger = { debug() {}, info() {}, warn: (obj, msg) => void warnings.push(msg ?? String(obj)), error() {} };
  return {
    http: createHttpClient({ userAgent: "vigil-agent/0.0.0-test" }),
    log,
    signal: AbortSignal.timeout(deadlineMs),
    deadline: Date.now() + deadlineMs,
    maxItems: 50,
    warnings,
    ...rest,
  };
}

/** The PlatformError `run` fails with; fails the test when it resolves or throws anything else. */
export async function failure(run: Promise<unknown>): Promise<PlatformError> {
  const outcome = await run.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!("error" in outcome)) throw new Error(`expected a PlatformError, got ${JSON.stringify(outcome.value).slice(0, 200)}`);
  expect(outcome.error).toBeInstanceOf(PlatformError);
  return outcome.error as PlatformError;
}
