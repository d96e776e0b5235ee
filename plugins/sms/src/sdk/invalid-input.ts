const WARNING_EVERY_MS = 60_000;

/**
 * Bad input from the app is never thrown back at it (a monitoring SDK must not break the
 * sending it watches): the call is ignored and counted, and the problem is said as a
 * process warning, the first at once, then at most once a minute with the count so far.
 */
export function createInvalidInputReporter() {
  let count = 0;
  let lastWarning = -Infinity;
  return {
    report(call: string, problem: string): void {
      count++;
      const now = Date.now();
      if (now - lastWarning < WARNING_EVERY_MS) return;
      lastWarning = now;
      process.emitWarning(
        `Vigil SMS tracker: ${call}() ignored a call: ${problem}. ${count} call${count === 1 ? "" : "s"} ignored so far (invalid()); this warning repeats at most once a minute`,
        { code: "VIGIL_SMS_INVALID_INPUT" },
      );
    },
    count: () => count,
  };
}
