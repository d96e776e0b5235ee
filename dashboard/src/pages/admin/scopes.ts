import type { Scope } from "../../lib/types.js";

/** API key scopes with what each allows (collector/src/auth/tokens.ts; admin implies the others). */
export const SCOPE_OPTIONS: { value: Scope; label: string; hint: string }[] = [
  { value: "ingest", label: "ingest", hint: "send events, heartbeats and logs — what an agent needs" },
  { value: "read", label: "read", hint: "read events, stats, agents and alerts — dashboards, scripts" },
  { value: "write", label: "write", hint: "also change configuration (keywords, jobs, rules…) — automation" },
  { value: "admin", label: "admin", hint: "everything, including users and keys" },
];
