// Small encoding and randomness helpers shared by the identity, Graph and admin routes.

export function base64url(bytes: Uint8Array | ArrayBuffer): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = "";
  for (const b of view) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function base64urlDecode(text: string): Uint8Array {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const binary = atob(padded);
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}

export function encodeJson(value: unknown): string {
  return base64url(new TextEncoder().encode(JSON.stringify(value)));
}

/** Decodes an opaque token the emulator made itself; anything malformed is `undefined`. */
export function decodeJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(new TextDecoder().decode(base64urlDecode(text))) as T;
  } catch {
    return undefined;
  }
}

/** An unguessable opaque value (codes, tokens). */
export function randomToken(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** 32-bit FNV-1a: a stable, cheap hash for deriving synthetic ids from a seed. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

export function hex(value: number, width: number): string {
  return value.toString(16).padStart(width, "0").slice(-width);
}
