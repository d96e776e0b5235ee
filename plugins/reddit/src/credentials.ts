import { z } from "zod";

/** Reddit's rule for API clients: `<platform>:<app ID>:<version string> (by /u/<reddit username>)`. */
export const USER_AGENT_PATTERN = /^[^:\s]+:[^:\s]+:[^:\s]+ \(by \/u\/[A-Za-z0-9_-]{3,20}\)$/;

/**
 * Credentials under snoowrap's field names, so a snoowrap configuration moves over
 * unchanged. The grant follows from what is given: `refreshToken` → refresh-token grant;
 * `username` + `password` → password grant (a script app); neither → app-only
 * client credentials.
 */
export const credentialsSchema = z
  .object({
    userAgent: z
      .string()
      .regex(
        USER_AGENT_PATTERN,
        'userAgent must follow Reddit\'s form "<platform>:<app id>:<version> (by /u/<username>)", e.g. "linux:vigil-monitor:1.0.0 (by /u/example_user)"',
      )
      .describe("User-Agent in Reddit's required form."),
    clientId: z.string().min(1, "clientId is required: the id under your app at reddit.com/prefs/apps").describe("The app's client id."),
    clientSecret: z.string().default("").describe("The app's secret (empty for installed apps)."),
    refreshToken: z.string().min(1).optional().describe("A refresh token (refresh-token grant)."),
    username: z.string().min(1).optional().describe("Reddit user of a script app (password grant)."),
    password: z.string().min(1).optional().describe("That user's password (password grant)."),
  })
  .strict()
  .superRefine((value, ctx) => {
    if ((value.username === undefined) !== (value.password === undefined)) {
      ctx.addIssue({ code: "custom", path: [value.username === undefined ? "username" : "password"], message: "username and password go together (password grant): give both or neither" });
    }
  });

export type Credentials = z.output<typeof credentialsSchema>;

export type Grant = { grant_type: "refresh_token"; refresh_token: string } | { grant_type: "password"; username: string; password: string } | { grant_type: "client_credentials" };

export function grantFor(credentials: Credentials): Grant {
  if (credentials.refreshToken) return { grant_type: "refresh_token", refresh_token: credentials.refreshToken };
  if (credentials.username && credentials.password) return { grant_type: "password", username: credentials.username, password: credentials.password };
  return { grant_type: "client_credentials" };
}
