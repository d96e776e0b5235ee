import { AGENT_ID_HEADER, AGENT_NAME_HEADER } from "@vigil/plugin-sdk";

export interface SseEvent {
  event: string;
  data: any;
}

/**
 * An agent's push connection (`GET /v1/agents/stream`) over real HTTP: `fetch` and an
 * incremental SSE parser. `next()` waits, with a deadline (not a timing assertion), for
 * the next event; `: ping` comments are skipped.
 */
export async function openAgentStream(baseUrl: string, token: string, agentId: string) {
  const abort = new AbortController();
  const response = await fetch(`${baseUrl}/v1/agents/stream`, {
    headers: { authorization: `Bearer ${token}`, [AGENT_ID_HEADER]: agentId, [AGENT_NAME_HEADER]: "test-agent", accept: "text/event-stream" },
    signal: abort.signal,
  });
  if (!response.ok) throw new Error(`stream answered ${response.status}: ${await response.text()}`);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const events: SseEvent[] = [];
  /** Comment lines (`: …`), without the colon and space. */
  const comments: string[] = [];
  let ended = false;
  let failure: unknown;

  function parse(): void {
    let cut: number;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of frame.split("\n")) if (line.startsWith(":")) comments.push(line.slice(1).trim());
      const lines = frame.split("\n").filter((line) => !line.startsWith(":"));
      if (lines.length === 0) continue;
      const event = lines.find((l) => l.startsWith("event: "))?.slice(7) ?? "message";
      const data = lines.filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
      events.push({ event, data: JSON.parse(data) });
    }
  }

  const pump = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffer += value;
        parse();
      }
    } catch (error) {
      failure = error;
    } finally {
      ended = true;
    }
  })();

  return {
    response,
    comments,
    async next(deadlineMs = 10_000): Promise<SseEvent> {
      const deadline = Date.now() + deadlineMs;
      while (events.length === 0) {
        if (ended) throw new Error(`the stream ended${failure ? `: ${String(failure)}` : ""}`);
        if (Date.now() > deadline) throw new Error("no event before the deadline");
        await new Promise((r) => setTimeout(r, 20));
      }
      return events.shift()!;
    },
    /** Waits for the server to end the stream; true when it ended cleanly, false when it broke. */
    async ended(deadlineMs = 20_000): Promise<boolean> {
      const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), deadlineMs).unref());
      if ((await Promise.race([pump, timeout])) === "timeout") throw new Error("the stream is still open after the deadline");
      return failure === undefined;
    },
    get failure() {
      return failure;
    },
    close: () => abort.abort(),
  };
}
