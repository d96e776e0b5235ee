import { pino, type Logger } from "pino";

/** JSON lines on stdout; pretty on a terminal. Keys and Authorization headers are redacted. */
export function createAgentLogger(options: { format: "json" | "pretty" | "auto"; level: string }): Logger {
  const pretty = options.format === "pretty" || (options.format === "auto" && process.stdout.isTTY === true);
  return pino({
    level: options.level,
    base: { component: "agent" },
    redact: { paths: ["api_key", "*.api_key", "authorization", "*.authorization", "headers.authorization"], censor: "[redacted]" },
    ...(pretty ? { transport: { target: "pino-pretty", options: { colorize: true, translateTime: "SYS:HH:MM:ss.l" } } } : {}),
  });
}
