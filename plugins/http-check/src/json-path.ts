/**
 * The small JSONPath subset health checks need: "$", then ".key" and "[index]" steps,
 * e.g. "$.checks[0].status". No filters or wildcards: a check compares one value.
 */
export type JsonPathStep = string | number;

const STEP = /\.([^.[\]]+)|\[(\d+)\]/y;

/** The steps of `path`, or undefined when it is not a path of this subset. */
export function parseJsonPath(path: string): JsonPathStep[] | undefined {
  if (!path.startsWith("$")) return undefined;
  const steps: JsonPathStep[] = [];
  STEP.lastIndex = 1;
  while (STEP.lastIndex < path.length) {
    const match = STEP.exec(path);
    if (!match) return undefined;
    steps.push(match[1] !== undefined ? match[1] : Number(match[2]));
  }
  return steps;
}

export type Lookup = { found: true; value: unknown } | { found: false };

/** The value at `steps` inside `document`; an index only walks arrays and a key only objects. */
export function lookUp(document: unknown, steps: readonly JsonPathStep[]): Lookup {
  let current: unknown = document;
  for (const step of steps) {
    if (typeof step === "number") {
      if (!Array.isArray(current) || step >= current.length) return { found: false };
      current = current[step];
    } else {
      if (current === null || typeof current !== "object" || Array.isArray(current) || !Object.hasOwn(current, step)) return { found: false };
      current = (current as Record<string, unknown>)[step];
    }
  }
  return { found: true, value: current };
}
