import { z } from "zod";
import { parseRequest, type PluginRoute, type TenantStorage } from "@vigil/plugin-sdk";
import { CATEGORIES, ERROR_CATEGORIES, ERROR_TABLE, diagnose, errorNamespace, type ErrorCategory, type Severity } from "../errors.js";
import { DEFAULT_WINDOW_MS, HOUR_MS, checkWindow, idSchema, iso, messageWhere, ratio, windowFields, type Window } from "./common.js";
import { categoryOf } from "./counts.js";
import { CODE, FIRST_FAILURE_ATTEMPT_SQL, FIRST_FAILURE_CATEGORY_SQL, LAST_ATTEMPT_SQL, LAST_ATTEMPT_STATUS_SQL, REPORT_MS_SQL, STATUS_SQL } from "./tables.js";

/** Codes listed per category, the most frequent first. */
const TOP_CODES = 5;
/** Retried messages a category needs before its own retry success rate decides whether retrying is worth it. */
export const MIN_RETRIES_OBSERVED = 20;
/** A retry success rate from which retrying a category is worth it. */
export const WORTH_RETRYING_RATE = 0.2;
/** Attempt numbers listed at most (the rest are folded into the last). */
const MAX_ATTEMPTS_SHOWN = 20;

export interface CodeStats {
  /** `twilio`, `vonage`, `smtp` or `proxy`; null for a failure without a code. */
  namespace: string | null;
  code: string | null;
  /** The error table's title, else the provider's error text. */
  title: string;
  /** Whether the error table knows the code. */
  known: boolean;
  count: number;
  /** count ÷ the category's count. */
  share: number | null;
  severity: Severity;
  retryable: boolean;
  recommendation: string;
}

export interface CategoryStats {
  category: ErrorCategory;
  /** Failed and undelivered messages of this category. */
  count: number;
  /** count ÷ all failed and undelivered messages. */
  share: number | null;
  severity: Severity;
  retryable: boolean;
  recommendation: string;
  top_codes: CodeStats[];
  /** Failures of codes beyond the top ones. */
  other_codes: number;
}

export interface AttemptStats {
  attempt: number;
  /** Messages that made this attempt. */
  attempts: number;
  delivered: number;
  /** Attempts that failed (a final failure at this attempt, or a later attempt followed). */
  failed: number;
  /** Attempts with no final status yet. */
  pending: number;
  /** delivered ÷ (delivered + failed). */
  success_rate: number | null;
}

export interface RetryByCategory {
  category: ErrorCategory;
  /** Messages whose first failure was of this category. */
  failed_first: number;
  /** Of those, how many were tried again. */
  retried: number;
  retried_delivered: number;
  retried_failed: number;
  retried_pending: number;
  /** retried_delivered ÷ (retried_delivered + retried_failed): did retrying help? */
  retry_success_rate: number | null;
  /** The error table's word for the category. */
  retryable: boolean;
  /** From what was observed once MIN_RETRIES_OBSERVED retries reached a final status, else from the table. */
  worth_retrying: boolean;
  basis: "observed" | "error_table";
}

export interface ErrorAnalysis {
  campaign_id: string | null;
  since: string | null;
  until: string | null;
  /** Messages whose current status was reported in the window (or of the campaign). */
  messages: number;
  final: number;
  /** failed + undelivered. */
  failed: number;
  failure_rate: number | null;
  categories: CategoryStats[];
  /** Failures per hour (by when the failure was reported) and category. */
  trends: { interval: "hour"; buckets: { start: string; total: number; categories: Partial<Record<ErrorCategory, number>> }[] };
  retry: { by_attempt: AttemptStats[]; by_category: RetryByCategory[] };
}

/**
 * One group of messages of the single pass: the failure columns are set for failed and
 * undelivered messages only (their hour, category, code, reporter, server kind and a
 * sample error text), the retry columns for every message.
 */
