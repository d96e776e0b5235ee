import { z } from "zod";
import {
  MAX_ATTRS_PER_EVENT,
  MAX_ATTR_KEY_LENGTH,
  MAX_ATTR_VALUE_LENGTH,
  MAX_BODY_LENGTH,
  MAX_SOURCE_LENGTH,
  MAX_TYPE_LENGTH,
} from "./limits.js";
import { UUID_PATTERN } from "./uuid.js";

export const SEVERITIES = ["debug", "info", "notice", "warning", "error", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

const SNAKE_CASE_KEY = /^[a-z][a-z0-9_.]*$/;
const SOURCE_NAME = /^[a-z][a-z0-9_-]*$/;
const EVENT_TYPE = /^[a-z][a-z0-9_-]*\.[a-z0-9_.-]+$/;

/** Accepts RFC 3339 text or epoch milliseconds; yields epoch milliseconds. */
const timestamp = z
  .union([
    z.number().int("epoch milliseconds must be a whole number").nonnegative(),
    z.iso.datetime({ offset: true, message: 'expected RFC 3339 text like "2026-11-27T10:00:00Z" or epoch milliseconds' }),
  ])
  .transform((value) => (typeof value === "number" ? value : Date.parse(value)));

const attrValue = z.union(
  [
  z.string().max(MAX_ATTR_VALUE_LENGTH, `attribute values are limited to ${MAX_ATTR_VALUE_LENGTH} characters (MAX_ATTR_VALUE_LENGTH)`),
  z.number().refine(Number.isFinite, "attribute numbers must be finite"),
  z.boolean(),
  ],
  { error: "attribute values are strings, numbers or booleans (nest nothing: flatten objects into snake_case keys)" },
);

const attrs = z
  .record(z.string(), attrValue, { error: "attrs must be a flat object of string, number or boolean values" })
  .superRefine((value, ctx) => {
    const keys = Object.keys(value);
    if (keys.length > MAX_ATTRS_PER_EVENT) {
      ctx.addIssue({ code: "custom", message: `an event may carry at most ${MAX_ATTRS_PER_EVENT} attributes (MAX_ATTRS_PER_EVENT); it has ${keys.length}` });
    }
    for (const key of keys) {
      if (key.length > MAX_ATTR_KEY_LENGTH) {
        ctx.addIssue({ code: "custom", path: [key], message: `attribute keys are limited to ${MAX_ATTR_KEY_LENGTH} characters (MAX_ATTR_KEY_LENGTH)` });
      } else if (!SNAKE_CASE_KEY.test(key)) {
        ctx.addIssue({ code: "custom", path: [key], message: "attribute keys are snake_case: lower-case letters, digits, '_' and '.', starting with a letter" });
      }
    }
  });

/**
 * The event, as any producer sends it. This is the only definition of the event in
 * Vigil: agents, the collector and in-app SDKs all import it.
 * `tenant` and `agent` are deliberately absent: the collector derives them from the
 * credential that sent the batch.
 */
export const eventSchema = z
  .object({
    id: z.string().regex(UUID_PATTERN, "id must be a UUID (UUIDv7 recommended)"),
    ts: timestamp,
    source: z
      .string()
      .min(1)
      .max(MAX_SOURCE_LENGTH, `source is limited to ${MAX_SOURCE_LENGTH} characters (MAX_SOURCE_LENGTH)`)
      .regex(SOURCE_NAME, "source is a plugin name: lower-case letters, digits, '_' or '-'"),
    type: z
      .string()
      .max(MAX_TYPE_LENGTH, `type is limited to ${MAX_TYPE_LENGTH} characters (MAX_TYPE_LENGTH)`)
      .regex(EVENT_TYPE, 'type is "<source>.<noun>", e.g. "reddit.mention"'),
    severity: z
      .enum(SEVERITIES, { error: `severity must be one of ${SEVERITIES.join(", ")}` })
      .default("info"),
    attrs: attrs.default({}),
    body: z.string().max(MAX_BODY_LENGTH, `body is limited to ${MAX_BODY_LENGTH} characters (MAX_BODY_LENGTH)`).optional(),
  })
  .strict();

/** An event as a producer writes it (defaults not yet applied). */
export type EventInput = z.input<typeof eventSchema>;
/** An event after validation: `ts` in epoch ms, defaults applied. */
export type VigilEvent = z.output<typeof eventSchema>;
export type AttrValue = z.output<typeof attrValue>;

export interface EventProblem {
  /** Dotted path inside the event, e.g. `attrs.user_id`. Empty for the event itself. */
  path: string;
  message: string;
}

export type EventCheck = { ok: true; event: VigilEvent } | { ok: false; problems: EventProblem[] };

const SEVERITY_SET: ReadonlySet<string> = new Set(SEVERITIES);
const EVENT_KEYS: ReadonlySet<string> = new Set(["id", "ts", "source", "type", "severity", "attrs", "body"]);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The common case without zod: an event that is plainly valid, with a numeric `ts` (what
 * agents ship). It accepts exactly what `eventSchema` accepts and yields the same output;
 * anything unusual returns undefined and goes through zod, which also words the errors.
 * Validation was the largest per-event cost on the ingest and emit paths.
 */
function fastCheck(input: unknown): VigilEvent | undefined {
  if (!isPlainObject(input)) return undefined;
  for (const key in input) if (!EVENT_KEYS.has(key)) return undefined;
  const { id, ts, source, type, severity, attrs, body } = input;
  if (typeof id !== "string" || !UUID_PATTERN.test(id)) return undefined;
  if (typeof ts !== "number" || !Number.isSafeInteger(ts) || ts < 0) return undefined;
  if (typeof source !== "string" || source.length === 0 || source.length > MAX_SOURCE_LENGTH || !SOURCE_NAME.test(source)) return undefined;
  if (typeof type !== "string" || type.length > MAX_TYPE_LENGTH || !EVENT_TYPE.test(type)) return undefined;
  if (severity !== undefined && (typeof severity !== "string" || !SEVERITY_SET.has(severity))) return undefined;
  if (body !== undefined && (typeof body !== "string" || body.length > MAX_BODY_LENGTH)) return undefined;
  const copied: Record<string, string | number | boolean> = {};
  if (attrs !== undefined) {
    if (!isPlainObject(attrs)) return undefined;
    let count = 0;
    for (const key in attrs) {
      if (!Object.hasOwn(attrs, key)) return undefined;
      if (++count > MAX_ATTRS_PER_EVENT || key.length > MAX_ATTR_KEY_LENGTH || !SNAKE_CASE_KEY.test(key)) return undefined;
      const value = attrs[key];
      if (typeof value === "string") {
        if (value.length > MAX_ATTR_VALUE_LENGTH) return undefined;
      } else if (typeof value === "number") {
        if (!Number.isFinite(value)) return undefined;
      } else if (typeof value !== "boolean") return undefined;
      copied[key] = value;
    }
  }
  return {
    id,
    ts,
    source,
    type,
    severity: (severity ?? "info") as Severity,
    attrs: copied,
    ...(body !== undefined ? { body } : {}),
  };
}

/** Validates one event and reports every problem with its path. */
export function checkEvent(input: unknown): EventCheck {
  const fast = fastCheck(input);
  if (fast) return { ok: true, event: fast };
  const result = eventSchema.safeParse(input);
  if (result.success) return { ok: true, event: result.data };
  return {
    ok: false,
    problems: result.error.issues.map((issue) => ({
      path: issue.path.map(String).join("."),
      message: issue.message,
    })),
  };
}
