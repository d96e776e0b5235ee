import { OP_DB_READ, OP_DB_WRITE } from "./codes.js";

export interface Statement {
  op: number;
  /** The first table after FROM, INTO or UPDATE, lower-case; "query" when there is none. */
  table: string;
}

const READ_WORDS = new Set(["select", "table", "values", "show", "explain", "fetch"]);
const WRITE_WORDS = new Set(["insert", "update", "delete", "merge", "upsert", "copy", "create", "alter", "drop", "truncate", "replace"]);
const DATA_CHANGE = /\b(?:insert|update|delete|merge)\b/i;
const IDENTIFIER = String.raw`(?:"[^"]+"|[A-Za-z_][\w$]*)`;
const FIRST_TABLE = new RegExp(String.raw`\b(?:from|into|update)\s+(${IDENTIFIER}(?:\s*\.\s*${IDENTIFIER})?)`, "i");
/** Leading blanks, comments (line and block) and opening parentheses. */
const PREAMBLE = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/|\()*/;
const FIRST_WORD = /^[A-Za-z]+/;

/** Distinct statement texts remembered: apps send few distinct texts (parameters are separate), so the regexes run once each. */
const MAX_CACHED = 1000;
const cache = new Map<string, Statement | null>();

/**
 * Read or write, and the table, of a SQL text: SELECT, TABLE, VALUES, SHOW, EXPLAIN and
 * a WITH whose statements change no data are reads; INSERT, UPDATE, DELETE, MERGE, COPY
 * and DDL are writes. Transaction control and session commands (BEGIN, COMMIT, SET,
 * LISTEN, …) are neither and return undefined: they are not recorded.
 */
export function classifySql(text: string): Statement | undefined {
  const known = cache.get(text);
  if (known !== undefined) return known ?? undefined;
  const statement = parse(text);
  if (cache.size < MAX_CACHED) cache.set(text, statement ?? null);
  return statement;
}

function parse(text: string): Statement | undefined {
  const body = text.slice(PREAMBLE.exec(text)![0].length);
  const word = FIRST_WORD.exec(body)?.[0].toLowerCase();
  let op: number;
  if (word === undefined) return undefined;
  if (READ_WORDS.has(word)) op = OP_DB_READ;
  else if (WRITE_WORDS.has(word)) op = OP_DB_WRITE;
  else if (word === "with") op = DATA_CHANGE.test(body) ? OP_DB_WRITE : OP_DB_READ;
  else return undefined;
  const table = FIRST_TABLE.exec(body)?.[1];
  return { op, table: table === undefined ? "query" : table.replace(/"/g, "").replace(/\s+/g, "").toLowerCase() };
}
