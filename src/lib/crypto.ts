// Small WebCrypto helpers shared by sessions, OAuth flows and CSRF.
import { encodeBase64urlNoPadding } from "@oslojs/encoding";

/** 256 random bits from the CSPRNG, base64url: session tokens, flow ids. */
export function randomToken(): string {
  return encodeBase64urlNoPadding(crypto.getRandomValues(new Uint8Array(32)));
}

export async function sha256Base64url(value: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value));
  return encodeBase64urlNoPadding(new Uint8Array(digest));
}

/** Constant-time comparison for secrets of equal length (CSRF tokens, state). */
export function timingSafeEqual(a: string, b: string): boolean {
  const left = new TextEncoder().encode(a);
  const right = new TextEncoder().encode(b);
  if (left.length !== right.length) return false;
  let diff = 0;
  for (let i = 0; i < left.length; i++) diff |= left[i]! ^ right[i]!;
  return diff === 0;
}
