import { z } from "zod";
import { SUBREDDIT_PATTERN } from "./keyword-rules.js";

/** The parts of Reddit's listing JSON the plugin reads. */
export interface RedditThing {
  kind: "t1" | "t3" | string;
  data: {
    id: string;
    name: string;
    subreddit: string;
    author?: string;
    permalink?: string;
    created_utc?: number;
    title?: string;
    selftext?: string;
    body?: string;
    link_id?: string;
  };
}

export interface Listing {
  kind: "Listing";
  data: { after: string | null; before: string | null; children: RedditThing[] };
}

/** Reddit ids are base-36 counters: a larger id is a newer item of the same kind. */
export function idValue(id: string): bigint {
  let value = 0n;
  for (const char of id.toLowerCase()) {
    const digit = parseInt(char, 36);
    if (Number.isNaN(digit)) throw new Error(`"${id}" is not a Reddit id`);
    value = value * 36n + BigInt(digit);
  }
  return value;
}

export { SUBREDDIT_PATTERN };

/**
 * One subreddit name, as the keyword API and the config take it. "all" is refused here:
 * Reddit would read it as r/all, while Vigil's "all" means every monitored subreddit and
 * is only accepted alone, in place of a name or a list.
 */
export function subredditNameSchema() {
  return z
    .string()
    .regex(SUBREDDIT_PATTERN, "subreddit names are 2–21 letters, digits or '_' (without r/)")
    .refine((name) => name.toLowerCase() !== "all", '"all" means every monitored subreddit: give it alone ("subreddit": "all"), not as a name in a list');
}
