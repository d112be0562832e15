// The token vault: Entra refresh tokens, access tokens and delta links are stored only as
// AES-256-GCM ciphertext (WebCrypto), never in the clear.
//
// Stored format (a compact, SQL- and URL-safe string):
//   v1.<keyId>.<base64url IV (12 bytes)>.<base64url ciphertext‖tag (≥ 16 bytes)>
// Every seal draws a fresh random 96-bit IV. The associated data binds the ciphertext to the
// format version, the key id, the organization, the Entra tenant and the column it belongs to,
// so a value copied into another organization's row, another tenant or another column is
// refused. Keys come from the TOKEN_ENCRYPTION_KEYS secret, `id:base64key[,id:base64key…]`:
// the first key seals, every key opens, so keys rotate without downtime (docs/token-vault.md).
//
// Nothing here logs, and no error or result carries a plaintext, a ciphertext or key material.
// This module uses only WebCrypto and @oslojs/encoding so scripts/reencrypt.ts can run it on Node.
import { decodeBase64, decodeBase64urlIgnorePadding, encodeBase64, encodeBase64urlNoPadding } from "@oslojs/encoding";

/**
 * The column a sealed value lives in: entra_connections.<field>_enc; client_state:
 * realtime_subscriptions.client_state_enc; webhook_secret: a webhook endpoint's signing secret
 * (webhook_endpoints.secret_enc and previous_secret_enc); scim_token_display: a new SCIM token on its way
 * from Generate's POST to the page that shows it once (a cookie of a few seconds, bound to the session).
 */
export type VaultField = "refresh_token" | "access_token" | "delta_link" | "client_state" | "webhook_secret" | "scim_token_display";

const VAULT_FIELDS: readonly VaultField[] = [
  "refresh_token",
  "access_token",
  "delta_link",
  "client_state",
  "webhook_secret",
  "scim_token_display",
];

/** Whose value this is: the row's identity, bound into the ciphertext as associated data. */
export interface VaultContext {
  organizationId: string;
  /** The row's second key: the Entra tenant for tokens, the endpoint id for a webhook secret. */
  tenantId: string;
  field: VaultField;
}

/** Why a stored value was refused. */
export type OpenFailureReason =
  /** Not a vault value at all (wrong shape, version, encoding or lengths). */
  | "malformed"
  /** Sealed under a key id the secret no longer (or never) contained. */
  | "unknown_key"
  /** Authentication failed: altered ciphertext or IV, or the wrong organization/tenant/field. */
  | "tampered";

type OpenFailure = { ok: false; reason: OpenFailureReason };
type OpenResult = { ok: true; value: string } | OpenFailure;
type ResealResult = { ok: true; value: string; changed: boolean } | OpenFailure;

export interface TokenVault {
  /** Id of the key that seals (the first entry of the secret). */
  readonly currentKeyId: string;
  /** Encrypts `plaintext` for `context` under the current key, with a fresh IV. */
  seal(plaintext: string, context: VaultContext): Promise<string>;
  /** Decrypts a stored value for `context`; refuses anything not sealed by us for that context. */
  open(sealed: string, context: VaultContext): Promise<OpenResult>;
  /** True when a well-formed stored value was sealed under a key other than the current one. */
  needsRotation(sealed: string): boolean;
  /** Opens and, if sealed under an older key, seals again under the current key. */
  reseal(sealed: string, context: VaultContext): Promise<ResealResult>;
}

/** TOKEN_ENCRYPTION_KEYS is missing or malformed. The message never contains key material. */
export class TokenVaultConfigError extends Error {
  constructor(message: string) {
    super(`TOKEN_ENCRYPTION_KEYS ${message}`);
    this.name = "TokenVaultConfigError";
  }
}

const VERSION = "v1";
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const AAD_LABEL = "uniasset-token-vault";
const MAX_CACHED_KEYRINGS = 8;

// (Spelled this way so the module type-checks under both workers-types and @types/node.)
type AesKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

interface Keyring {
  currentKeyId: string;
  keys: ReadonlyMap<string, Promise<AesKey>>;
}

// Keyrings by secret string: keys are parsed and imported once per isolate (per process in the
// re-encrypt script). A handful of entries covers a rotation; the bound only matters in tests.
const keyrings = new Map<string, Keyring>();

