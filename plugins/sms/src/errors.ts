/**
 * The error table: what a provider's code means, how bad it is, whether a retry can help,
 * and what to do about it. The SDK and the webhook receivers stamp each failure's
 * category on its event; the collector's error analysis groups by it and shows the rest.
 *
 * Sources: Twilio's error dictionary (twilio.com/docs/api/errors: 20003, 20429, 21211,
 * 21408, 21610, 21614, 30001–30010, 30022, 30032, 30034), Vonage's SMS delivery-receipt
 * error codes (developer.vonage.com, "SMS delivery receipt error codes" 1–99), SMTP reply
 * codes (RFC 5321 §4.2) and Node's socket error codes for proxies.
 */

export const ERROR_CATEGORIES = [
  "authentication",
  "network",
  "rate_limiting",
  "invalid_number",
  "opted_out",
  "carrier_filtering",
  "content",
  "provider",
  "unknown",
] as const;
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];

export type Severity = "critical" | "high" | "medium" | "low";

export interface CategoryInfo {
  severity: Severity;
  /** Whether sending the same message again later can succeed. */
  retryable: boolean;
  recommendation: string;
}

/** What each category means for the campaign, when the code itself says nothing more. */
export const CATEGORIES: Record<ErrorCategory, CategoryInfo> = {
  authentication: {
    severity: "critical",
    retryable: false,
    recommendation: "The sending account's credentials were refused: check the API key, auth token or SMTP login of this server, and that the account is active. Every message through it will fail until fixed.",
  },
  network: {
    severity: "high",
    retryable: true,
    recommendation: "The server or the handset could not be reached: retry with backoff; if one server keeps failing, move traffic to another and check its connectivity.",
  },
  rate_limiting: {
    severity: "high",
    retryable: true,
    recommendation: "The provider is throttling: slow the send rate (messages per second per number or sender), spread the campaign over more senders, or ask the provider for a higher limit. Retry after the delay it asks for.",
  },
  invalid_number: {
    severity: "low",
    retryable: false,
    recommendation: "The number does not exist, is a landline or is malformed: remove it from the list and validate numbers (E.164) before sending.",
  },
  opted_out: {
    severity: "low",
    retryable: false,
    recommendation: "The recipient unsubscribed (STOP) or refused messages: remove them from this and future campaigns; sending again breaks consent rules.",
  },
  carrier_filtering: {
    severity: "high",
    retryable: false,
    recommendation: "The carrier blocked the message as spam or unregistered traffic: register the sender (A2P 10DLC, toll-free verification), avoid URL shorteners and spam-like wording, and keep volumes steady.",
  },
  content: {
    severity: "medium",
    retryable: false,
    recommendation: "The message body was refused (too long, bad encoding or forbidden content): shorten it, check its characters and the rules of the destination country.",
  },
  provider: {
    severity: "medium",
    retryable: true,
    recommendation: "The provider had a problem of its own or refused the route: retry later; if it persists, check the provider's status page and the account's permissions for this destination.",
  },
  unknown: {
    severity: "medium",
    retryable: true,
    recommendation: "The cause is not known: retry once, and look at the error text; add the code to the table if it recurs.",
  },
};

export interface ErrorEntry {
  /** `twilio`, `vonage`, `smtp` or `proxy`. */
  namespace: string;
  code: string;
  title: string;
  category: ErrorCategory;
  /** Overrides of the category's defaults for this code. */
  severity?: Severity;
  retryable?: boolean;
  recommendation?: string;
}

const e = (namespace: string, code: string, title: string, category: ErrorCategory, extra: Partial<ErrorEntry> = {}): ErrorEntry => ({ namespace, code, title, category, ...extra });

