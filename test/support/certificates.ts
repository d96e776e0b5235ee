import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface CertificateAuthority {
  /** The CA's certificate (PEM), what a client is told to trust. */
  caPath: string;
  /** A server certificate for 127.0.0.1 and localhost signed by that CA, and its key (PEM). */
  cert: string;
  key: string;
}

/**
 * A private CA and a server certificate it signed, made with the openssl CLI in `dir`: the
 * setup of a ClickHouse server behind an in-house CA, which clients trust through a CA file.
 */
export function makeCertificateAuthority(dir: string, days = 2): CertificateAuthority {
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl("req", "-x509", ...ec, "-keyout", file("ca.key"), "-out", file("ca.pem"), "-days", String(days), "-subj", "/CN=Vigil test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  openssl("req", ...ec, "-keyout", file("server.key"), "-out", file("server.csr"), "-subj", "/CN=localhost");
  const extensions = file("server.ext");
  writeFileSync(extensions, "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  openssl("x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial", "-out", file("server.pem"), "-days", String(days), "-extfile", extensions);
  return { caPath: file("ca.pem"), cert: readFileSync(file("server.pem"), "utf8"), key: readFileSync(file("server.key"), "utf8") };
}