interface Row {
  hour: number;
  category: string;
  code: string;
  reporter: string;
  server_kind: string;
  text: string;
  /** The last attempt. */
  attempts: number;
  /** The status of the last attempt. */
  status_code: number;
  /** The message's status. */
  current_code: number;
  /** The attempt of the first failure, 0 when the message never failed. */
  ff_attempt: number;
  /** Its category: 1 + its index in ERROR_CATEGORIES, 0 when the report had none. */
  ff_category: number;
  n: number;
}

type FailureRow = Pick<Row, "hour" | "category" | "code" | "reporter" | "server_kind" | "text" | "n">;
type RetryRow = Pick<Row, "attempts" | "status_code" | "current_code" | "ff_attempt" | "ff_category" | "n">;

export interface ErrorAnalysisOptions {
  campaignId?: string | undefined;
  /** Default: the whole campaign when one is named, else the last 24 hours. */
  window?: Window | undefined;
  now?: number;
}

/**
 * Why messages fail: failed and undelivered messages per category (from the error table
 * stamped on each report, or from their code when unstamped) with the table's severity,
 * retryability and advice, their most frequent codes, hourly trends, and the retry
 * analysis (success by attempt number; per category, whether retrying helped). One pass
 * over `messages FINAL` on the key prefix.
 */
export async function errorAnalysis(storage: TenantStorage, options: ErrorAnalysisOptions = {}): Promise<ErrorAnalysis> {
  const now = options.now ?? Date.now();
  const window = options.window ?? { since: options.campaignId === undefined ? now - DEFAULT_WINDOW_MS : null, until: null };
  const params: Record<string, unknown> = {};
  const failed = `${STATUS_SQL} >= ${CODE.undelivered}`;
  // One pass over the messages (the FINAL merge is the cost): failures and retries together.
  const rows = await storage.query<Row>(
    `SELECT if(${failed}, toUInt64(intDiv(${REPORT_MS_SQL}, ${HOUR_MS})), 0) AS hour,
            if(${failed}, tupleElement(error, 3), '') AS category, if(${failed}, tupleElement(error, 2), '') AS code,
            if(${failed}, tupleElement(error, 4), '') AS reporter, server_kind,
            ${LAST_ATTEMPT_SQL} AS attempts, ${LAST_ATTEMPT_STATUS_SQL} AS status_code, ${STATUS_SQL} AS current_code,
            ${FIRST_FAILURE_ATTEMPT_SQL} AS ff_attempt, ${FIRST_FAILURE_CATEGORY_SQL} AS ff_category,
            count() AS n, any(if(${failed}, tupleElement(error, 5), '')) AS text
     FROM ${storage.table("messages")} FINAL
     WHERE ${messageWhere(storage, { campaignId: options.campaignId, window }, params)}
     GROUP BY hour, category, code, reporter, server_kind, attempts, status_code, current_code, ff_attempt, ff_category`,
    params,
  );
  const failures = rows.filter((row) => Number(row.current_code) >= CODE.undelivered);

  const messages = rows.reduce((sum, row) => sum + Number(row.n), 0);
  const final = rows.filter((row) => Number(row.current_code) >= CODE.delivered).reduce((sum, row) => sum + Number(row.n), 0);
  const failedCount = failures.reduce((sum, row) => sum + Number(row.n), 0);
  return {
    campaign_id: options.campaignId ?? null,
    since: iso(window.since),
    until: iso(window.until),
    messages,
    final,
    failed: failedCount,
    failure_rate: ratio(failedCount, final),
    categories: categoriesOf(failures, failedCount),
    trends: trendsOf(failures),
    retry: { by_attempt: byAttempt(rows), by_category: retryByCategory(rows) },
  };
}

