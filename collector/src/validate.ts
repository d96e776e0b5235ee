import { z } from "zod";
import { ApiError } from "./errors.js";

/**
 * Validates request input and turns every problem into one 400 answer that names each
 * path. (zod's own error is not an `Error` subclass, so it must not escape a handler.)
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw invalidInput(result.error.issues);
}

export function invalidInput(issues: readonly { path: readonly PropertyKey[]; message: string }[]): ApiError {
  const details = issues.map((issue) => ({ path: issue.path.map(String).join("."), message: issue.message }));
  const first = details[0];
  const summary = first ? `${first.path ? `${first.path}: ` : ""}${first.message}` : "invalid input";
  return new ApiError("invalid_argument", details.length > 1 ? `${summary} (and ${details.length - 1} more problems in details)` : summary, details);
}
