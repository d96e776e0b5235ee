/**
 * Polls `probe` until `ok` holds and returns that value; past `timeoutMs` it throws,
 * naming `what` and showing the last value, so a failed wait says what was seen.
 */
export async function eventually<T>(probe: () => Promise<T> | T, ok: (value: T) => boolean, timeoutMs = 30_000, what = "condition", pollMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached in ${timeoutMs} ms; last value: ${String(JSON.stringify(value)).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
