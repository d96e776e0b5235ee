import type { Logger } from "pino";
import type { RunningAgent } from "./agent.js";

/** SIGTERM or Ctrl-C stops the agent cleanly and exits 0; a second signal exits at once (130). */
export function stopOnSignals(agent: Pick<RunningAgent, "stop">, log: Logger): void {
  let signals = 0;
  const stop = async (signal: NodeJS.Signals) => {
    if (++signals > 1) process.exit(130);
    log.info({ signal }, "signal received");
    await agent.stop();
    log.flush?.();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
