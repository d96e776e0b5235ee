// Plain JavaScript, so both the TypeScript tests and plain-JS fixture plugins (which the
// agent loads with import()) generate exactly the same events.
import { uuidv7 } from "@vigil/plugin-sdk";

const HOSTS = ["api.example.com", "shop.example.com", "status.example.org", "cdn.example.net"];
const REGIONS = ["eu-west", "us-east", "ap-south"];
const BODY_WORDS = "checked endpoint responded within budget cache warm retry skipped tls valid redirect followed".split(" ");

/** A realistic HTTP-check event: 8 attrs and a ~200-byte body. */
export function realisticEvent(i, now = Date.now()) {
  const host = HOSTS[i % HOSTS.length];
  let body = `GET https://${host}/health/${i % 97} `;
  while (body.length < 200) body += `${BODY_WORDS[(i + body.length) % BODY_WORDS.length]} `;
  const ts = now - (i % 1000);
  return {
    id: uuidv7(ts),
    ts,
    source: "http",
    type: "http.check",
    severity: i % 50 === 0 ? "warning" : "info",
    attrs: {
      url_host: host,
      region: REGIONS[i % REGIONS.length],
      status_code: i % 50 === 0 ? 503 : 200,
      latency_ms: 20 + (i % 180),
      ok: i % 50 !== 0,
      check_name: `check-${i % 25}`,
      attempt: 1 + (i % 3),
      tls_days_left: 30 + (i % 60),
    },
    body: body.slice(0, 200),
  };
}
