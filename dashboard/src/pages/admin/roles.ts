import type { Role } from "../../lib/types.js";

/** The roles as the admin pages offer them, with what each may do (mirrors the server's rules). */
export const ROLE_OPTIONS: { value: Role; label: string }[] = [
  { value: "viewer", label: "Viewer — reads everything" },
  { value: "editor", label: "Editor — also changes configuration" },
  { value: "admin", label: "Admin — also manages users and API keys" },
];