export const ERROR_TABLE: ErrorEntry[] = [
  // Twilio
  e("twilio", "20003", "Authentication error", "authentication"),
  e("twilio", "20429", "Too many requests", "rate_limiting"),
  e("twilio", "21211", "Invalid 'To' phone number", "invalid_number"),
  e("twilio", "21408", "Permission to send an SMS has not been enabled for the region", "provider", { retryable: false, recommendation: "Enable the destination country in the Twilio console's geographic permissions, then send again." }),
  e("twilio", "21610", "Attempt to send to unsubscribed recipient", "opted_out"),
  e("twilio", "21614", "'To' number is not a valid mobile number", "invalid_number"),
  e("twilio", "30001", "Queue overflow", "rate_limiting", { recommendation: "Twilio's queue for the sender is full (over 4 hours of messages): send slower or from more numbers." }),
  e("twilio", "30002", "Account suspended", "authentication", { recommendation: "The Twilio account is suspended: contact Twilio support; nothing can be sent until it is lifted." }),
  e("twilio", "30003", "Unreachable destination handset", "network", { severity: "medium", recommendation: "The phone is off or out of coverage: retry later (hours, not seconds); after repeated failures treat the number as unreachable." }),
  e("twilio", "30004", "Message blocked", "carrier_filtering", { recommendation: "The recipient or their carrier blocks messages from this sender: do not retry; remove the number if it recurs." }),
  e("twilio", "30005", "Unknown destination handset", "invalid_number"),
  e("twilio", "30006", "Landline or unreachable carrier", "invalid_number", { recommendation: "The number is a landline or its carrier cannot receive SMS: remove it, or use Twilio Lookup to screen numbers before the campaign." }),
  e("twilio", "30007", "Message filtered (carrier violation)", "carrier_filtering"),
  e("twilio", "30008", "Unknown error", "unknown"),
  e("twilio", "30009", "Missing inbound segment", "provider"),
  e("twilio", "30010", "Message price exceeds max price", "provider", { retryable: false, recommendation: "Raise the MaxPrice of the request or remove it; the route costs more than allowed." }),
  e("twilio", "30022", "US A2P 10DLC rate limits exceeded", "rate_limiting", { recommendation: "The brand's 10DLC throughput is exceeded: send slower or raise the campaign's trust score." }),
  e("twilio", "30032", "Toll-free number has not been verified", "carrier_filtering", { recommendation: "Verify the toll-free number with Twilio before sending to US/Canada." }),
  e("twilio", "30034", "Message from an unregistered number", "carrier_filtering", { recommendation: "Register the number for A2P 10DLC (brand and campaign) before sending to the US." }),
  // Vonage delivery-receipt err-code
  e("vonage", "1", "Unknown", "unknown"),
  e("vonage", "2", "Absent subscriber (temporary)", "network", { severity: "medium" }),
  e("vonage", "3", "Absent subscriber (permanent)", "invalid_number"),
  e("vonage", "4", "Call barred by user", "opted_out"),
  e("vonage", "5", "Portability error", "provider"),
  e("vonage", "6", "Anti-spam rejection", "carrier_filtering"),
  e("vonage", "7", "Handset busy", "network", { severity: "low" }),
  e("vonage", "8", "Network error", "network"),
  e("vonage", "9", "Illegal number", "invalid_number"),
  e("vonage", "10", "Illegal message", "content"),
  e("vonage", "11", "Unroutable", "provider", { retryable: false }),
  e("vonage", "12", "Destination unreachable", "network"),
  e("vonage", "13", "Subscriber age restriction", "carrier_filtering"),
  e("vonage", "14", "Number blocked by carrier", "carrier_filtering"),
  e("vonage", "15", "Prepaid insufficient funds", "invalid_number", { severity: "low", retryable: true, recommendation: "The recipient's prepaid balance is empty: retry later." }),
  e("vonage", "16", "Gateway quota exceeded", "rate_limiting"),
  e("vonage", "50", "Entity filter", "carrier_filtering"),
  e("vonage", "51", "Header filter", "carrier_filtering"),
  e("vonage", "52", "Content filter", "content"),
  e("vonage", "53", "Consent filter", "opted_out"),
  e("vonage", "99", "General error", "unknown"),
  // SMTP (e-mail-to-SMS gateways)
  e("smtp", "421", "Service not available, closing channel", "network"),
  e("smtp", "450", "Mailbox unavailable (temporary)", "provider"),
  e("smtp", "451", "Local error in processing", "provider"),
  e("smtp", "452", "Insufficient system storage", "provider"),
  e("smtp", "530", "Authentication required", "authentication"),
  e("smtp", "535", "Authentication credentials invalid", "authentication"),
  e("smtp", "550", "Mailbox unavailable", "invalid_number", { recommendation: "The gateway has no such recipient (the number or its carrier domain is wrong): fix the address or remove the number." }),
  e("smtp", "552", "Message exceeds storage allocation", "content"),
  e("smtp", "553", "Mailbox name not allowed", "invalid_number"),
  e("smtp", "554", "Transaction failed (rejected)", "carrier_filtering"),
  // Proxies
  e("proxy", "407", "Proxy authentication required", "authentication"),
  e("proxy", "429", "Too many requests", "rate_limiting"),
  e("proxy", "502", "Bad gateway", "provider"),
  e("proxy", "503", "Service unavailable", "provider"),
  e("proxy", "504", "Gateway timeout", "network"),
  e("proxy", "ECONNREFUSED", "Connection refused", "network"),
  e("proxy", "ECONNRESET", "Connection reset", "network"),
  e("proxy", "ETIMEDOUT", "Connection timed out", "network"),
  e("proxy", "EHOSTUNREACH", "Host unreachable", "network"),
  e("proxy", "ENOTFOUND", "Proxy host not found", "network", { retryable: false, recommendation: "The proxy's host name does not resolve: fix the proxy address in the sending app's configuration." }),
];

