// OAuth round trips without server state. Starting one writes nothing: its secrets (state, nonce,
// PKCE verifier) and, for a connection or a setup link, whose round trip it is, travel in a
// short-lived __Host- cookie sealed with AES-256-GCM. The purpose and the expiry are bound as
// associated data, so a cookie cannot be replayed for another flow or kept alive by editing it.
// Single use is enforced where the callback writes: claimFlowState inserts the state's hash, and a
// replay breaks the primary key (src/db/usedFlowStates.ts).
//
// The key: HKDF-SHA256 of each TOKEN_ENCRYPTION_KEYS key, with its own `info`. No new secret to
// provision, keep and rotate, yet the derived key is independent of the token vault's: nothing
// sealed for one opens as the other, and a derived key reveals nothing about the vault key. The
// key id travels in the cookie, so after a rotation a round trip started under the previous key
// still completes (the old key stays in the secret until `rotate-token-key` has run anyway).
import { decodeBase64urlIgnorePadding, encodeBase64urlNoPadding } from "@oslojs/encoding";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { SQL } from "drizzle-orm";
import type { AppContext } from "../context.ts";
import type { Db } from "../db/client.ts";
import type { AuthFlowPurpose } from "../db/schema.ts";
import { runStatements } from "../db/statements.ts";
import { claimFlowState, flowStateWasUsed, isReplayedFlowState } from "../db/usedFlowStates.ts";
import { sha256Base64url } from "../lib/crypto.ts";
import { AppError } from "../lib/errors.ts";
import { parseTokenEncryptionKeys } from "../lib/vault.ts";
import { OAuthFlowError, buildAuthorizationRequest, type OAuthProvider } from "./oauth.ts";

const FLOW_COOKIE = "__Host-uniasset_flow";
const FLOW_LIFETIME_MS = 10 * 60 * 1000;
const VERSION = "f1";
const HKDF_INFO = "uniasset identity edge: OAuth flow cookie v1";
/** A sealed flow is a few hundred bytes; anything much longer is not ours. */
const MAX_COOKIE_LENGTH = 2048;

interface FlowOptions {
  purpose: AuthFlowPurpose;
  organizationId?: string;
  userId?: string;
  /** connect_entra: the tenant named by the admin; the authority becomes tenant-specific. */
  tenantId?: string;
  /** setup_consent: the setup link in use. */
  setupLinkId?: string;
}

/** A round trip in progress, as its callback gets it back from the cookie. */
export interface Flow {
  purpose: AuthFlowPurpose;
  state: string;
  nonce: string;
  codeVerifier: string;
  organizationId: string | null;
  userId: string | null;
  tenantId: string | null;
  setupLinkId: string | null;
  expiresAt: number;
}

/** Starts an authorization-code round trip and returns the provider URL to redirect to. */
export async function startFlow(
  c: Context<AppContext>,
  options: FlowOptions & { provider: OAuthProvider; redirectUri: string; scope?: string },
): Promise<string> {
  let request;
  try {
    request = await buildAuthorizationRequest(options.provider, c.get("config"), options);
  } catch (error) {
    // The discovery document could not be read: Microsoft is unreachable, not a server error of ours.
    if (error instanceof OAuthFlowError)
      throw new AppError("provider_unavailable", "We couldn't reach the sign-in provider. Please try again in a few minutes.", {
        cause: error,
      });
    throw error;
  }
  await saveFlow(c, options, { state: request.state, nonce: request.nonce, codeVerifier: request.codeVerifier });
  return request.url.toString();
}

/**
 * Seals a round trip's secrets into the browser's flow cookie. Also used directly for Microsoft's
 * admin consent endpoint, which has a `state` but no code, nonce or verifier to keep.
 */
export async function saveFlow(
  c: Context<AppContext>,
  options: FlowOptions,
  secrets: { state: string; nonce: string; codeVerifier: string },
): Promise<void> {
  const flow: Flow = {
    purpose: options.purpose,
    ...secrets,
    organizationId: options.organizationId ?? null,
    userId: options.userId ?? null,
    tenantId: options.tenantId ?? null,
    setupLinkId: options.setupLinkId ?? null,
    expiresAt: Date.now() + FLOW_LIFETIME_MS,
  };
  setCookie(c, FLOW_COOKIE, await sealFlow(c.get("config").TOKEN_ENCRYPTION_KEYS, flow), {
    path: "/",
    secure: true,
    httpOnly: true,
    sameSite: "Lax",
    maxAge: FLOW_LIFETIME_MS / 1000,
  });
}

/**
 * The browser's round trip for `purpose`, read from its cookie (which is cleared): missing,
 * tampered, of another purpose or expired → refused. Reads no database; single use is the
 * caller's claim (flowClaim in its write batch, or useFlowOnce).
 */
export async function takeFlow(c: Context<AppContext>, purpose: AuthFlowPurpose): Promise<Flow> {
  const cookie = getCookie(c, FLOW_COOKIE);
  deleteCookie(c, FLOW_COOKIE, { path: "/", secure: true });
  const flow = cookie ? await openFlow(c.get("config").TOKEN_ENCRYPTION_KEYS, cookie, purpose, Date.now()) : null;
  if (!flow) throw expiredOrUsed();
  return flow;
}

