import {
  MAX_ATTRS_PER_EVENT,
  MAX_ATTR_VALUE_LENGTH,
  MAX_BODY_LENGTH,
  checkEvent,
  uuidv7,
  type EventInput,
  type Severity,
  type VigilEvent,
} from "@vigil/plugin-sdk";
import { z } from "zod";

/**
 * OTLP/HTTP JSON logs (opentelemetry-proto `ExportLogsServiceRequest`) mapped onto
 * Vigil events, so any OpenTelemetry SDK or collector can feed Vigil:
 *   - resource, scope and record attributes → `attrs` (record wins over scope over
 *     resource; keys lower-cased to snake_case; arrays and maps as JSON text)
 *   - severityNumber (or severityText) → `severity`
 *   - body → `body` (non-string bodies as JSON text)
 *   - `vigil.source` attribute, else `service.name`, else "otel" → `source`;
 *     `vigil.type` attribute, else `<source>.<eventName>`, else `<source>.log` → `type`
 */

const anyValue: z.ZodType<AnyValue> = z.lazy(() =>
  z
    .object({
      stringValue: z.string().optional(),
      boolValue: z.boolean().optional(),
      intValue: z.union([z.string(), z.number()]).optional(),
      doubleValue: z.union([z.number(), z.string()]).optional(),
      bytesValue: z.string().optional(),
      arrayValue: z.object({ values: z.array(anyValue).optional() }).optional(),
      kvlistValue: z.object({ values: z.array(keyValue).optional() }).optional(),
    })
    .passthrough(),
);
const keyValue: z.ZodType<KeyValue> = z.lazy(() => z.object({ key: z.string(), value: anyValue.optional() }).passthrough());

interface AnyValue {
  stringValue?: string | undefined;
  boolValue?: boolean | undefined;
  intValue?: string | number | undefined;
  doubleValue?: number | string | undefined;
  bytesValue?: string | undefined;
  arrayValue?: { values?: AnyValue[] | undefined } | undefined;
  kvlistValue?: { values?: KeyValue[] | undefined } | undefined;
}
interface KeyValue {
  key: string;
  value?: AnyValue | undefined;
}

const nanos = z.union([z.string().regex(/^\d{1,20}$/, "expected nanoseconds as digits"), z.number().int("expected whole nanoseconds").nonnegative()]).optional();

export const otlpLogsRequestSchema = z.object({
  resourceLogs: z
    .array(
      z.object({
        resource: z.object({ attributes: z.array(keyValue).optional() }).passthrough().optional(),
        scopeLogs: z
          .array(
            z.object({
              scope: z
                .object({ name: z.string().optional(), version: z.string().optional(), attributes: z.array(keyValue).optional() })
                .passthrough()
                .optional(),
              logRecords: z
                .array(
                  z
                    .object({
                      timeUnixNano: nanos,
                      observedTimeUnixNano: nanos,
                      severityNumber: z.number().int().optional(),
                      severityText: z.string().optional(),
                      body: anyValue.optional(),
                      attributes: z.array(keyValue).optional(),
                      eventName: z.string().optional(),
                      traceId: z.string().optional(),
                      spanId: z.string().optional(),
                    })
                    .passthrough(),
                )
                .optional(),
            }),
          )
          .optional(),
      }),
    )
    .optional(),
});

export type OtlpLogsRequest = z.output<typeof otlpLogsRequestSchema>;

export interface OtlpMapping {
  events: VigilEvent[];
  rejected: number;
  firstProblem?: string;
}

export function mapOtlpLogs(request: OtlpLogsRequest, now: number = Date.now()): OtlpMapping {
  const events: VigilEvent[] = [];
  let rejected = 0;
  let firstProblem: string | undefined;
  for (const resourceLogs of request.resourceLogs ?? []) {
    const resourceAttrs = flattenAttributes(resourceLogs.resource?.attributes);
    for (const scopeLogs of resourceLogs.scopeLogs ?? []) {
      const scopeAttrs = flattenAttributes(scopeLogs.scope?.attributes);
      if (scopeLogs.scope?.name) scopeAttrs["otel.scope.name"] = scopeLogs.scope.name;
      if (scopeLogs.scope?.version) scopeAttrs["otel.scope.version"] = scopeLogs.scope.version;
      for (const record of scopeLogs.logRecords ?? []) {
        const recordAttrs = flattenAttributes(record.attributes);
        if (record.traceId) recordAttrs["trace_id"] = record.traceId;
        if (record.spanId) recordAttrs["span_id"] = record.spanId;
        const merged = { ...resourceAttrs, ...scopeAttrs, ...recordAttrs };
        const source = sourceFrom(merged);
        const ts = nanosToMillis(record.timeUnixNano) ?? nanosToMillis(record.observedTimeUnixNano) ?? now;
        const input: EventInput = {
          id: uuidv7(ts),
          ts,
          source,
          type: typeFrom(merged, source, record.eventName),
          severity: severityFrom(record.severityNumber, record.severityText),
          attrs: capAttrs(merged, recordAttrs),
          ...(record.body ? { body: truncate(renderValue(record.body), MAX_BODY_LENGTH) } : {}),
        };
        const checked = checkEvent(input);
        if (checked.ok) events.push(checked.event);
        else {
          rejected++;
          firstProblem ??= checked.problems.map((p) => `${p.path}: ${p.message}`).join("; ");
        }
      }
    }
  }
  return { events, rejected, ...(firstProblem ? { firstProblem } : {}) };
}