/** The vault for the Worker's configured secret (Env.TOKEN_ENCRYPTION_KEYS). */
export function tokenVault(env: { TOKEN_ENCRYPTION_KEYS: string }): TokenVault {
  return createTokenVault(env.TOKEN_ENCRYPTION_KEYS);
}

/**
 * Builds a vault from a TOKEN_ENCRYPTION_KEYS value. Throws TokenVaultConfigError when the secret
 * is malformed; CryptoKeys are imported lazily, once per secret.
 */
export function createTokenVault(secret: string): TokenVault {
  const keyring = loadKeyring(secret);
  const { currentKeyId } = keyring;

  async function seal(plaintext: string, context: VaultContext): Promise<string> {
    if (typeof plaintext !== "string") throw new TypeError("token vault: plaintext must be a string");
    const aad = associatedData(currentKeyId, context);
    const key = await keyring.keys.get(currentKeyId)!;
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const ciphertext = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: aad, tagLength: TAG_BYTES * 8 },
      key,
      new TextEncoder().encode(plaintext),
    );
    return [VERSION, currentKeyId, encodeBase64urlNoPadding(iv), encodeBase64urlNoPadding(new Uint8Array(ciphertext))].join(".");
  }

  async function open(sealed: string, context: VaultContext): Promise<OpenResult> {
    // Checked first: a bad context is a programming error (thrown), not bad stored data.
    assertContext(context);
    const parsed = parseSealed(sealed);
    if (!parsed) return { ok: false, reason: "malformed" };
    const aad = associatedData(parsed.keyId, context);
    const keyPromise = keyring.keys.get(parsed.keyId);
    if (!keyPromise) return { ok: false, reason: "unknown_key" };
    const key = await keyPromise;
    let plaintext: ArrayBuffer;
    try {
      plaintext = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: parsed.iv, additionalData: aad, tagLength: TAG_BYTES * 8 },
        key,
        parsed.ciphertext,
      );
    } catch {
      return { ok: false, reason: "tampered" };
    }
    try {
      return { ok: true, value: new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(plaintext) };
    } catch {
      // Unreachable for values we sealed (authenticated UTF-8); never hand back garbage.
      return { ok: false, reason: "tampered" };
    }
  }

  function needsRotation(sealed: string): boolean {
    const parsed = parseSealed(sealed);
    return parsed !== null && parsed.keyId !== currentKeyId;
  }

  async function reseal(sealed: string, context: VaultContext): Promise<ResealResult> {
    const opened = await open(sealed, context);
    if (!opened.ok) return opened;
    if (!needsRotation(sealed)) return { ok: true, value: sealed, changed: false };
    return { ok: true, value: await seal(opened.value, context), changed: true };
  }

  return Object.freeze({ currentKeyId, seal, open, needsRotation, reseal });
}

/** The key id a stored value names, or null when it is not a well-formed vault value. */
export function sealedKeyId(sealed: string): string | null {
  return parseSealed(sealed)?.keyId ?? null;
}

function loadKeyring(secret: string): Keyring {
  const cached = keyrings.get(secret);
  if (cached) return cached;
  const entries = parseTokenEncryptionKeys(secret);
  const keys = new Map<string, Promise<AesKey>>();
  for (const { id, key } of entries) {
    keys.set(
      id,
      crypto.subtle.importKey("raw", key, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]).finally(() => key.fill(0)),
    );
  }
  const keyring: Keyring = { currentKeyId: entries[0]!.id, keys };
  if (keyrings.size >= MAX_CACHED_KEYRINGS) keyrings.delete(keyrings.keys().next().value!);
  keyrings.set(secret, keyring);
  return keyring;
}

/**
 * Parses `id:base64key[,id:base64key…]` strictly: ids of 1–32 characters [A-Za-z0-9_-], unique;
 * keys of exactly 32 bytes in standard padded base64 (`openssl rand -base64 32`), all different.
 * Whitespace around the whole value and around entries is ignored (a trailing newline from
 * `wrangler secret put` is common). Errors name entries by position, never by their content.
 */
