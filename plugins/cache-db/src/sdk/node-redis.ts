import { INSTRUMENTED, observe, type Recorder } from "./recorder.js";
import { commandSpec, startCommand, type CommandSpec } from "./redis-commands.js";

type SendCommand = (this: unknown, args: unknown[], options?: unknown) => unknown;
type Method = (this: unknown, ...args: unknown[]) => unknown;

interface NodeRedisV5 {
  _self?: { sendCommand?: SendCommand; _executeCommand?: unknown; [INSTRUMENTED]?: true };
}
interface NodeRedisV4 {
  sendCommand?: SendCommand;
  commandsExecutor?: unknown;
  [INSTRUMENTED]?: true;
}

/**
 * Instruments a node-redis client in place (the object `createClient()` returned keeps
 * working as before; the same object is returned).
 *
 * v5: every command method (`get`, `mGet`, `hGetAll`, …, in either case) and
 * `sendCommand` go through the client's internal `_self.sendCommand` with the wire
 * arguments, so that one function is wrapped and each command is recorded once.
 * v4: command methods reach the socket through a private method, so each recorded
 * command's methods (`get` and `GET`, …) are wrapped on the instance, and `sendCommand`
 * too.
 *
 * Not recorded: MULTI and pipelines (they bypass sendCommand), replies served by v5's
 * client-side cache, module commands (`client.json.get`, …) on v4, and commands outside
 * the table of redis-commands.ts.
 */
export function instrumentNodeRedis<T extends object>(client: T, recorder: Recorder): T {
  const v5 = (client as NodeRedisV5)._self;
  if (v5 !== undefined && v5 !== null && typeof v5.sendCommand === "function" && typeof v5._executeCommand === "function") {
    if (!v5[INSTRUMENTED]) {
      v5.sendCommand = wrapSendCommand(v5.sendCommand, recorder);
      Object.defineProperty(v5, INSTRUMENTED, { value: true });
    }
    return client;
  }
  const v4 = client as NodeRedisV4;
  if (typeof v4.commandsExecutor === "function" && typeof v4.sendCommand === "function") {
    if (!v4[INSTRUMENTED]) {
      const methods = client as Record<string, unknown>;
      for (const [name, spec] of commandMethods(client)) methods[name] = wrapMethod(methods[name] as Method, spec, recorder);
      v4.sendCommand = wrapSendCommand(v4.sendCommand, recorder);
      Object.defineProperty(v4, INSTRUMENTED, { value: true });
    }
    return client;
  }
  throw new TypeError("instrumentNodeRedis expects a node-redis v4 or v5 client (from createClient()); for ioredis use instrumentIoredis");
}

function wrapSendCommand(original: SendCommand, recorder: Recorder): SendCommand {
  return function sendCommand(this: unknown, args: unknown[], options?: unknown): unknown {
    const spec = recorder.active() && Array.isArray(args) ? commandSpec(args[0]) : undefined;
    if (spec === undefined) return original.call(this, args, options);
    const settled = startCommand(recorder, spec, args, 1);
    const sent = original.call(this, args, options);
    return sent instanceof Promise ? observe(sent, settled) : sent;
  };
}

/**
 * The client's command methods that the table knows: camelCase and upper-case names
 * lower-case to the command. Read from property descriptors, not by access: some of the
 * client's getters throw (v4's `v4` outside legacy mode).
 */
function commandMethods(client: object): [string, CommandSpec][] {
  const found = new Map<string, CommandSpec>();
  for (let proto: object | null = Object.getPrototypeOf(client); proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (found.has(name) || name === "sendCommand") continue;
      const spec = commandSpec(name);
      if (spec !== undefined && typeof Object.getOwnPropertyDescriptor(proto, name)?.value === "function") found.set(name, spec);
    }
  }
  return [...found];
}

/** node-redis v4 marks command options (`commandOptions({...})`) with a private symbol: an object with an own symbol is taken for them. */
function isCommandOptions(value: unknown): boolean {
  return typeof value === "object" && value !== null && Object.getOwnPropertySymbols(value).length > 0;
}

/**
 * A v4 method's arguments in wire order, which is all the item counts need: arrays are
 * spread and objects become field, value, … (`mGet([a, b])`, `mSet({a: 1})`,
 * `hSet(key, {f: v})`, `del([a, b])`). Options such as SET's `{EX: 10}` also spread, but
 * only commands counting one item take them.
 */
function wireArguments(args: unknown[]): unknown[] {
  const wire: unknown[] = [];
  const add = (value: unknown): void => {
    if (Array.isArray(value)) for (const item of value) add(item);
    else if (typeof value === "object" && value !== null && !Buffer.isBuffer(value)) for (const [field, item] of Object.entries(value)) (wire.push(field), add(item));
    else wire.push(value);
  };
  args.forEach((arg, i) => {
    if (i > 0 || !isCommandOptions(arg)) add(arg);
  });
  return wire;
}

function wrapMethod(original: Method, spec: CommandSpec, recorder: Recorder): Method {
  return function command(this: unknown, ...args: unknown[]): unknown {
    if (!recorder.active()) return original.apply(this, args);
    const settled = startCommand(recorder, spec, wireArguments(args), 0);
    const sent = original.apply(this, args);
    return sent instanceof Promise ? observe(sent, settled) : sent;
  };
}
