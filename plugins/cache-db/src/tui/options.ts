import { parseArgs } from "node:util";
import { z } from "zod";
import { APP_NAME, OPS, type Op } from "../contract.js";

export const DEFAULT_URL = "http://127.0.0.1:4600";
export const MIN_INTERVAL_S = 1;
export const MAX_INTERVAL_S = 10;
export const DEFAULT_INTERVAL_S = 2;
export const MAX_FILTER_LENGTH = 200;

export const USAGE = `vigil-cache-monitor — live cache/DB metrics and event log from a Vigil collector

Usage:
  vigil-cache-monitor [options]

Options:
  --url URL            the collector (env VIGIL_URL, default ${DEFAULT_URL})
  --key KEY            API key sent as "Authorization: Bearer KEY" (env VIGIL_API_KEY)
  --app NAME           only this app
  --interval SECONDS   refresh every ${MIN_INTERVAL_S}..${MAX_INTERVAL_S} s (default ${DEFAULT_INTERVAL_S})
  --filter KEY_LABEL   only this key label
  --type OP            only this operation: ${OPS.join("|")}
  --once               print one frame and exit
  -h, --help           print this help

Keys, when run in a terminal:
  p         pause / resume
  + / -     refresh interval up / down (${MIN_INTERVAL_S}..${MAX_INTERVAL_S} s)
  f         type a key-label filter, Enter applies it (empty clears it), Esc cancels
  q Ctrl-C  quit

Colours are off when the output is not a terminal or NO_COLOR is set.
Exit codes: 0 ok; 1 the collector could not be read (--once); 2 invalid usage.
The collector must load this plugin's collector part: vigil-collector --plugin @vigil/plugin-cache-db
`;

export interface MonitorOptions {
  url: string;
  key: string | undefined;
  app: string | undefined;
  intervalS: number;
  filter: string | undefined;
  type: Op | undefined;
  once: boolean;
}

export type ParsedCommandLine = { kind: "help" } | { kind: "run"; options: MonitorOptions } | { kind: "invalid"; message: string };

const FLAGS = {
  url: { type: "string", example: "--url http://127.0.0.1:4600" },
  key: { type: "string", example: "--key vgl_…" },
  app: { type: "string", example: "--app checkout" },
  interval: { type: "string", example: "--interval 5" },
  filter: { type: "string", example: "--filter user" },
  type: { type: "string", example: "--type cache_read" },
  once: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

type Flag = keyof typeof FLAGS;

function isFlag(name: string): name is Flag {
  return Object.hasOwn(FLAGS, name);
}

const INTERVAL_RANGE = `must be a whole number of seconds from ${MIN_INTERVAL_S} to ${MAX_INTERVAL_S}, e.g. --interval 5`;

/** Each field says what it must be and how to write it; the flag (or variable) is named in front. */
const optionsSchema = z.object({
  url: z
    .string()
    .trim()
    .refine((value) => {
      try {
        const url = new URL(value);
        return url.protocol === "http:" || url.protocol === "https:";
      } catch {
        return false;
      }
    }, "must be an http(s) URL of the collector, e.g. http://127.0.0.1:4600"),
  key: z.string().trim().min(1, "must not be empty: give the API key, e.g. --key vgl_…").optional(),
  app: z
    .string()
    .regex(APP_NAME, "must be an app name: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    .optional(),
  intervalS: z
    .string()
    .trim()
    .regex(/^\d+$/, INTERVAL_RANGE)
    .transform(Number)
    .pipe(z.number().min(MIN_INTERVAL_S, INTERVAL_RANGE).max(MAX_INTERVAL_S, INTERVAL_RANGE)),
  filter: z.string().max(MAX_FILTER_LENGTH, `must be a key label of at most ${MAX_FILTER_LENGTH} characters`).optional(),
  type: z.enum(OPS, { error: `must be one of ${OPS.join(", ")}` }).optional(),
  once: z.boolean(),
});

type Field = keyof z.input<typeof optionsSchema>;

/**
 * Parses the command line (and VIGIL_URL / VIGIL_API_KEY). Every problem names the flag,
 * or the environment variable the value came from, and says how to fix it.
 */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedCommandLine {
  const { tokens } = parseArgs({ args: [...argv], options: FLAGS, strict: false, allowPositionals: true, tokens: true });
  const problems: string[] = [];
  const given: Partial<Record<Flag, string | boolean>> = {};
  for (const token of tokens) {
    if (token.kind === "option-terminator") continue;
    if (token.kind === "positional") {
      problems.push(`unexpected argument "${token.value}": every option is a --flag`);
      continue;
    }
    if (!isFlag(token.name)) {
      problems.push(`unknown option ${token.rawName}`);
      continue;
    }
    const spec = FLAGS[token.name];
    if (spec.type === "boolean") {
      if (token.value !== undefined) problems.push(`${token.rawName} takes no value`);
      else given[token.name] = true;
    } else if (token.value === undefined || (!token.inlineValue && token.value.startsWith("--"))) {
      problems.push(`${token.rawName} needs a value, e.g. ${spec.example}`);
    } else given[token.name] = token.value;
  }
  if (given.help) return { kind: "help" };
  if (problems.length > 0) return invalid(problems);

  const source: Record<Field, string> = { url: "--url", key: "--key", app: "--app", intervalS: "--interval", filter: "--filter", type: "--type", once: "--once" };
  const text = (flag: Flag) => given[flag] as string | undefined;
  let url = text("url");
  if (url === undefined && env.VIGIL_URL) {
    url = env.VIGIL_URL;
    source.url = "VIGIL_URL";
  }
  let key = text("key");
  if (key === undefined && env.VIGIL_API_KEY) {
    key = env.VIGIL_API_KEY;
    source.key = "VIGIL_API_KEY";
  }
  const filter = text("filter");
  const result = optionsSchema.safeParse({
    url: url ?? DEFAULT_URL,
    key,
    app: text("app"),
    intervalS: text("interval") ?? String(DEFAULT_INTERVAL_S),
    filter: filter === "" ? undefined : filter,
    type: text("type"),
    once: given.once === true,
  });
  if (!result.success) {
    return invalid(
      result.error.issues.map((issue) => {
        const field = issue.path[0] as Field;
        return `${source[field]}: ${issue.message}`;
      }),
    );
  }
  const { key: apiKey, app, filter: keyLabel, type, intervalS, once } = result.data;
  return { kind: "run", options: { url: result.data.url.replace(/\/+$/, ""), key: apiKey, app, intervalS, filter: keyLabel, type, once } };
}

function invalid(problems: readonly string[]): ParsedCommandLine {
  return { kind: "invalid", message: `${problems.join("\n")}\nRun "vigil-cache-monitor --help" for the options.` };
}
