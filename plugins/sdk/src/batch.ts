import { checkEvent, type VigilEvent } from "./event.js";
import { MAX_EVENTS_PER_BATCH } from "./limits.js";

/**
 * The batch format of `POST /v1/events`: a JSON array of events, or NDJSON (one event
 * per line), optionally gzip-compressed (`Content-Encoding: gzip`). The header below
 * names the batch; it must stay the same across retries so the collector stores the
 * batch once.
 */
export const BATCH_ID_HEADER = "vigil-batch-id";
export const BATCH_ID_PATTERN = /^[A-Za-z0-9._:-]{8,128}$/;
export const NDJSON_CONTENT_TYPE = "application/x-ndjson";

export class BatchFormatError extends Error {
  constructor(
    message: string,
    /** 1-based line of NDJSON input, when the problem is on one line. */
    readonly line?: number,
  ) {
    super(message);
    this.name = "BatchFormatError";
  }
}

/**
 * Splits a batch body into raw (not yet validated) events. A body that starts with `[`
 * is a JSON array; anything else is NDJSON, where blank lines are ignored.
 */
export function parseBatchText(text: string): unknown[] {
  const trimmed = text.trimStart();
  if (trimmed.length === 0) throw new BatchFormatError("the body is empty: send a JSON array or NDJSON lines of events");
  let items: unknown[];
  if (trimmed.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new BatchFormatError(`the body is not valid JSON: ${(error as Error).message}`);
    }
    if (!Array.isArray(parsed)) throw new BatchFormatError("the body must be a JSON array of events");
    items = parsed;
  } else {
    items = [];
    const lines = trimmed.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line.length === 0) continue;
      try {
        items.push(JSON.parse(line));
      } catch (error) {
        throw new BatchFormatError(`line ${i + 1} is not valid JSON: ${(error as Error).message}`, i + 1);
      }
      if (items.length > MAX_EVENTS_PER_BATCH) break;
    }
  }
  if (items.length === 0) throw new BatchFormatError("the batch holds no events");
  return items;
}

export interface BatchProblem {
  /** Position of the event in the batch, from 0. */
  index: number;
  path: string;
  message: string;
}

const MAX_REPORTED_PROBLEMS = 100;

/**
 * Validates every event of a batch. A batch is all or nothing, so the caller stores the
 * events only when `invalid` is 0; `problems` (at most 100) say what to fix.
 */
export function validateBatch(items: unknown[]): { events: VigilEvent[]; problems: BatchProblem[]; invalid: number } {
  const events: VigilEvent[] = [];
  const problems: BatchProblem[] = [];
  let invalid = 0;
  items.forEach((item, index) => {
    const checked = checkEvent(item);
    if (checked.ok) {
      events.push(checked.event);
      return;
    }
    invalid++;
    for (const problem of checked.problems) {
      if (problems.length < MAX_REPORTED_PROBLEMS) problems.push({ index, ...problem });
    }
  });
  return { events, problems, invalid };
}

/** The one-line answer to a refused batch: how many events are wrong, the first problem, what to do. */
export function describeInvalidBatch(invalid: number, total: number, first: BatchProblem): string {
  return `${invalid} of ${total} events are invalid, so the batch was not stored; first: event ${first.index}${first.path ? ` ${first.path}` : ""}: ${first.message}. Fix the events listed in details and resend the batch`;
}
