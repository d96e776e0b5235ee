import { setTimeout as sleep } from "node:timers/promises";
import type { AgentProcess } from "../../support/agent-process.js";
import { beforeDeadline, checkDeadline } from "./run-guard.js";

const STATUS_POLL_MS = 50;

/** Waits until the agent holds its push connection to the collector; resolves with the agent's id. */
export async function waitForPush(agent: AgentProcess, deadline: number): Promise<string> {
  for (;;) {
    const status = (await beforeDeadline(agent.status(), deadline, "agent /status")) as { id: string; channel: { push_connected: boolean } };
    if (status.channel.push_connected) return status.id;
    checkDeadline(deadline, "waiting for the agent's push channel");
    await sleep(STATUS_POLL_MS);
  }
}
