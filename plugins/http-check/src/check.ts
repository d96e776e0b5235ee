import { HttpRequestError, type HttpClient, type HttpFailureKind, type HttpResponse } from "@vigil/plugin-sdk";
import type { CheckConfig } from "./config.js";
import { lookUp, parseJsonPath } from "./json-path.js";
import { certificateDaysLeft } from "./tls.js";

/** Why a run failed; "none" when it passed. Failures without an HTTP answer keep the client's words. */
export type ErrorClass = "none" | Exclude<HttpFailureKind, "aborted"> | "status" | "keyword" | "json_path";

export interface CheckResult {
  passed: boolean;
  errorClass: ErrorClass;
  /** 0 when no answer came. */
  statusCode: number;
  latencyMs: number;
  /** https only, when the certificate could be read. */
  tlsDaysLeft?: number;
  /** One line saying what went wrong, or what the answer was. */
  detail: string;
}

/** Failures after which no server answered, so there is no certificate to read either. */
const NO_SERVER: ReadonlySet<ErrorClass> = new Set(["dns", "connect", "timeout"]);
const PREVIEW_CHARS = 80;

/**
 * Runs one check once: one request, no retries (consecutive failures are what
 * `failures_before_down` counts), then the expectations in order: status, keyword,
 * JSON path. Resolves undefined only when the request was aborted because the plugin is stopping.
 */
export async function runCheck(check: CheckConfig, http: HttpClient, signal: AbortSignal): Promise<CheckResult | undefined> {
  const started = performance.now();
  let outcome: Omit<CheckResult, "tlsDaysLeft">;
  let requestedUrl: string;
  try {
    const response = await http.request(check.url, {
      method: check.method,
      headers: check.headers,
      ...(check.body !== undefined ? { body: check.body } : {}),
      timeoutMs: check.timeout,
      retries: 0,
      signal,
    });
    requestedUrl = response.url;
    outcome = judgeResponse(check, response);
  } catch (error) {
    if (!(error instanceof HttpRequestError)) throw error;
    if (error.kind === "aborted") return undefined;
    requestedUrl = error.url;
    outcome = { passed: false, errorClass: error.kind, statusCode: 0, latencyMs: performance.now() - started, detail: error.message };
  }
  if (NO_SERVER.has(outcome.errorClass)) return outcome;
  const tlsDaysLeft = await certificateDaysLeft(requestedUrl, { timeoutMs: check.timeout, signal });
  return tlsDaysLeft === undefined ? outcome : { ...outcome, tlsDaysLeft };
}

function judgeResponse(check: CheckConfig, response: HttpResponse): Omit<CheckResult, "tlsDaysLeft"> {
  const answered = { statusCode: response.status, latencyMs: response.durationMs };
  if (!statusExpected(response.status, check.expect_status)) {
    return { ...answered, passed: false, errorClass: "status", detail: `status ${response.status}, expected ${check.expect_status.join(" or ")}` };
  }
  if (check.body_contains !== undefined && !response.text.includes(check.body_contains)) {
    return { ...answered, passed: false, errorClass: "keyword", detail: `status ${response.status}, body lacks ${JSON.stringify(check.body_contains)}` };
  }
  if (check.json_path !== undefined) {
    const mismatch = jsonPathMismatch(response.text, check.json_path.path, check.json_path.equals);
    if (mismatch !== undefined) return { ...answered, passed: false, errorClass: "json_path", detail: `status ${response.status}, ${mismatch}` };
  }
  return { ...answered, passed: true, errorClass: "none", detail: `status ${response.status}` };
}

export function statusExpected(status: number, expected: ReadonlyArray<number | string>): boolean {
  return expected.some((entry) => {
    const text = String(entry).toLowerCase();
    return text.endsWith("xx") ? Math.floor(status / 100) === Number(text[0]) : Number(text) === status;
  });
}

/** Why the body does not hold `equals` at `path`, or undefined when it does. */
function jsonPathMismatch(body: string, path: string, equals: string | number | boolean | null): string | undefined {
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch {
    return `body is not JSON (${preview(body)})`;
  }
  // The config schema already refused paths outside the subset.
  const found = lookUp(document, parseJsonPath(path)!);
  if (!found.found) return `${path} not found`;
  if (found.value === equals) return undefined;
  return `${path} is ${preview(JSON.stringify(found.value) ?? "undefined")}, expected ${JSON.stringify(equals)}`;
}

function preview(text: string): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > PREVIEW_CHARS ? `${oneLine.slice(0, PREVIEW_CHARS)}…` : oneLine;
}
