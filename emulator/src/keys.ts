// Signing keys: one RSA-2048 key per issuer, generated on first use and published as a JWKS.
// A second, never-published key with the same kid lets the tamper API forge a bad signature.
// The published keys are kept in storage and outlive resets and restarts: the app may cache the
// JWKS, and an ID token signed after a restart must still verify against it.
import { persist, persisted } from "./storage.ts";
import { base64url, encodeJson, randomToken } from "./util.ts";

export type Issuer = "microsoft" | "google";

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JsonWebKey;
}

const ALGORITHM = {
  name: "RSASSA-PKCS1-v1_5",
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: "SHA-256",
};

const published = new Map<Issuer, Promise<SigningKey>>();
/** What storage was given for each published key, kept so a restore over emptied storage keeps the key. */
const kept = new Map<Issuer, StoredKey>();
const forged = new Map<Issuer, Promise<SigningKey>>();

/** A published key as storage keeps it. */
interface StoredKey {
  kid: string;
  privateJwk: JsonWebKey;
  publicJwk: JsonWebKey;
}

async function generate(kid: string): Promise<SigningKey & { privateJwk: JsonWebKey }> {
  const pair = (await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"])) as CryptoKeyPair;
  const publicJwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  const privateJwk = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
  return { kid, privateKey: pair.privateKey, publicJwk, privateJwk };
}

function signingKey(issuer: Issuer): Promise<SigningKey> {
  let key = published.get(issuer);
  if (!key) {
    key = generate(`${issuer}-${randomToken(6)}`).then(({ privateJwk, ...made }) => {
      const stored: StoredKey = { kid: made.kid, privateJwk, publicJwk: made.publicJwk };
      kept.set(issuer, stored);
      persist("signingKey", issuer, stored);
      return made;
    });
    published.set(issuer, key);
  }
  return key;
}

/**
 * The kept published keys back in memory (restore.ts); an issuer without one generates it on first
 * use. A key this isolate published that storage no longer holds (storage emptied under a live
 * isolate, as the tests' per-file isolation does) is written back rather than replaced: the app may
 * have cached it from the JWKS, and Microsoft does not roll a signing key without notice.
 */
export async function restoreSigningKeys(): Promise<void> {
  published.clear();
  forged.clear();
  const stored = new Map(persisted<StoredKey>("signingKey").map(({ key, value }) => [key as Issuer, value]));
  for (const [issuer, value] of kept) {
    if (!stored.has(issuer)) {
      persist("signingKey", issuer, value);
      stored.set(issuer, value);
    }
  }
  for (const [key, value] of stored) {
    const privateKey = await crypto.subtle.importKey("jwk", value.privateJwk, { name: ALGORITHM.name, hash: ALGORITHM.hash }, false, [
      "sign",
    ]);
    kept.set(key, value);
    published.set(key, Promise.resolve({ kid: value.kid, privateKey, publicJwk: value.publicJwk }));
  }
}

async function forgedKey(issuer: Issuer): Promise<SigningKey> {
  const real = await signingKey(issuer);
  let key = forged.get(issuer);
  if (!key) {
    key = generate(real.kid);
    forged.set(issuer, key);
  }
  return key;
}

export async function jwks(issuer: Issuer): Promise<{ keys: Record<string, string>[] }> {
  const { kid, publicJwk } = await signingKey(issuer);
  return { keys: [{ kty: "RSA", use: "sig", kid, n: publicJwk.n!, e: publicJwk.e!, alg: "RS256" }] };
}

/** Signs a JWT with RS256; `forge` uses the unpublished key so verification must fail. */
export async function signJwt(issuer: Issuer, claims: Record<string, unknown>, forge = false): Promise<string> {
  const key = forge ? await forgedKey(issuer) : await signingKey(issuer);
  const signingInput = `${encodeJson({ alg: "RS256", typ: "JWT", kid: key.kid })}.${encodeJson(claims)}`;
  const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key.privateKey, new TextEncoder().encode(signingInput));
  return `${signingInput}.${base64url(signature)}`;
}