function categoriesOf(failures: readonly FailureRow[], failed: number): CategoryStats[] {
  const byCategory = new Map<ErrorCategory, { count: number; codes: Map<string, CodeStats> }>();
  for (const row of failures) {
    const diagnosis = diagnose({ reporter: row.reporter, serverKind: row.server_kind, code: row.code, text: row.text });
    const category = categoryOf(row.category, row.code, row.reporter, row.server_kind, row.text);
    const entry = byCategory.get(category) ?? { count: 0, codes: new Map<string, CodeStats>() };
    byCategory.set(category, entry);
    const n = Number(row.n);
    entry.count += n;
    const namespace = row.code ? errorNamespace(row.reporter, row.server_kind, row.code) : null;
    const key = `${namespace ?? ""}:${row.code.toUpperCase()}`;
    const code = entry.codes.get(key);
    if (code) code.count += n;
    else {
      // A code the table does not know keeps the category's advice, whatever the text suggested.
      const advice = diagnosis.known ? diagnosis : CATEGORIES[category];
      entry.codes.set(key, {
        namespace,
        code: row.code || null,
        title: diagnosis.title,
        known: diagnosis.known,
        count: n,
        share: null,
        severity: advice.severity,
        retryable: advice.retryable,
        recommendation: advice.recommendation,
      });
    }
  }
  return [...byCategory]
    .map(([category, { count, codes }]): CategoryStats => {
      const sorted = [...codes.values()].sort((a, b) => b.count - a.count || (a.code ?? "").localeCompare(b.code ?? ""));
      const top = sorted.slice(0, TOP_CODES).map((code) => ({ ...code, share: ratio(code.count, count) }));
      return {
        category,
        count,
        share: ratio(count, failed),
        ...CATEGORIES[category],
        top_codes: top,
        other_codes: count - top.reduce((sum, code) => sum + code.count, 0),
      };
    })
    .sort((a, b) => b.count - a.count || a.category.localeCompare(b.category));
}

function trendsOf(failures: readonly FailureRow[]): ErrorAnalysis["trends"] {
  const byHour = new Map<number, Map<ErrorCategory, number>>();
  for (const row of failures) {
    const hour = Number(row.hour);
    const category = categoryOf(row.category, row.code, row.reporter, row.server_kind, row.text);
    const counts = byHour.get(hour) ?? new Map<ErrorCategory, number>();
    byHour.set(hour, counts);
    counts.set(category, (counts.get(category) ?? 0) + Number(row.n));
  }
  const hours = [...byHour.keys()].sort((a, b) => a - b);
  const buckets: ErrorAnalysis["trends"]["buckets"] = [];
  if (hours.length > 0) {
    // Hours without failures between the first and the last show as zeros (a trend needs them).
    const first = hours[0]!;
    const last = hours[hours.length - 1]!;
    const filled = last - first < 10_000 ? Array.from({ length: last - first + 1 }, (_, i) => first + i) : hours;
    for (const hour of filled) {
      const counts = byHour.get(hour) ?? new Map<ErrorCategory, number>();
      const categories: Partial<Record<ErrorCategory, number>> = {};
      for (const category of ERROR_CATEGORIES) if (counts.has(category)) categories[category] = counts.get(category);
      buckets.push({ start: new Date(hour * HOUR_MS).toISOString(), total: [...counts.values()].reduce((sum, n) => sum + n, 0), categories });
    }
  }
  return { interval: "hour", buckets };
}

/**
 * Success by attempt number. A message's attempts before its last one failed (a retry only
 * follows a failure); its last attempt has the message's status, or is pending while the
 * status is an earlier attempt's.
 */
