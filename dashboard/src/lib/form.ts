import { ApiFailure, errorMessage } from "./api.js";

/**
 * The server's validation problems by field, to show each next to its input: a 400
 * answer's details are `[{ path: "email", message }]` (collector/src/validate.ts); nested
 * paths keep their dots ("scopes.0"). Problems not about a field are left out (the
 * failure's message covers them).
 */
export function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiFailure) || error.code !== "invalid_argument") return {};
  const errors: Record<string, string> = {};
  for (const detail of error.details) {
    if (!detail || typeof detail !== "object") continue;
    const { path, message } = detail as { path?: unknown; message?: unknown };
    const key = Array.isArray(path) ? path.join(".") : path;
    if (typeof key === "string" && key && typeof message === "string" && !(key in errors)) errors[key] = message;
  }
  return errors;
}

/** The message above a form whose problems are shown by their fields. */
export const CORRECT_FIELDS = "Please correct the fields marked below.";

/** A failed save as a form shows it: the server's problems by field, and the message above the form. */
export function saveFailure(error: unknown): { errors: Record<string, string>; failure: string } {
  const errors = fieldErrors(error);
  return { errors, failure: Object.keys(errors).length > 0 ? CORRECT_FIELDS : errorMessage(error) };
}
