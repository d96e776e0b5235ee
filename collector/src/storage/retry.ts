import type { ClickHouseSettings } from "@clickhouse/client";
import type { Database } from "./database.js";

/**
 * Retries for a ClickHouse server reached over the network (CLICKHOUSE_URL): a dropped
 * connection, a restarting server or a proxy that answers 502/503/504 for a moment should
 * not fail an ingest or an API call. The embedded engine has no network and is not wrapped.
 *
 * What is retried is decided by what a second attempt can do when the first one did in
 * fact reach ClickHouse (a reset connection or a gateway timeout says nothing about
 * whether the statement ran):
 *
 * - **Queries** (SELECT): reading twice changes nothing. Retried on every transient failure.
 * - **Inserts that bring their own `insert_deduplication_token`** (events and their batch
 *   ledger, the alert lease): the caller chose a token that stays the same across attempts
 *   for a table that de-duplicates on it, so a second attempt of an insert that was stored is
 *   dropped by ClickHouse, and the lease's compare-and-set reads back who won. Retried on
 *   every transient failure.
 * - **Other inserts and commands** (configuration rows, the push log, migrations' DDL):
 *   their tables may keep a second copy (a push relayed twice runs an agent command twice),
 *   so they are retried only when the failure shows the request never reached ClickHouse
 *   (connection refused, the host not resolving for the moment). Otherwise the error goes
 *   to the caller, who answers 503 or retries at its own level (migrations every 2 s).
 *
 * Attempts back off exponentially with jitter (replicas that failed together do not retry in
 * step) and stop at `retries` or when `budgetMs` has passed since the first attempt, so a
 * request that timed out after 30 s is not tried for minutes.
 */
export interface RetryPolicy {
  /** Retries after the first attempt; 0 turns retrying off. */
  retries: number;
  /** The first retry waits between half of this and this; each next one up to twice as long. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** No retry starts later than this after the first attempt. */
  budgetMs: number;
}

export const DEFAULT_RETRY_POLICY: Omit<RetryPolicy, "retries"> = { baseDelayMs: 100, maxDelayMs: 2_000, budgetMs: 10_000 };

export type Operation = "query" | "insert" | "command";

export interface RetryNotice {
  operation: Operation;
  /** 1 for the first retry. */
  attempt: number;
  delayMs: number;
  error: unknown;
}

/** Network errors after which the server may or may not have run the statement. */
const TRANSIENT_NETWORK_CODES = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT", "ECONNABORTED", "EHOSTUNREACH", "ENETUNREACH", "ENETDOWN", "ECONNREFUSED", "EAI_AGAIN"]);
/** Network errors that prove the request never reached the server: safe to repeat anything. */
const UNSENT_NETWORK_CODES = new Set(["ECONNREFUSED", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ENETDOWN"]);
/**
 * ClickHouse errors that say "not now" rather than "no": the server is overloaded, a socket
 * between it and its replicas or Keeper failed, a replica is read-only until Keeper is back.
 */
const TRANSIENT_CLICKHOUSE_ERRORS = new Set([
  "SOCKET_TIMEOUT",
  "NETWORK_ERROR",
  "TOO_MANY_SIMULTANEOUS_QUERIES",
  "ALL_CONNECTION_TRIES_FAILED",
  "KEEPER_EXCEPTION",
  "TABLE_IS_READ_ONLY",
  "TOO_MANY_PARTS",
  "SERVER_OVERLOADED",
  "CANNOT_SCHEDULE_TASK",
]);
/**
 * @clickhouse/client does not expose the HTTP status of a failed answer; an answer without
 * a ClickHouse error in it comes from a proxy or load balancer in front of the server,
 * whose text names the status.
 */
const GATEWAY_ANSWER = /\b(502|503|504)\b|bad gateway|service unavailable|gateway time-?out|no healthy upstream|upstream connect error/i;

interface ErrorShape {
  code?: string;
  type?: string;
  message?: string;
  cause?: { code?: string };
}

function networkCode(error: unknown): string | undefined {
  const err = error as ErrorShape | undefined;
  const code = err?.code ?? err?.cause?.code;
  return typeof code === "string" && /^E[A-Z_]+$/.test(code) ? code : undefined;
}

/** A failure worth another attempt: the network, an overloaded server, a gateway, the client's own timeout. */
export function isTransient(error: unknown): boolean {
  const code = networkCode(error);
  if (code) return TRANSIENT_NETWORK_CODES.has(code);
  const err = error as ErrorShape | undefined;
  if (err?.type) return TRANSIENT_CLICKHOUSE_ERRORS.has(err.type);
  const message = err?.message ?? "";
  // "socket hang up" (the server closed a kept-alive connection as it was reused) and the
  // client's request_timeout ("Timeout error.").
  return /socket hang up|^Timeout error/i.test(message) || GATEWAY_ANSWER.test(message);
}

/** A failure that shows the request was never sent to ClickHouse. */
export function neverReachedServer(error: unknown): boolean {
  const code = networkCode(error);
  return code !== undefined && UNSENT_NETWORK_CODES.has(code);
}

/** Exponential backoff with equal jitter: between half and all of base·2^(attempt−1), capped. */
export function backoffDelay(attempt: number, policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export async function withRetries<T>(
  operation: Operation,
  call: () => Promise<T>,
  retryable: (error: unknown) => boolean,
  policy: RetryPolicy,
  onRetry?: (notice: RetryNotice) => void,
): Promise<T> {
  const started = performance.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const delayMs = backoffDelay(attempt, policy);
      const late = performance.now() - started + delayMs > policy.budgetMs;
      if (attempt > policy.retries || late || !retryable(error)) throw error;
      onRetry?.({ operation, attempt, delayMs, error });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/**
 * The same Database, with the retries above and settings added to every insert
 * (CLICKHOUSE_ASYNC_INSERT); an insert's own settings win over the added ones.
 */
export function retryingDatabase(db: Database, options: { policy: RetryPolicy; insertSettings?: ClickHouseSettings; onRetry?: (notice: RetryNotice) => void }): Database {
  const { policy, insertSettings = {}, onRetry } = options;
  return {
    ...db,
    query<T>(sql: string, params?: Record<string, unknown>, settings?: ClickHouseSettings) {
      return withRetries("query", () => db.query<T>(sql, params, settings), isTransient, policy, onRetry);
    },
    command(sql: string, params?: Record<string, unknown>) {
      return withRetries("command", () => db.command(sql, params), neverReachedServer, policy, onRetry);
    },
    insert(table: string, rows: readonly object[], settings: ClickHouseSettings = {}) {
      const merged = { ...insertSettings, ...settings };
      // ClickHouse 24.5 to 25.12 refuse an async insert that asks its materialized views to
      // de-duplicate (throw_if_deduplication_in_dependent_materialized_views_enabled_with_async_insert)
      // and could not do it anyway; from 26.1 they can (26.7 asks for it by default). So an
      // async insert leaves it to the server.
      if (Number(merged.async_insert) === 1) delete merged.deduplicate_blocks_in_dependent_materialized_views;
      // The same `merged` (so the same token) goes to every attempt.
      const retryable = settings.insert_deduplication_token ? isTransient : neverReachedServer;
      return withRetries("insert", () => db.insert(table, rows, merged), retryable, policy, onRetry);
    },
  };
}