function byAttempt(rows: readonly RetryRow[]): AttemptStats[] {
  const stats = new Map<number, AttemptStats>();
  const at = (attempt: number) => {
    const shown = Math.min(attempt, MAX_ATTEMPTS_SHOWN);
    let entry = stats.get(shown);
    if (!entry) stats.set(shown, (entry = { attempt: shown, attempts: 0, delivered: 0, failed: 0, pending: 0, success_rate: null }));
    return entry;
  };
  for (const row of rows) {
    const n = Number(row.n);
    const last = Math.max(1, Number(row.attempts));
    for (let attempt = 1; attempt < last && attempt < MAX_ATTEMPTS_SHOWN; attempt++) {
      const entry = at(attempt);
      entry.attempts += n;
      entry.failed += n;
    }
    const entry = at(last);
    entry.attempts += n;
    const status = Number(row.status_code);
    if (status === CODE.delivered) entry.delivered += n;
    else if (status >= CODE.undelivered) entry.failed += n;
    else entry.pending += n;
  }
  return [...stats.values()].sort((a, b) => a.attempt - b.attempt).map((entry) => ({ ...entry, success_rate: ratio(entry.delivered, entry.delivered + entry.failed) }));
}

function retryByCategory(rows: readonly RetryRow[]): RetryByCategory[] {
  const stats = new Map<ErrorCategory, RetryByCategory>();
  for (const row of rows) {
    const firstFailure = Number(row.ff_attempt);
    if (firstFailure === 0) continue;
    // A first failure whose report named no category (not the SDK's or the receipts') counts as unknown.
    const category = ERROR_CATEGORIES[Number(row.ff_category) - 1] ?? "unknown";
    let entry = stats.get(category);
    if (!entry) {
      const retryable = CATEGORIES[category].retryable;
      entry = { category, failed_first: 0, retried: 0, retried_delivered: 0, retried_failed: 0, retried_pending: 0, retry_success_rate: null, retryable, worth_retrying: retryable, basis: "error_table" };
      stats.set(category, entry);
    }
    const n = Number(row.n);
    entry.failed_first += n;
    if (Number(row.attempts) <= firstFailure) continue;
    entry.retried += n;
    const status = Number(row.status_code);
    if (status === CODE.delivered) entry.retried_delivered += n;
    else if (status >= CODE.undelivered) entry.retried_failed += n;
    else entry.retried_pending += n;
  }
  return [...stats.values()]
    .map((entry) => {
      const decided = entry.retried_delivered + entry.retried_failed;
      const rate = ratio(entry.retried_delivered, decided);
      const observed = decided >= MIN_RETRIES_OBSERVED && rate !== null;
      return { ...entry, retry_success_rate: rate, worth_retrying: observed ? rate >= WORTH_RETRYING_RATE : entry.retryable, basis: observed ? ("observed" as const) : ("error_table" as const) };
    })
    .sort((a, b) => b.failed_first - a.failed_first || a.category.localeCompare(b.category));
}

/** The error table with each code's effective severity, retryability and advice (the category's unless the code overrides them). */
export function errorTable() {
  return {
    categories: ERROR_CATEGORIES.map((category) => ({ category, ...CATEGORIES[category] })),
    codes: ERROR_TABLE.map((entry) => ({
      namespace: entry.namespace,
      code: entry.code,
      title: entry.title,
      category: entry.category,
      severity: entry.severity ?? CATEGORIES[entry.category].severity,
      retryable: entry.retryable ?? CATEGORIES[entry.category].retryable,
      recommendation: entry.recommendation ?? CATEGORIES[entry.category].recommendation,
    })),
  };
}

const errorsQuery = z
  .object({
    campaign_id: idSchema("campaign_id").optional().describe("Only this campaign's messages (all of them unless since/until narrow it)."),
    ...windowFields,
  })
  .strict();

export const errorRoutes: PluginRoute[] = [
  {
    method: "GET",
    path: "/api/sms/errors",
    scope: "read",
    async handler(request) {
      const query = parseRequest(errorsQuery, request.query);
      const window = query.since !== undefined || query.until !== undefined ? checkWindow(query) : undefined;
      return { body: await errorAnalysis(request.storage, { campaignId: query.campaign_id, window }) };
    },
  },
  {
    method: "GET",
    path: "/api/sms/errors/table",
    scope: "read",
    async handler(request) {
      parseRequest(z.object({}).strict(), request.query);
      return { body: errorTable() };
    },
  },
];
