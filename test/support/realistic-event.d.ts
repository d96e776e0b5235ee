import type { EventInput } from "@vigil/plugin-sdk";

/** A realistic HTTP-check event: 8 attrs and a ~200-byte body. */
export declare function realisticEvent(i: number, now?: number): EventInput;
