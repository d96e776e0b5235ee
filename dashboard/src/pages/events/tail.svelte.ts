import type { LiveEventsData } from "../../lib/types.js";
import { matchesAttrs, type AttrFilter } from "./filters.js";
import type { ShownEvent } from "./EventItem.svelte";

/** How many tailed events stay on screen (and wait while paused); older ones fall off. */
export const TAIL_LIMIT = 500;

let nextKey = 1;

/**
 * The live tail's events, newest first. While paused, arrivals wait in `pending` and
 * the list on screen stays still (so a row being read does not scroll away); `resume`
 * puts them on top. Whatever exceeds TAIL_LIMIT is counted in `dropped`, as are events
 * the server itself skipped (more than 200 in one message).
 */
export class LiveTail {
  events = $state.raw<ShownEvent[]>([]);
  pending = $state.raw<ShownEvent[]>([]);
  paused = $state(false);
  dropped = $state(0);

  receive(data: LiveEventsData, attrFilters: AttrFilter[]): void {
    const arrived: ShownEvent[] = [];
    for (const e of data.events) {
      if (!matchesAttrs(e.attrs, attrFilters)) continue;
      arrived.push({ ...e, key: `live-${nextKey++}`, live: true });
    }
    this.dropped += data.skipped;
    if (arrived.length === 0) return;
    // The topic sends newest last; the list shows newest first.
    arrived.reverse();
    if (this.paused) this.pending = this.cap([...arrived, ...this.pending]);
    else this.events = this.cap([...arrived, ...this.events]);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.events = this.cap([...this.pending, ...this.events]);
    this.pending = [];
    this.paused = false;
  }

  clear(): void {
    this.events = [];
    this.pending = [];
    this.dropped = 0;
  }

  private cap(list: ShownEvent[]): ShownEvent[] {
    if (list.length <= TAIL_LIMIT) return list;
    this.dropped += list.length - TAIL_LIMIT;
    return list.slice(0, TAIL_LIMIT);
  }
}
