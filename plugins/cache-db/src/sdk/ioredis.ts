import { INSTRUMENTED, observe, safely, type Recorder } from "./recorder.js";
import { commandSpec, startCommand } from "./redis-commands.js";

/** The part of an ioredis Command the wrapper reads. */
interface IoredisCommand {
  name: string;
  args: unknown[];
  callback?: unknown;
  [SEEN]?: true;
}

type SendCommand = (this: unknown, command: IoredisCommand, stream?: unknown, node?: unknown) => unknown;

/** Marks a Command already timed: ioredis sends a command again after a reconnect or from its offline queue. */
const SEEN = Symbol("vigil.cache-db.seen");

/**
 * Instruments an ioredis `Redis` or `Cluster` in place: every command, whatever method
 * sent it (`get`, `mget`, `call`, …), goes through `sendCommand`, which is wrapped on
 * this instance. The wrapper returns a promise that settles like the original, with the
 * same value or the same error.
 *
 * Not recorded: commands queued in a pipeline or MULTI (`pipeline()`, `multi()`,
 * auto-pipelining), which ioredis sends with a stream argument, and commands outside
 * the table of redis-commands.ts.
 */
export function instrumentIoredis<T extends object>(client: T, recorder: Recorder): T {
  const target = client as T & { sendCommand?: SendCommand; [INSTRUMENTED]?: true };
  if (typeof target.sendCommand !== "function") {
    throw new TypeError("instrumentIoredis expects an ioredis client (new Redis() or new Redis.Cluster()): this object has no sendCommand()");
  }
  if (target[INSTRUMENTED]) return client;
  const original = target.sendCommand;

  target.sendCommand = function sendCommand(this: unknown, command: IoredisCommand, stream?: unknown, node?: unknown): unknown {
    if (stream !== undefined || !recorder.active() || command === null || typeof command !== "object" || command[SEEN]) {
      return original.call(this, command, stream, node);
    }
    const spec = commandSpec(command.name);
    if (spec === undefined || !Array.isArray(command.args)) return original.call(this, command, stream, node);
    command[SEEN] = true;
    const settled = startCommand(recorder, spec, command.args, 0);
    const sent = original.call(this, command, stream, node);
    if (!(sent instanceof Promise)) return sent;
    if (typeof command.callback === "function") {
      // The callback already handles the original promise's rejection; a branch of our
      // own adds no unhandled rejection, and the caller gets the very promise ioredis made.
      sent.then(
        (reply) => safely(settled, reply, undefined),
        (error: unknown) => safely(settled, undefined, error ?? new Error(String(error))),
      );
      return sent;
    }
    return observe(sent, settled);
  };
  Object.defineProperty(target, INSTRUMENTED, { value: true });
  return client;
}