export function parseTokenEncryptionKeys(secret: string): { id: string; key: Uint8Array }[] {
  if (typeof secret !== "string" || secret.trim() === "") {
    throw new TokenVaultConfigError("is not set: expected id:base64key[,id:base64key…]");
  }
  const parts = secret.trim().split(",");
  const entries: { id: string; key: Uint8Array }[] = [];
  const seenKeys = new Set<string>();
  parts.forEach((raw, index) => {
    const where = `entry ${index + 1} of ${parts.length}`;
    const part = raw.trim();
    if (part === "") throw new TokenVaultConfigError(`is malformed: ${where} is empty (stray comma?)`);
    const colon = part.indexOf(":");
    if (colon < 0) throw new TokenVaultConfigError(`is malformed: ${where} is not of the form id:base64key`);
    const id = part.slice(0, colon);
    const encoded = part.slice(colon + 1);
    if (!KEY_ID.test(id)) {
      throw new TokenVaultConfigError(`is malformed: the id of ${where} must be 1–32 characters of A–Z a–z 0–9 _ -`);
    }
    if (entries.some((entry) => entry.id === id)) {
      throw new TokenVaultConfigError(`is malformed: key id "${id}" appears more than once`);
    }
    const key = decodeStrictBase64(encoded);
    if (!key || key.length !== KEY_BYTES) {
      throw new TokenVaultConfigError(
        `is malformed: key "${id}" must be ${KEY_BYTES} random bytes in standard base64 (44 characters, e.g. from \`openssl rand -base64 32\`)`,
      );
    }
    const fingerprint = encodeBase64(key);
    if (seenKeys.has(fingerprint)) {
      throw new TokenVaultConfigError(`is malformed: key "${id}" repeats the key of an earlier entry`);
    }
    seenKeys.add(fingerprint);
    entries.push({ id, key });
  });
  return entries;
}

function decodeStrictBase64(encoded: string): Uint8Array | null {
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) return null;
  try {
    const bytes = decodeBase64(encoded);
    // Canonical only: no stray bits in the last character.
    return encodeBase64(bytes) === encoded ? bytes : null;
  } catch {
    return null;
  }
}

function decodeStrictBase64url(encoded: string): Uint8Array | null {
  if (!BASE64URL.test(encoded)) return null;
  try {
    const bytes = decodeBase64urlIgnorePadding(encoded);
    return encodeBase64urlNoPadding(bytes) === encoded ? bytes : null;
  } catch {
    return null;
  }
}

interface ParsedSealed {
  keyId: string;
  iv: Uint8Array;
  ciphertext: Uint8Array;
}

function parseSealed(sealed: string): ParsedSealed | null {
  if (typeof sealed !== "string") return null;
  const parts = sealed.split(".");
  if (parts.length !== 4) return null;
  const [version, keyId, ivText, ciphertextText] = parts as [string, string, string, string];
  if (version !== VERSION || !KEY_ID.test(keyId)) return null;
  const iv = decodeStrictBase64url(ivText);
  const ciphertext = decodeStrictBase64url(ciphertextText);
  if (!iv || iv.length !== IV_BYTES || !ciphertext || ciphertext.length < TAG_BYTES) return null;
  return { keyId, iv, ciphertext };
}

function assertContext(context: VaultContext): void {
  if (typeof context !== "object" || context === null) throw new TypeError("token vault: missing context");
  if (typeof context.organizationId !== "string" || context.organizationId === "") {
    throw new TypeError("token vault: context.organizationId must be a non-empty string");
  }
  if (typeof context.tenantId !== "string" || context.tenantId === "") {
    throw new TypeError("token vault: context.tenantId must be a non-empty string");
  }
  if (!VAULT_FIELDS.includes(context.field)) {
    throw new TypeError("token vault: context.field must be refresh_token, access_token or delta_link");
  }
}

/**
 * The associated data: a JSON array of strings, which is unambiguous (no separator an id could
 * contain). Binding the version and key id too means the header can't be rewritten.
 */
function associatedData(keyId: string, context: VaultContext): Uint8Array {
  assertContext(context);
  return new TextEncoder().encode(JSON.stringify([AAD_LABEL, VERSION, keyId, context.organizationId, context.tenantId, context.field]));
}
