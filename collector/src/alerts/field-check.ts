import type { TenantScope } from "../storage/tenant-scope.js";
import { Params, attrExpr, selectionSql } from "./compile.js";
import type { Rule } from "./rule.js";

/**
 * A rule that aggregates an attribute must aggregate a number. The schema refuses the
 * text columns; this looks at the attribute's recent values (last 24 h, same selection)
 * and refuses the rule when there are some and none is a number, naming the field and
 * showing what it holds. An attribute never seen yet is accepted: its events may come later.
 */
export async function nonNumericFields(scope: TenantScope, rule: Rule, now = Date.now()): Promise<{ path: string; message: string }[]> {
  const fields: { path: string; name: string }[] = [];
  if ((rule.kind === "threshold" || rule.kind === "anomaly") && rule.field) fields.push({ path: "field", name: rule.field });
  if (rule.kind === "threshold" && rule.numerator?.field) fields.push({ path: "numerator.field", name: rule.numerator.field });
  if (rule.kind === "threshold" && rule.denominator?.field) fields.push({ path: "denominator.field", name: rule.denominator.field });
  const problems: { path: string; message: string }[] = [];
  for (const field of fields) {
    const params = new Params();
    const attr = attrExpr(field.name, params);
    const rows = await scope.query<{ v: string; numeric: number }>(
      `SELECT ${attr} AS v, isNotNull(toFloat64OrNull(${attr})) AS numeric
       FROM ${scope.table("events")}
       WHERE tenant = {tenant:String} AND ${selectionSql(rule, params)}
         AND ts > fromUnixTimestamp64Milli(${params.bind(now - 86_400_000, "Int64")}, 'UTC')
         AND mapContains(attrs, ${params.bind(field.name, "String")})
       LIMIT 50`,
      params.values,
    );
    if (rows.length > 0 && rows.every((row) => !Number(row.numeric))) {
      const examples = [...new Set(rows.map((row) => JSON.stringify(row.v.slice(0, 40))))].slice(0, 3).join(", ");
      problems.push({ path: field.path, message: `attribute "${field.name}" holds text, not numbers (recent values: ${examples}): aggregate a numeric attribute, or use count` });
    }
  }
  return problems;
}
