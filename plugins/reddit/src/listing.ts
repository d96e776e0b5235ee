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

/** Subreddit names: 2–21 letters, digits or underscores (Reddit's rule). */
export const SUBREDDIT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_]{1,20}$/;
