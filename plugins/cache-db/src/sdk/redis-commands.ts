import { OP_CACHE_READ, OP_CACHE_WRITE, RESULT_ERROR, RESULT_HIT, RESULT_MISS, RESULT_PARTIAL } from "./codes.js";
import type { Recorder } from "./recorder.js";

/**
 * Which Redis commands the wrappers record, and how. Both clients come down to the same
 * wire form (command name, then arguments, keys first), so ioredis and node-redis share
 * this table. Commands not listed (SCAN, PUBLISH, INFO, EVAL, …) pass through
 * unrecorded: they have no single key, or no hit/miss meaning.
 */

/** How a read's reply says hit or miss. */
type Reply =
  /** null/undefined is a miss (GET, HGET, ZSCORE, …). */
  | "value"
  /** One entry per key or field, null (or 0) for the missing: hit, partial or miss (MGET, HMGET, …). */
  | "positional"
  /** Empty is a miss (HGETALL, SMEMBERS, LRANGE, …). */
  | "collection"
  /** A count of the keys found among those asked (EXISTS). */
  | "found"
  /** 1/true is a hit (SISMEMBER, HEXISTS). */
  | "flag"
  /** 0 is a miss (STRLEN, LLEN, …: 0 for a missing key). */
  | "size"
  /** -2 is a miss (TTL, PTTL: -2 for a missing key). */
  | "ttl";

/** How many items the op reads or writes, from its arguments (after the command name). */
type Items =
  /** One key. */
  | "one"
  /** Every argument is a key (MGET, DEL, EXISTS). */
  | "keys"
  /** key value key value … (MSET). */
  | "pairs"
  /** key, then one item per argument (HMGET fields, SADD members, RPUSH values). */
  | "rest"
  /** key, then field value pairs (HSET). */
  | "rest-pairs";

export interface CommandSpec {
  op: number;
  reply: Reply;
  items: Items;
}

function read(reply: Reply, items: Items = "one"): CommandSpec {
  return { op: OP_CACHE_READ, reply, items };
}
function write(items: Items = "one"): CommandSpec {
  return { op: OP_CACHE_WRITE, reply: "value", items };
}

const COMMANDS = new Map<string, CommandSpec>([
  ...(["get", "getex", "getdel", "getrange", "hget", "hrandfield", "lindex", "lpos", "srandmember", "zscore", "zrank", "zrevrank", "json.get", "dump"] as const).map((name) => [name, read("value")] as const),
  ["mget", read("positional", "keys")],
  ["hmget", read("positional", "rest")],
  ["smismember", read("positional", "rest")],
  ["zmscore", read("positional", "rest")],
  ...(["hgetall", "hkeys", "hvals", "lrange", "smembers", "zrange", "zrangebyscore", "zrevrange", "zrevrangebyscore", "zrangebylex", "zrevrangebylex", "xrange", "xrevrange"] as const).map((name) => [name, read("collection")] as const),
  ...(["sinter", "sunion", "sdiff"] as const).map((name) => [name, read("collection", "keys")] as const),
  ["exists", read("found", "keys")],
  ["sismember", read("flag")],
  ["hexists", read("flag")],
  ...(["strlen", "hlen", "hstrlen", "llen", "scard", "zcard", "zcount", "xlen", "pfcount"] as const).map((name) => [name, read("size")] as const),
  ["ttl", read("ttl")],
  ["pttl", read("ttl")],
  ...([
    "set", "setex", "psetex", "setnx", "getset", "append", "setrange", "setbit",
    "expire", "pexpire", "expireat", "pexpireat", "persist",
    "incr", "incrby", "incrbyfloat", "decr", "decrby",
    "hsetnx", "hincrby", "hincrbyfloat",
    "lpop", "rpop", "lset", "lrem", "ltrim", "linsert",
    "spop", "smove", "zadd", "zincrby", "zremrangebyscore", "zremrangebyrank", "zremrangebylex", "zpopmin", "zpopmax",
    "rename", "renamenx", "copy", "restore", "xadd", "xtrim", "json.set", "json.del", "json.merge",
  ] as const).map((name) => [name, write()] as const),
  ["mset", write("pairs")],
  ["msetnx", write("pairs")],
  ["del", write("keys")],
  ["unlink", write("keys")],
  ["hset", write("rest-pairs")],
  ["hmset", write("rest-pairs")],
  ...(["hdel", "lpush", "rpush", "lpushx", "rpushx", "sadd", "srem", "zrem", "pfadd", "xdel"] as const).map((name) => [name, write("rest")] as const),
]);

