/**
 * A dashboard user's HTTP client for tests: signs in with email and password, keeps the
 * session cookie as a browser would, and sends the CSRF header on state-changing
 * requests unless told not to.
 */
export interface SessionClient {
  cookie: string;
  csrf: string;
  user: { id: string; email: string; name: string; role: string; tenant: string };
  request(method: string, path: string, body?: unknown, options?: { csrf?: boolean }): Promise<{ status: number; json: any; headers: Headers }>;
}

export async function signIn(baseUrl: string, email: string, password: string): Promise<SessionClient> {
  const response = await fetch(`${baseUrl}/api/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password }) });
  const json = (await response.json()) as any;
  if (response.status !== 200) throw Object.assign(new Error(`sign-in failed: ${response.status} ${JSON.stringify(json)}`), { status: response.status, json, headers: response.headers });
  const cookie = response.headers.getSetCookie().map((c) => c.split(";")[0]!).join("; ");
  const client: SessionClient = {
    cookie,
    csrf: json.csrf_token,
    user: json.user,
    async request(method, path, body, options = {}) {
      const headers: Record<string, string> = { cookie: client.cookie };
      if (body !== undefined) headers["content-type"] = "application/json";
      if (method !== "GET" && options.csrf !== false) headers["x-csrf-token"] = client.csrf;
      const res = await fetch(`${baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      let parsed: any;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: res.status, json: parsed, headers: res.headers };
    },
  };
  return client;
}
