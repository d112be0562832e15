// Standard Webhooks signing (https://www.standardwebhooks.com): the signed content is
// `${webhook-id}.${webhook-timestamp}.${body}`, HMAC-SHA256 with the secret's bytes (the base64
// after `whsec_`), sent as `v1,<base64>`; several signatures are space-separated, which is how a
// rotated secret keeps working for a day beside the new one. WebCrypto only.
import { decodeBase64, encodeBase64 } from "@oslojs/encoding";

const SECRET_PREFIX = "whsec_";
const SECRET_BYTES = 32;

/** A new signing secret in the specification's `whsec_<base64>` form. */
export function newSigningSecret(): string {
  return SECRET_PREFIX + encodeBase64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

async function signWith(secret: string, content: string): Promise<string> {
  const keyBytes = decodeBase64(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(content));
  return `v1,${encodeBase64(new Uint8Array(mac))}`;
}

/** The three Standard Webhooks headers for one delivery, signed with every given secret. */
export async function signedHeaders(secrets: readonly string[], message: { id: string; timestampSeconds: number; body: string }) {
  const content = `${message.id}.${message.timestampSeconds}.${message.body}`;
  const signatures = await Promise.all(secrets.map((secret) => signWith(secret, content)));
  return {
    "webhook-id": message.id,
    "webhook-timestamp": String(message.timestampSeconds),
    "webhook-signature": signatures.join(" "),
  };
}
