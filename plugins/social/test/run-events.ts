import { expect } from "vitest";
import { uuidv7 } from "@vigil/plugin-sdk";
import { RUN_EVENT, SOURCE, type RunAttrs } from "../src/contract.js";
import type { startInProcess } from "../../../test/support/in-process.js";

type Env = Awaited<ReturnType<typeof startInProcess>>;

/** A `social.run` event as the agent part sends it: one at the run's start (in_progress), one at its end. */
export function runEvent(attrs: Pick<RunAttrs, "job_id" | "run_id" | "status" | "start_time"> & Partial<RunAttrs>) {
  const full: RunAttrs = {
    job_name: "",
    platform: "youtube",
    end_time: 0,
    items_found: 0,
    items_processed: 0,
    new_items_downloaded: 0,
    error_message: "",
    trigger: "schedule",
    scheduled_at: attrs.start_time,
    ...attrs,
  };
  return { id: uuidv7(), ts: full.end_time || full.start_time, source: SOURCE, type: RUN_EVENT, attrs: { ...full } };
}

/** Posts events to the collector's ingest, as an agent would, and waits for them to be stored (202). */
export async function ingest(env: Env, events: object[], token?: string): Promise<void> {
  const res = await env.request("POST", "/v1/events", { ...(token ? { token } : {}), body: events, headers: { "vigil-batch-id": uuidv7() } });
  expect(res.status, res.text).toBe(202);
}

/** A job body the collector accepts; `overrides` change or add fields. */
export function jobBody(overrides: Record<string, unknown> = {}) {
  return {
    name: "Fireship uploads",
    platform: "youtube",
    target_url: "https://www.youtube.com/channel/UCsBjURrPoezykLs9EqgamOA",
    target_type: "channel",
    ...overrides,
  };
}
