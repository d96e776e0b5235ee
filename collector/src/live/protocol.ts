import { z } from "zod";

/**
 * The live WebSocket's messages, JSON text frames both ways.
 *
 *   client → {"type":"subscribe","id":"c1","topic":"sms.campaign","params":{"campaign_id":"spring"}}
 *   client → {"type":"unsubscribe","id":"c1"}
 *   server → {"type":"hello","tenant","topics":[{name,description}]}      on connect
 *   server → {"type":"subscribed","id","topic"} · {"type":"unsubscribed","id"}
 *   server → {"type":"data","id","topic","data","at"}                      each update
 *   server → {"type":"error","id"?,"code","message"} · {"type":"lagging","message"}
 */

const subscriptionId = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, "id is 1–64 letters, digits, '_', '.', ':' or '-', chosen by the client");

export const clientMessageSchema = z.discriminatedUnion(
  "type",
  [
    z.object({ type: z.literal("subscribe"), id: subscriptionId, topic: z.string().min(1).max(100), params: z.record(z.string(), z.unknown()).optional() }).strict(),
    z.object({ type: z.literal("unsubscribe"), id: subscriptionId }).strict(),
  ],
  { error: 'type is "subscribe" or "unsubscribe"' },
);

export type ClientMessage = z.output<typeof clientMessageSchema>;

export type ServerMessage =
  | { type: "hello"; tenant: string; topics: { name: string; description: string }[] }
  | { type: "subscribed"; id: string; topic: string }
  | { type: "unsubscribed"; id: string }
  | { type: "data"; id: string; topic: string; data: unknown; at: string }
  | { type: "error"; id?: string; code: string; message: string };

export function parseClientMessage(text: string): { ok: true; message: ClientMessage } | { ok: false; id?: string; message: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, message: 'a message is one JSON object, e.g. {"type":"subscribe","id":"c1","topic":"alerts"}' };
  }
  const parsed = clientMessageSchema.safeParse(json);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issue = parsed.error.issues[0]!;
  const id = typeof (json as { id?: unknown })?.id === "string" ? (json as { id: string }).id : undefined;
  return { ok: false, ...(id ? { id } : {}), message: `${issue.path.length ? `${issue.path.join(".")}: ` : ""}${issue.message}` };
}
