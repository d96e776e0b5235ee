import { connect } from "node:tls";
import { isIP } from "node:net";

const DAY_MS = 86_400_000;

/**
 * Whole days until the certificate served at `url`'s host:port expires (negative once
 * expired), or undefined when no certificate could be read. The certificate is read
 * without verifying it: an expired or untrusted certificate is exactly the one whose
 * date matters. Nothing is sent over the connection.
 */
export function certificateDaysLeft(url: string, options: { timeoutMs: number; signal: AbortSignal; now?: () => number }): Promise<number | undefined> {
  const target = new URL(url);
  if (target.protocol !== "https:") return Promise.resolve(undefined);
  const host = target.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(target.port || 443);
  const now = options.now ?? Date.now;

  return new Promise((resolve) => {
    if (options.signal.aborted) return resolve(undefined);
    const socket = connect({ host, port, rejectUnauthorized: false, ...(isIP(host) === 0 ? { servername: host } : {}) });
    const timer = setTimeout(() => finish(undefined), options.timeoutMs);
    const onAbort = () => finish(undefined);
    options.signal.addEventListener("abort", onAbort, { once: true });

    function finish(days: number | undefined) {
      clearTimeout(timer);
      options.signal.removeEventListener("abort", onAbort);
      socket.destroy();
      resolve(days);
    }

    socket.once("secureConnect", () => {
      const expires = Date.parse(socket.getPeerCertificate().valid_to ?? "");
      finish(Number.isFinite(expires) ? Math.floor((expires - now()) / DAY_MS) : undefined);
    });
    socket.once("error", () => finish(undefined));
  });
}
