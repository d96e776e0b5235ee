import { timingSafeEqual } from "node:crypto";

/**
 * Compares a received signature with the expected one in time that does not depend on
 * where they differ. Lengths may differ (a forged header); that is not secret.
 */
export function sameSignature(received: string, expected: string): boolean {
  const a = Buffer.from(received, "utf8");
  const b = Buffer.from(expected, "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Request parameters as they arrived: repeated names keep every value, in order. */
export type Params = [name: string, value: string][];

/** The last value of `name`, or undefined. */
export function param(params: Params, name: string): string | undefined {
  for (let i = params.length - 1; i >= 0; i--) if (params[i]![0] === name) return params[i]![1];
  return undefined;
}

/** Code-unit order, the order Twilio's and Vonage's libraries sort names in. */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
