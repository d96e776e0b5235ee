import { afterEach } from "vitest";
import { setCsrfToken } from "../../src/lib/api.js";
import { session } from "../../src/lib/session.svelte.js";
import type { Role } from "../../src/lib/types.js";

/** The CSRF token of a test's session: lib/api sends it on every request that changes something. */
export const CSRF = "csrf-7";

/** Signs in Ada (id u1) with `role`, as a login does: the session holds her and the CSRF token. Signed out after the test. */
export function signIn(role: Role): void {
  session.user = { id: "u1", email: "ada@example.com", name: "Ada", role, tenant: "t1" };
  session.status = "authenticated";
  session.csrf = CSRF;
  setCsrfToken(CSRF);
}

afterEach(() => {
  session.user = null;
  session.status = "unknown";
  session.csrf = null;
  setCsrfToken(null);
});