function nanosToMillis(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Number(BigInt(value) / 1_000_000n);
  return ms > 0 ? ms : undefined;
}

/** OpenTelemetry SeverityNumber ranges: 1–4 TRACE, 5–8 DEBUG, 9–12 INFO, 13–16 WARN, 17–20 ERROR, 21–24 FATAL. */
export function severityFrom(number: number | undefined, text: string | undefined): Severity {
  if (number && number > 0) {
    if (number <= 8) return "debug";
    if (number <= 12) return "info";
    if (number <= 16) return "warning";
    if (number <= 20) return "error";
    return "critical";
  }
  const t = (text ?? "").toLowerCase();
  if (t.startsWith("trace") || t.startsWith("debug")) return "debug";
  if (t.startsWith("notice")) return "notice";
  if (t.startsWith("warn")) return "warning";
  if (t.startsWith("err")) return "error";
  if (t.startsWith("fatal") || t.startsWith("crit") || t.startsWith("emerg") || t.startsWith("alert")) return "critical";
  return "info";
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "_")
    .replace(/^[^a-z]+/, "")
    .slice(0, 64);
}

function sourceFrom(attrs: Record<string, string | number | boolean>): string {
  const candidate = slug(String(attrs["vigil.source"] ?? attrs["service.name"] ?? ""));
  return candidate || "otel";
}

function typeFrom(attrs: Record<string, string | number | boolean>, source: string, eventName: string | undefined): string {
  const explicit = attrs["vigil.type"];
  if (typeof explicit === "string" && explicit.includes(".")) return explicit;
  const noun = eventName ? slug(eventName).replace(/^[^a-z0-9]+/, "") : "";
  return `${source}.${noun || "log"}`;
}

/** Keeps the record's own attributes first when the total is over the limit. */
function capAttrs(
  merged: Record<string, string | number | boolean>,
  recordAttrs: Record<string, string | number | boolean>,
): Record<string, string | number | boolean> {
  const keys = Object.keys(merged);
  if (keys.length <= MAX_ATTRS_PER_EVENT) return merged;
  const ordered = [...Object.keys(recordAttrs), ...keys.filter((k) => !(k in recordAttrs))];
  return Object.fromEntries(ordered.slice(0, MAX_ATTRS_PER_EVENT).map((k) => [k, merged[k]!]));
}

function attrKey(key: string): string {
  const cleaned = key
    .toLowerCase()
    .replace(/[^a-z0-9_.]+/g, "_")
    .replace(/^[^a-z]+/, "");
  return (cleaned || "attr").slice(0, 128);
}

function flattenAttributes(list: KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    if (!value) continue;
    out[attrKey(key)] = primitive(value);
  }
  return out;
}

function primitive(value: AnyValue): string | number | boolean {
  if (value.stringValue !== undefined) return truncate(value.stringValue, MAX_ATTR_VALUE_LENGTH);
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) {
    const n = Number(value.intValue);
    return Number.isSafeInteger(n) ? n : String(value.intValue);
  }
  if (value.doubleValue !== undefined) {
    const n = Number(value.doubleValue);
    return Number.isFinite(n) ? n : String(value.doubleValue);
  }
  return truncate(renderValue(value), MAX_ATTR_VALUE_LENGTH);
}

function plain(value: AnyValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return Number(value.doubleValue);
  if (value.bytesValue !== undefined) return value.bytesValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(plain);
  if (value.kvlistValue) return Object.fromEntries((value.kvlistValue.values ?? []).map((kv) => [kv.key, kv.value ? plain(kv.value) : null]));
  return null;
}

function renderValue(value: AnyValue): string {
  const p = plain(value);
  return typeof p === "string" ? p : JSON.stringify(p);
}

function truncate(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) : text;
}