const byKey = new Map(ERROR_TABLE.map((entry) => [`${entry.namespace}:${entry.code.toUpperCase()}`, entry]));

/** Which namespace a code belongs to, from who reported it and through which kind of server. */
export function errorNamespace(reporter: string, serverKind: string, code: string): string {
  if (reporter === "twilio" || reporter === "vonage") return reporter;
  if (serverKind === "smtp") return "smtp";
  if (serverKind === "proxy") return "proxy";
  // An API provider's code reported by the app: Twilio's are five digits.
  return /^\d{5}$/.test(code) ? "twilio" : /^\d{1,2}$/.test(code) ? "vonage" : "proxy";
}

export interface Diagnosis extends CategoryInfo {
  category: ErrorCategory;
  /** The table's title for the code, or the error text. */
  title: string;
  /** Whether the code was found in the table (false: guessed from the text, or unknown). */
  known: boolean;
}

/** Words in an error text that tell the category when the code is not in the table. */
const TEXT_HINTS: [RegExp, ErrorCategory][] = [
  [/auth|credential|password|forbidden|unauthori[sz]ed|api key/i, "authentication"],
  [/rate|throttl|too many|quota|limit exceeded/i, "rate_limiting"],
  [/unsubscri|opt(ed)?[ -]?out|\bstop\b|consent|blacklist/i, "opted_out"],
  [/spam|filter|blocked|violation|unregistered/i, "carrier_filtering"],
  [/invalid (phone|number|recipient|destination)|not a valid|landline|unknown (subscriber|destination)/i, "invalid_number"],
  [/timeout|timed out|unreachable|refused|reset|network|dns|connect/i, "network"],
  [/content|body|too long|encoding/i, "content"],
];

export function diagnose(input: { reporter: string; serverKind: string; code: string; text: string }): Diagnosis {
  const code = input.code.trim();
  if (code) {
    const entry = byKey.get(`${errorNamespace(input.reporter, input.serverKind, code)}:${code.toUpperCase()}`);
    if (entry) {
      const info = CATEGORIES[entry.category];
      return {
        category: entry.category,
        title: entry.title,
        known: true,
        severity: entry.severity ?? info.severity,
        retryable: entry.retryable ?? info.retryable,
        recommendation: entry.recommendation ?? info.recommendation,
      };
    }
  }
  const hint = TEXT_HINTS.find(([pattern]) => pattern.test(input.text));
  const category = hint ? hint[1] : "unknown";
  return { category, title: input.text || (code ? `code ${code}` : "no error text"), known: false, ...CATEGORIES[category] };
}
