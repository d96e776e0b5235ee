import { definePlugin, type PluginContext, type PluginInstance, type PluginStatus } from "@vigil/plugin-sdk";
import { parseListen, webhooksConfigSchema, type WebhooksConfig } from "./webhooks/config.js";
import { OUTCOMES, type Outcome, type Provider } from "./webhooks/receipt.js";
import { createWebhookServer, type WebhookServer } from "./webhooks/server.js";

export { webhooksConfigSchema as smsConfigSchema, type WebhooksConfig as SmsConfig } from "./webhooks/config.js";
export { TWILIO_ROUTE, VONAGE_ROUTE } from "./webhooks/server.js";

const PROVIDERS: readonly Provider[] = ["twilio", "vonage"];

export default definePlugin({
  name: "sms",
  metadata: {
    stability: "beta",
    delivery: "at_least_once",
    description:
      "SMS campaign monitoring, agent part: receives Twilio status callbacks and Vonage delivery receipts, checks their signatures and turns each into an sms.message event; answers 200 only once it is queued.",
  },
  configSchema: webhooksConfigSchema,
  create: createSmsWebhooks,
});

function createSmsWebhooks(ctx: PluginContext<WebhooksConfig>): PluginInstance {
  const receiptsCounter = ctx.metrics.counter({
    name: "vigil_sms_webhook_receipts_total",
    help: 'Requests to the receipt routes by provider and outcome: "accepted" (queued), "rejected_signature" (403), "ignored" (200, nothing stored), "invalid" (4xx), "queue_error" (503).',
    labelNames: ["provider", "outcome"],
  });
  const counts = new Map<string, number>();
  let config = ctx.config;
  let server: WebhookServer | undefined;
  let boundAddress: string | undefined;
  let rebindError: string | undefined;
  let phase: "created" | "started" | "stopped" = "created";
  let stopping: Promise<void> | undefined;
  /** Config changes apply one after another: a rebind must not race the next one or stop(). */
  let applying = Promise.resolve();

  function record(provider: Provider, outcome: Outcome): void {
    receiptsCounter.inc({ provider, outcome });
    const key = `${provider}_${outcome}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }

  function newServer(): WebhookServer {
    return createWebhookServer({ config: () => config, emit: (event) => ctx.emit(event), record, log: ctx.log });
  }

  /** Binds a new server on the new address before the old one closes, so a bad address leaves the old one serving. */
  async function rebind(next: WebhooksConfig): Promise<void> {
    const replacement = newServer();
    try {
      const address = await replacement.listen(parseListen(next.listen)!);
      const previous = server;
      server = replacement;
      boundAddress = address;
      rebindError = undefined;
      await previous?.close();
      ctx.log.info({ listen: address }, "webhook server moved to the new address");
    } catch (error) {
      rebindError = error instanceof Error ? error.message : String(error);
      ctx.log.error({ reason: rebindError }, "webhook server keeps its old address");
    }
  }

  ctx.onConfig((next) => {
    const moved = next.listen !== config.listen;
    config = next;
    if (!moved) return;
    applying = applying.then(() => (phase === "started" ? rebind(next) : undefined));
    return applying;
  });

  function status(): PluginStatus {
    if (phase === "stopped") return { state: "stopped" };
    if (phase === "created" || boundAddress === undefined) return { state: "starting" };
    const providers = PROVIDERS.filter((provider) => config[provider] !== undefined);
    const details: Record<string, string | number | boolean> = { listen: boundAddress, public_url: config.public_url ?? "", providers: providers.join(",") };
    for (const provider of providers) for (const outcome of OUTCOMES) details[`${provider}_${outcome}`] = counts.get(`${provider}_${outcome}`) ?? 0;
    const accepted = providers.reduce((sum, provider) => sum + (counts.get(`${provider}_accepted`) ?? 0), 0);
    const rejected = providers.reduce((sum, provider) => sum + (counts.get(`${provider}_rejected_signature`) ?? 0), 0);
    if (rebindError) return { state: "degraded", message: `still on ${boundAddress}: ${rebindError}`, details };
    const summary = `listening on ${boundAddress} (${providers.join(", ")}): ${accepted} receipts queued${rejected > 0 ? `, ${rejected} refused for their signature` : ""}`;
    // Every request refused, none accepted: most likely a wrong public_url or secret.
    if (rejected > 0 && accepted === 0) return { state: "degraded", message: `${summary}; check public_url and the secrets`, details };
    return { state: "ok", message: summary, details };
  }

  return {
    async start() {
      if (phase !== "created") return;
      const first = newServer();
      boundAddress = await first.listen(parseListen(config.listen)!);
      server = first;
      phase = "started";
      ctx.log.info({ listen: boundAddress, public_url: config.public_url, providers: PROVIDERS.filter((provider) => config[provider] !== undefined) }, "receiving SMS delivery receipts");
    },
    stop() {
      stopping ??= (async () => {
        phase = "stopped";
        await applying;
        await server?.close();
      })();
      return stopping;
    },
    status,
  };
}
