import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SeverityNumber } from "@opentelemetry/api-logs";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { startCollectorProcess, tempDir, type CollectorProcess } from "./support/collector-process.js";
import { postBatch, realisticEvent } from "./support/events.js";

/** A stand-in OTLP trace receiver: records what the collector exports about itself. */
function startTraceReceiver() {
  const bodies: unknown[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let text = "";
    req.on("data", (chunk) => (text += chunk));
    req.on("end", () => {
      if (req.url === "/v1/traces") bodies.push(JSON.parse(text));
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  return new Promise<{ url: string; bodies: unknown[]; close(): void }>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, close: () => server.close() })),
  );
}

let proc: CollectorProcess;
let receiver: Awaited<ReturnType<typeof startTraceReceiver>>;
const dir = tempDir();

beforeAll(async () => {
  receiver = await startTraceReceiver();
  proc = await startCollectorProcess({
    dataDir: dir.path,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: "200", OTEL_SERVICE_NAME: "vigil-collector-under-test" },
  });
});
afterAll(async () => {
  await proc?.stop();
  receiver?.close();
  dir.remove();
});

async function events(query: string) {
  const res = await fetch(`${proc.url}/v1/events?${query}`, { headers: { authorization: `Bearer ${proc.token}` } });
  return ((await res.json()) as { events: { source: string; type: string; severity: string; body: string; attrs: Record<string, string> }[] }).events;
}

describe("POST /v1/logs (OTLP/HTTP JSON)", () => {
  it("stores logs sent by the real OpenTelemetry exporter as events", async () => {
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ "service.name": "Checkout API", "deployment.environment": "prod" }),
      processors: [new SimpleLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${proc.url}/v1/logs`, headers: { Authorization: `Bearer ${proc.token}` } }) })],
    });
    const logger = provider.getLogger("payments", "1.2.3");
    logger.emit({ severityNumber: SeverityNumber.ERROR, severityText: "ERROR", body: "card declined", attributes: { "order.id": 1234, retry: true, "http.route": "/pay" } });
    logger.emit({ severityNumber: SeverityNumber.INFO, body: { step: "captured", amount: 12.5 } });
    logger.emit({ severityNumber: SeverityNumber.WARN, body: "slow", eventName: "payment.slow" });
    await provider.forceFlush();
    await provider.shutdown();

    const stored = await events("source=checkout_api&limit=10");
    expect(stored).toHaveLength(3);
    const declined = stored.find((e) => e.body === "card declined")!;
    expect(declined).toMatchObject({
      source: "checkout_api",
      type: "checkout_api.log",
      severity: "error",
      attrs: expect.objectContaining({
        "service.name": "Checkout API",
        "deployment.environment": "prod",
        "otel.scope.name": "payments",
        "otel.scope.version": "1.2.3",
        "order.id": "1234",
        retry: "true",
        "http.route": "/pay",
      }),
    });
    expect(stored.find((e) => e.severity === "info")!.body).toBe('{"step":"captured","amount":12.5}');
    expect(stored.find((e) => e.severity === "warning")!.type).toBe("checkout_api.payment_slow");
  });

  it("reports records it cannot map in partialSuccess and stores the rest", async () => {
    const res = await fetch(`${proc.url}/v1/logs`, {
      method: "POST",
      headers: { authorization: `Bearer ${proc.token}`, "content-type": "application/json" },
      body: JSON.stringify({
        resourceLogs: [
          {
            resource: { attributes: [{ key: "vigil.source", value: { stringValue: "batchjob" } }] },
            scopeLogs: [{ logRecords: [{ timeUnixNano: String(BigInt(Date.now()) * 1_000_000n), body: { stringValue: "ok" } }, { attributes: [{ key: "vigil.type", value: { stringValue: "Bad.Type!" } }] }] }],
          },
        ],
      }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { partialSuccess: { rejectedLogRecords: string; errorMessage: string } };
    expect(body.partialSuccess.rejectedLogRecords).toBe("1");
    expect(body.partialSuccess.errorMessage).toContain("type");
    expect(await events("source=batchjob")).toHaveLength(1);
  });

  it("explains protobuf and malformed bodies", async () => {
    const proto = await fetch(`${proc.url}/v1/logs`, { method: "POST", headers: { authorization: `Bearer ${proc.token}`, "content-type": "application/x-protobuf" }, body: "x" });
    expect(proto.status).toBe(415);
    expect(((await proto.json()) as { error: { message: string } }).error.message).toContain("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=http/json");
    const bad = await fetch(`${proc.url}/v1/logs`, { method: "POST", headers: { authorization: `Bearer ${proc.token}`, "content-type": "application/json" }, body: '{"resourceLogs": 5}' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain("resourceLogs");
  });
});

describe("the collector's own traces", () => {
  it("exports ingest and insert spans over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set", async () => {
    expect((await postBatch(proc.url, proc.token, JSON.stringify([realisticEvent(1)]))).status).toBe(202);
    const deadline = Date.now() + 15_000;
    const names = (): string[] => JSON.stringify(receiver.bodies).match(/"name":"[a-z_.]+"/g) ?? [];
    while (Date.now() < deadline && !(names().includes('"name":"ingest.batch"') && names().includes('"name":"storage.insert_events"'))) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(names()).toContain('"name":"ingest.batch"');
    expect(names()).toContain('"name":"storage.insert_events"');
    expect(JSON.stringify(receiver.bodies)).toContain("vigil-collector-under-test");
  });
});
