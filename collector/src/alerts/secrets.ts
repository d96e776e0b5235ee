import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeFileDurably } from "@vigil/plugin-sdk";

/**
 * Encrypts channel secrets (webhook URLs that embed tokens, SMTP passwords, signing
 * secrets) before they reach ClickHouse: AES-256-GCM, a fresh IV per value, so a backup
 * or a `SELECT *` shows nothing usable.
 *
 * The key comes from VIGIL_SECRET_KEY (any text of 16+ characters; it is hashed to 256
 * bits). Without it, a random key is made once in `<data dir>/secret.key` (mode 0600):
 * fine for one collector; replicas sharing a ClickHouse server must share
 * VIGIL_SECRET_KEY, or they cannot read each other's channels.
 */
export interface SecretBox {
  seal(plain: Record<string, unknown>): string;
  open(sealed: string): Record<string, unknown>;
}

const VERSION = "v1";

export async function openSecretBox(options: { secretKey?: string | undefined; dataDir: string }): Promise<SecretBox> {
  const key = options.secretKey ? createHash("sha256").update(options.secretKey).digest() : await keyFile(join(options.dataDir, "secret.key"));
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const body = Buffer.concat([cipher.update(JSON.stringify(plain), "utf8"), cipher.final()]);
      return [VERSION, iv.toString("base64"), cipher.getAuthTag().toString("base64"), body.toString("base64")].join(":");
    },
    open(sealed) {
      if (sealed === "") return {};
      const [version, iv, tag, body] = sealed.split(":");
      if (version !== VERSION || !iv || !tag || body === undefined) throw new Error("a channel's secrets are in an unknown format");
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64"));
      decipher.setAuthTag(Buffer.from(tag, "base64"));
      try {
        const text = Buffer.concat([decipher.update(Buffer.from(body, "base64")), decipher.final()]).toString("utf8");
        return JSON.parse(text) as Record<string, unknown>;
      } catch {
        throw new Error("a channel's secrets cannot be decrypted: VIGIL_SECRET_KEY differs from the one they were stored with");
      }
    },
  };
}

async function keyFile(path: string): Promise<Buffer> {
  try {
    const text = readFileSync(path, "utf8").trim();
    const key = Buffer.from(text, "base64");
    if (key.length === 32) return key;
    throw new Error(`${path} does not hold a 32-byte base64 key: restore it, or set VIGIL_SECRET_KEY`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  mkdirSync(dirname(path), { recursive: true });
  const key = randomBytes(32);
  await writeFileDurably(path, key.toString("base64") + "\n", { mode: 0o600 });
  return key;
}