/** The write that uses the round trip up; it belongs in the callback's own write batch. */
export async function flowClaim(flow: Flow, premise?: SQL): Promise<SQL> {
  return claimFlowState(await sha256Base64url(flow.state), flow.expiresAt, premise);
}

/**
 * Whether the round trip was used already. A replay of a completed callback (back button, reload,
 * a stolen URL with its cookie) is first refused by the provider, which burnt the code: this tells
 * that case apart from a code refused for another reason, on that failure path only.
 */
export async function flowWasUsed(db: Db, flow: Flow): Promise<boolean> {
  return flowStateWasUsed(db, await sha256Base64url(flow.state));
}

/** Uses the round trip up on its own (callbacks whose writes come later or not at all). */
export async function useFlowOnce(db: Db, flow: Flow): Promise<void> {
  try {
    await runStatements(db, [await flowClaim(flow)]);
  } catch (error) {
    if (isReplayedFlowState(error)) throw expiredOrUsed();
    throw error;
  }
}

export function expiredOrUsed(): AppError {
  return new AppError(
    "sign_in_failed",
    "This sign-in link has expired or was already used, or it was started in another browser. Please start again.",
  );
}

/** `<keyId>.<expiresAt>.<iv>.<ciphertext‖tag>`; exported for tests, which tamper with it. */
export async function sealFlow(secret: string, flow: Flow): Promise<string> {
  const { currentKeyId, keys } = await flowKeys(secret);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const payload = {
    s: flow.state,
    n: flow.nonce,
    v: flow.codeVerifier,
    o: flow.organizationId,
    u: flow.userId,
    t: flow.tenantId,
    l: flow.setupLinkId,
  };
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: associatedData(flow.purpose, flow.expiresAt, currentKeyId) },
    keys.get(currentKeyId)!,
    new TextEncoder().encode(JSON.stringify(payload)),
  );
  return [
    currentKeyId,
    flow.expiresAt.toString(36),
    encodeBase64urlNoPadding(iv),
    encodeBase64urlNoPadding(new Uint8Array(ciphertext)),
  ].join(".");
}

/** Opens a flow cookie for `purpose`; null for anything not sealed by us for it, or expired. */
export async function openFlow(secret: string, cookie: string, purpose: AuthFlowPurpose, now: number): Promise<Flow | null> {
  if (cookie.length > MAX_COOKIE_LENGTH) return null;
  const [keyId, expires, ivText, sealedText, extra] = cookie.split(".");
  if (!keyId || !expires || !ivText || !sealedText || extra !== undefined || !/^[0-9a-z]{1,12}$/.test(expires)) return null;
  const expiresAt = parseInt(expires, 36);
  if (!(expiresAt > now) || expiresAt > now + FLOW_LIFETIME_MS) return null;
  const key = (await flowKeys(secret)).keys.get(keyId);
  if (!key) return null;
  let plaintext: ArrayBuffer;
  try {
    const iv = decodeBase64urlIgnorePadding(ivText);
    if (iv.length !== 12) return null;
    plaintext = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv, additionalData: associatedData(purpose, expiresAt, keyId) },
      key,
      decodeBase64urlIgnorePadding(sealedText),
    );
  } catch {
    return null; // bad encoding, or authentication failed: altered, another purpose, another expiry
  }
  const p = JSON.parse(new TextDecoder().decode(plaintext)) as Record<string, string | null>;
  if (typeof p.s !== "string" || typeof p.n !== "string" || typeof p.v !== "string") return null;
  return {
    purpose,
    state: p.s,
    nonce: p.n,
    codeVerifier: p.v,
    organizationId: p.o ?? null,
    userId: p.u ?? null,
    tenantId: p.t ?? null,
    setupLinkId: p.l ?? null,
    expiresAt,
  };
}

function associatedData(purpose: AuthFlowPurpose, expiresAt: number, keyId: string): Uint8Array {
  return new TextEncoder().encode(`${VERSION}|${purpose}|${expiresAt}|${keyId}`);
}

type AesKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
const keyrings = new Map<string, Promise<{ currentKeyId: string; keys: Map<string, AesKey> }>>();

function flowKeys(secret: string) {
  let keyring = keyrings.get(secret);
  if (!keyring) {
    keyring = deriveFlowKeys(secret);
    if (keyrings.size >= 4) keyrings.delete(keyrings.keys().next().value!);
    keyrings.set(secret, keyring);
  }
  return keyring;
}

async function deriveFlowKeys(secret: string) {
  const entries = parseTokenEncryptionKeys(secret);
  const keys = new Map<string, AesKey>();
  for (const { id, key } of entries) {
    const master = await crypto.subtle.importKey("raw", key, "HKDF", false, ["deriveKey"]);
    key.fill(0);
    keys.set(
      id,
      await crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(32), info: new TextEncoder().encode(HKDF_INFO) },
        master,
        { name: "AES-GCM", length: 256 },
        false,
        ["encrypt", "decrypt"],
      ),
    );
  }
  return { currentKeyId: entries[0]!.id, keys };
}