/** The spec of a command name in any case (string or Buffer), or undefined to pass it through. */
export function commandSpec(name: unknown): CommandSpec | undefined {
  if (typeof name !== "string") return typeof name === "object" && name !== null && Buffer.isBuffer(name) ? commandSpec(name.toString("latin1")) : undefined;
  return COMMANDS.get(name) ?? COMMANDS.get(name.toLowerCase());
}

function itemCount(items: Items, args: ArrayLike<unknown>, first: number): number {
  const n = args.length - first;
  switch (items) {
    case "one":
      return 1;
    case "keys":
      return n;
    case "pairs":
      return n >>> 1;
    case "rest":
      return n - 1;
    case "rest-pairs":
      return (n - 1) >>> 1;
  }
}

function isEmpty(reply: unknown): boolean {
  if (reply === null || reply === undefined) return true;
  if (Array.isArray(reply) || typeof reply === "string" || Buffer.isBuffer(reply)) return reply.length === 0;
  if (reply instanceof Map || reply instanceof Set) return reply.size === 0;
  if (typeof reply === "object") {
    for (const _ in reply) return false;
    return true;
  }
  return false;
}

function readResult(reply: Reply, value: unknown, items: number): number {
  switch (reply) {
    case "value":
      return value === null || value === undefined ? RESULT_MISS : RESULT_HIT;
    case "collection":
      return isEmpty(value) ? RESULT_MISS : RESULT_HIT;
    case "flag":
      return value === 1 || value === true ? RESULT_HIT : RESULT_MISS;
    case "size":
      return typeof value === "number" && value > 0 ? RESULT_HIT : RESULT_MISS;
    case "ttl":
      return value === -2 ? RESULT_MISS : RESULT_HIT;
    case "found":
      return partOf(typeof value === "number" ? value : 0, items);
    case "positional": {
      if (!Array.isArray(value)) return RESULT_MISS;
      let found = 0;
      for (const entry of value) if (entry !== null && entry !== undefined && entry !== 0 && entry !== false) found++;
      return partOf(found, value.length);
    }
  }
}

function partOf(found: number, of: number): number {
  if (found <= 0) return RESULT_MISS;
  return found >= of ? RESULT_HIT : RESULT_PARTIAL;
}

function keyText(key: unknown): string {
  if (typeof key === "string") return key;
  if (Buffer.isBuffer(key)) return key.toString("latin1");
  return String(key);
}

/**
 * Starts timing one recognised command; returns what records it once it settled. A read
 * that failed counts as a miss (the app got nothing from the cache) and a failed write as
 * a write, both flagged `error` in the event.
 */
export function startCommand(recorder: Recorder, spec: CommandSpec, args: ArrayLike<unknown>, first: number): (reply: unknown, error: unknown) => void {
  const started = recorder.now();
  return function commandSettled(reply: unknown, error: unknown): void {
    const durationMs = recorder.now() - started;
    const items = itemCount(spec.items, args, first);
    const result = spec.op !== OP_CACHE_READ ? 0 : error !== undefined ? RESULT_MISS : readResult(spec.reply, reply, items);
    recorder.record(spec.op, keyText(args[first]), error !== undefined ? result | RESULT_ERROR : result, items, durationMs, "redis");
  };
}
