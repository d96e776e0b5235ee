import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export type ErrorCode =
  | "invalid_argument"
  | "unauthenticated"
  | "permission_denied"
  | "not_found"
  | "failed_precondition"
  | "payload_too_large"
  | "unsupported_media_type"
  | "resource_exhausted"
  | "unavailable"
  | "internal";

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  failed_precondition: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  resource_exhausted: 429,
  unavailable: 503,
  internal: 500,
};

/**
 * An error meant for the API caller: its message says what was wrong and how to fix it.
 * Anything else thrown inside a handler is answered as a bare `internal` error, so no
 * stack, SQL or secret ever reaches a response.
 */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: unknown[] = [],
    /** Seconds, for 429/503: when the caller should try again. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "ApiError";
  }

  get status(): ContentfulStatusCode {
    return STATUS[this.code];
  }
}

export function errorBody(code: ErrorCode, message: string, details: unknown[] = []) {
  return { error: { code, message, details } };
}

export function respondWithError(c: Context, error: ApiError): Response {
  if (error.retryAfterSeconds !== undefined) c.header("Retry-After", String(error.retryAfterSeconds));
  return c.json(errorBody(error.code, error.message, error.details), error.status);
}
