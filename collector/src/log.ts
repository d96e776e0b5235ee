import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Structured JSON logs on stdout, one event per line; pretty, human-readable lines
 * when stdout is a terminal (or when asked). Anything that could carry a secret is
 * redacted by path, so a careless `log.info({ headers })` cannot leak a key.
 */
export function createLogger(options: { format?: "json" | "pretty" | "auto"; level?: string } = {}): Logger {
  const format = options.format ?? "auto";
  const pretty = format === "pretty" || (format === "auto" && process.stdout.isTTY === true);
  return pino({
    level: options.level ?? "info",
    base: { component: "collector" },
    redact: {
      paths: [
        "token",
        "*.token",
        "authorization",
        "*.authorization",
        "headers.authorization",
        "*.headers.authorization",
        "password",
        "*.password",
        "clickhousePassword",
        "*.clickhousePassword",
        "bootstrapToken",
        "*.bootstrapToken",
      ],
      censor: "[redacted]",
    },
    ...(pretty ? { transport: { target: "pino-pretty", options: { colorize: true, translateTime: "SYS:HH:MM:ss.l" } } } : {}),
  });
}
