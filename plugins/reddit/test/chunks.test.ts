import { describe, expect, it } from "vitest";
import { regroup, wantedSubreddits } from "../src/chunks.js";

describe("stream groups", () => {
  it("fills groups up to the limit", () => {
    expect(regroup([], ["a1", "b2", "c3"], 2)).toEqual([
      { id: "g1", subreddits: ["a1", "b2"] },
      { id: "g2", subreddits: ["c3"] },
    ]);
  });

  it("leaves unaffected groups untouched when subreddits come and go", () => {
    const before = regroup([], ["a1", "b2", "c3", "d4"], 2);
    const after = regroup(before, ["a1", "b2", "d4", "e5"], 2);
    // g1 keeps exactly its subreddits (its streams keep running); c3 left g2, e5 took its place.
    expect(after).toEqual([
      { id: "g1", subreddits: ["a1", "b2"] },
      { id: "g2", subreddits: ["d4", "e5"] },
    ]);
  });

  it("compares names case-insensitively and drops emptied groups without reusing their ids", () => {
    const before = regroup([], ["Alpha", "beta", "gamma"], 1);
    const after = regroup(before, ["alpha", "gamma", "delta"], 1);
    expect(after).toEqual([
      { id: "g1", subreddits: ["Alpha"] },
      { id: "g3", subreddits: ["gamma"] },
      { id: "g4", subreddits: ["delta"] },
    ]);
  });

  it("moves the overflow when the group size shrinks", () => {
    const before = regroup([], ["a1", "b2", "c3"], 3);
    expect(regroup(before, ["a1", "b2", "c3"], 2)).toEqual([
      { id: "g1", subreddits: ["a1", "b2"] },
      { id: "g2", subreddits: ["c3"] },
    ]);
  });

  it("needs the monitored list only for keywords scoped to all", () => {
    expect(wantedSubreddits([{ subreddits: ["x1"] }], ["m1", "m2"])).toEqual(["x1"]);
    expect(wantedSubreddits([{ subreddits: ["x1"] }, { subreddits: [] }], ["m1"])).toEqual(["m1", "x1"]);
    expect(wantedSubreddits([], ["m1"])).toEqual([]);
  });
});
