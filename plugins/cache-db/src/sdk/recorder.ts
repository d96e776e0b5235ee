/** What the client wrappers need from the monitor. */
export interface Recorder {
  /** false while disabled: wrappers then call straight through, untimed. */
  active(): boolean;
  /** The monitor's clock (ms). */
  now(): number;
  /** Counts one op; `op` and `result` are the codes of codes.ts. */
  record(op: number, key: string, result: number, count: number, durationMs: number, origin: string | undefined): void;
}

/** Set on a client (or pool) once instrumented, so instrumenting twice does not count twice. */
export const INSTRUMENTED = Symbol.for("vigil.cache-db.instrumented");

/**
 * Resolves and rejects exactly like `promise`, after `settled` has seen the outcome. A
 * new promise rather than a side branch on the original: a side branch would mark the
 * original as handled and hide the app's unhandled rejections.
 */
export function observe<T>(promise: Promise<T>, settled: (reply: unknown, error: unknown) => void): Promise<T> {
  return promise.then(
    (reply) => {
      safely(settled, reply, undefined);
      return reply;
    },
    (error: unknown) => {
      safely(settled, undefined, error ?? new Error(String(error)));
      throw error;
    },
  );
}

/** The monitor's bookkeeping must never change what the app's call returns or throws. */
export function safely(settled: (reply: unknown, error: unknown) => void, reply: unknown, error: unknown): void {
  try {
    settled(reply, error);
  } catch {
    // Nothing to do: losing one op's record beats breaking the app's call.
  }
}
