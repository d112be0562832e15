// The token vault, run inside workerd with its real WebCrypto: no mocks.
import { env } from "cloudflare:test";
import { decodeBase64urlIgnorePadding, encodeBase64, encodeBase64urlNoPadding } from "@oslojs/encoding";
import { describe, expect, it } from "vitest";
import {
  createTokenVault,
  parseTokenEncryptionKeys,
  sealedKeyId,
  tokenVault,
  TokenVaultConfigError,
  type VaultContext,
} from "../src/lib/vault.ts";

const newKey = () => encodeBase64(crypto.getRandomValues(new Uint8Array(32)));
const K1 = newKey();
const K2 = newKey();

const context: VaultContext = {
  organizationId: "org_contoso",
  tenantId: "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f",
  field: "refresh_token",
};
const TOKEN = "0.AXkA-refresh-token-with-some-length.abc_DEF-123~xyz";

const parts = (sealed: string) => {
  const [version, keyId, iv, ciphertext] = sealed.split(".") as [string, string, string, string];
  return { version, keyId, iv, ciphertext };
};
const join = (p: ReturnType<typeof parts>) => [p.version, p.keyId, p.iv, p.ciphertext].join(".");
/** Flips one bit of the base64url-encoded bytes at `index` (negative counts from the end). */
const flipBit = (encoded: string, index: number) => {
  const bytes = decodeBase64urlIgnorePadding(encoded);
  const at = index < 0 ? bytes.length + index : index;
  bytes[at] = bytes[at]! ^ 0x01;
  return encodeBase64urlNoPadding(bytes);
};

describe("seal and open", () => {
  const vault = createTokenVault(`k1:${K1}`);

  it("round-trips tokens, including empty, non-ASCII and long values", async () => {
    for (const value of [TOKEN, "", "\uFEFFbom-kept é ☃ 🔑", "x".repeat(16_384)]) {
      const sealed = await vault.seal(value, context);
      expect(await vault.open(sealed, context)).toEqual({ ok: true, value });
    }
  });

  it("stores a compact v1 string that names the key and never contains the plaintext", async () => {
    const sealed = await vault.seal(TOKEN, context);
    expect(sealed).toMatch(/^v1\.k1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain(TOKEN);
    expect(sealed).not.toContain("refresh-token");
    expect(sealedKeyId(sealed)).toBe("k1");
    expect(vault.currentKeyId).toBe("k1");
    // Ciphertext is the plaintext's length plus the 16-byte GCM tag.
    expect(decodeBase64urlIgnorePadding(parts(sealed).ciphertext).length).toBe(new TextEncoder().encode(TOKEN).length + 16);
  });

  it("uses a fresh IV for every seal, so two seals of one value differ", async () => {
    const a = await vault.seal(TOKEN, context);
    const b = await vault.seal(TOKEN, context);
    expect(a).not.toBe(b);
    expect(parts(a).iv).not.toBe(parts(b).iv);
    expect(parts(a).ciphertext).not.toBe(parts(b).ciphertext);
    const ivs = new Set<string>();
    for (let i = 0; i < 50; i++) ivs.add(parts(await vault.seal(TOKEN, context)).iv);
    expect(ivs.size).toBe(50);
  });

  it("works with the secret the Worker is configured with", async () => {
    const configured = tokenVault(env);
    const sealed = await configured.seal(TOKEN, { ...context, field: "delta_link" });
    expect(await configured.open(sealed, { ...context, field: "delta_link" })).toEqual({ ok: true, value: TOKEN });
  });

  it("rejects an invalid context as a programming error, without echoing the token", async () => {
    const bad = [
      { ...context, organizationId: "" },
      { ...context, tenantId: "" },
      { ...context, field: "id_token" },
    ] as unknown as VaultContext[];
    for (const c of bad) {
      const error = await vault.seal(TOKEN, c).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect(String((error as Error).message)).not.toContain(TOKEN);
      await expect(vault.open(await vault.seal(TOKEN, context), c)).rejects.toBeInstanceOf(TypeError);
    }
  });
});

describe("refusals", () => {
  const vault = createTokenVault(`k1:${K1}`);
  const tampered = { ok: false, reason: "tampered" };

  it("refuses a tampered ciphertext or tag", async () => {
    const sealed = parts(await vault.seal(TOKEN, context));
    for (const ciphertext of [
      flipBit(sealed.ciphertext, 0), // first ciphertext byte
      flipBit(sealed.ciphertext, 20),
      flipBit(sealed.ciphertext, -1), // last tag byte
      encodeBase64urlNoPadding(decodeBase64urlIgnorePadding(sealed.ciphertext).slice(1)), // truncated
      encodeBase64urlNoPadding(new Uint8Array([...decodeBase64urlIgnorePadding(sealed.ciphertext), 0])), // extended
    ]) {
      expect(await vault.open(join({ ...sealed, ciphertext }), context)).toEqual(tampered);
    }
  });

  it("refuses a tampered IV", async () => {
    const sealed = parts(await vault.seal(TOKEN, context));
    for (const index of [0, 5, -1]) {
      expect(await vault.open(join({ ...sealed, iv: flipBit(sealed.iv, index) }), context)).toEqual(tampered);
    }
  });

  it("refuses a value moved to another organization's row, another tenant or another field", async () => {
    const sealed = await vault.seal(TOKEN, context);
    for (const other of [
      { ...context, organizationId: "org_fabrikam" },
      { ...context, tenantId: "00000000-0000-0000-0000-000000000001" },
      { ...context, field: "access_token" as const },
      { ...context, field: "delta_link" as const },
      { organizationId: context.tenantId, tenantId: context.organizationId, field: context.field }, // swapped
    ]) {
      expect(await vault.open(sealed, other)).toEqual(tampered);
    }
    expect(await vault.open(sealed, { ...context })).toEqual({ ok: true, value: TOKEN });
  });

  it("serializes the associated data unambiguously", async () => {
    // Naive concatenation would make these two contexts identical.
    const a: VaultContext = { organizationId: "org|a", tenantId: "t", field: "access_token" };
    const b: VaultContext = { organizationId: "org", tenantId: "a|t", field: "access_token" };
    const c: VaultContext = { organizationId: 'org","a', tenantId: "t", field: "access_token" };
    const d: VaultContext = { organizationId: "org", tenantId: 'a","t', field: "access_token" };
    expect(await vault.open(await vault.seal(TOKEN, a), b)).toEqual(tampered);
    expect(await vault.open(await vault.seal(TOKEN, c), d)).toEqual(tampered);
    expect(await vault.open(await vault.seal(TOKEN, c), c)).toEqual({ ok: true, value: TOKEN });
  });

  it("refuses a value whose key id was rewritten to another configured key", async () => {
    const both = createTokenVault(`k2:${K2},k1:${K1}`);
    const sealed = parts(await both.seal(TOKEN, context));
    expect(sealed.keyId).toBe("k2");
    expect(await both.open(join({ ...sealed, keyId: "k1" }), context)).toEqual(tampered);
  });

  it("refuses a value sealed under a key id it does not know", async () => {
    const other = createTokenVault(`k9:${newKey()}`);
    const sealed = await other.seal(TOKEN, context);
    expect(await vault.open(sealed, context)).toEqual({ ok: false, reason: "unknown_key" });
    // Same id, different key material: authentication fails.
    const impostor = createTokenVault(`k1:${newKey()}`);
    expect(await vault.open(await impostor.seal(TOKEN, context), context)).toEqual(tampered);
  });

  it("refuses malformed values", async () => {
    const good = parts(await vault.seal(TOKEN, context));
    const shortTag = encodeBase64urlNoPadding(new Uint8Array(15));
    const malformed = [
      "",
      "garbage",
      TOKEN,
      "v1.k1",
      "v1.k1.abc",
      join({ ...good, version: "v2" }),
      join({ ...good, version: "V1" }),
      `${join(good)}.extra`,
      join({ ...good, keyId: "" }),
      join({ ...good, keyId: "k1!" }),
      join({ ...good, keyId: "k".repeat(33) }),
      join({ ...good, iv: "" }),
      join({ ...good, iv: encodeBase64urlNoPadding(new Uint8Array(16)) }), // 128-bit IV
      join({ ...good, iv: good.iv.slice(0, -1) }),
      join({ ...good, iv: `${good.iv}==` }), // padding
      join({ ...good, ciphertext: "" }),
      join({ ...good, ciphertext: shortTag }), // shorter than the tag
      join({ ...good, ciphertext: `${good.ciphertext.slice(0, -1)}+` }), // not base64url
      join({ ...good, ciphertext: `${good.ciphertext} ` }),
      ` ${join(good)}`,
    ];
    for (const value of malformed) {
      expect(await vault.open(value, context), JSON.stringify(value)).toEqual({ ok: false, reason: "malformed" });
      expect(vault.needsRotation(value)).toBe(false);
      expect(sealedKeyId(value)).toBeNull();
    }
    // Non-canonical base64url (stray low bits in the last character) is malformed, not "tampered".
    // (The 12-byte IV is 16 characters with no spare bits, so use the ciphertext.)
    const short = parts(await vault.seal("abcd", context)); // 20 bytes: 27 characters, 2 spare bits
    const ct = short.ciphertext;
    expect(ct).toHaveLength(27);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const bumped = alphabet[alphabet.indexOf(ct.at(-1)!) ^ 1]!;
    expect(await vault.open(join({ ...short, ciphertext: ct.slice(0, -1) + bumped }), context)).toEqual({
      ok: false,
      reason: "malformed",
    });
    expect(await vault.open(join(short), context)).toEqual({ ok: true, value: "abcd" });
    expect(await vault.open(null as unknown as string, context)).toEqual({ ok: false, reason: "malformed" });
  });

  it("refusals carry only a reason: no plaintext, ciphertext or key", async () => {
    const sealed = await vault.seal(TOKEN, context);
    const result = await vault.open(sealed, { ...context, organizationId: "org_other" });
    expect(Object.keys(result).sort()).toEqual(["ok", "reason"]);
    expect(JSON.stringify(result)).not.toContain(TOKEN);
    expect(JSON.stringify(vault)).not.toContain(K1);
  });
});

describe("rotation", () => {
  it("opens values under an older key, flags them and re-seals under the newest key", async () => {
    const before = createTokenVault(`k1:${K1}`);
    const old = await before.seal(TOKEN, context);
    expect(before.needsRotation(old)).toBe(false);

    const during = createTokenVault(`k2:${K2},k1:${K1}`);
    expect(during.currentKeyId).toBe("k2");
    expect(await during.open(old, context)).toEqual({ ok: true, value: TOKEN });
    expect(during.needsRotation(old)).toBe(true);

    const resealed = await during.reseal(old, context);
    if (!resealed.ok) throw new Error(`reseal refused: ${resealed.reason}`);
    expect(resealed.changed).toBe(true);
    expect(resealed.value.startsWith("v1.k2.")).toBe(true);
    expect(sealedKeyId(resealed.value)).toBe("k2");
    expect(during.needsRotation(resealed.value)).toBe(false);
    expect(await during.open(resealed.value, context)).toEqual({ ok: true, value: TOKEN });

    // New seals use k2 too.
    expect(sealedKeyId(await during.seal(TOKEN, context))).toBe("k2");

    // Re-sealing a current value changes nothing.
    expect(await during.reseal(resealed.value, context)).toEqual({ ok: true, value: resealed.value, changed: false });

    // Once k1 is removed, re-sealed values still open; a value left under k1 does not.
    const after = createTokenVault(`k2:${K2}`);
    expect(await after.open(resealed.value, context)).toEqual({ ok: true, value: TOKEN });
    expect(await after.open(old, context)).toEqual({ ok: false, reason: "unknown_key" });
    expect(after.needsRotation(old)).toBe(true);

    // The old deployment (k1 only) can't read k2 values: deploy the new secret before sealing with k2.
    expect(await before.open(resealed.value, context)).toEqual({ ok: false, reason: "unknown_key" });
  });

  it("re-sealing refuses what open refuses", async () => {
    const during = createTokenVault(`k2:${K2},k1:${K1}`);
    const old = await createTokenVault(`k1:${K1}`).seal(TOKEN, context);
    expect(await during.reseal(old, { ...context, tenantId: "other" })).toEqual({ ok: false, reason: "tampered" });
    expect(await during.reseal("nope", context)).toEqual({ ok: false, reason: "malformed" });
  });
});

describe("TOKEN_ENCRYPTION_KEYS", () => {
  it("parses one or more entries, first one first, ignoring surrounding whitespace", () => {
    const keys = parseTokenEncryptionKeys(` k2:${K2} , k1:${K1}\n`);
    expect(keys.map((k) => k.id)).toEqual(["k2", "k1"]);
    expect(keys.every((k) => k.key.length === 32)).toBe(true);
    expect(parseTokenEncryptionKeys(`A-Za_z0-9:${K1}`).map((k) => k.id)).toEqual(["A-Za_z0-9"]);
    expect(parseTokenEncryptionKeys(`${"k".repeat(32)}:${K1}`)).toHaveLength(1);
  });

  it("rejects malformed secrets with a clear message that contains no key material", () => {
    // Bytes that encode to '+' and '/' in base64, '-' and '_' in base64url.
    const special = new Uint8Array(32).fill(0xfb);
    special[1] = 0xff;
    const specialBase64 = encodeBase64(special);
    expect(specialBase64).toMatch(/[+/]/);
    const specialUrl = encodeBase64urlNoPadding(special);
    const short = encodeBase64(crypto.getRandomValues(new Uint8Array(31)));
    const long = encodeBase64(crypto.getRandomValues(new Uint8Array(33)));
    const aes128 = encodeBase64(crypto.getRandomValues(new Uint8Array(16)));
    const cases: [secret: string, expected: RegExp][] = [
      ["", /is not set/],
      ["  \n", /is not set/],
      [K1, /entry 1 of 1 is not of the form id:base64key/],
      [`k1:${K1},${K2}`, /entry 2 of 2 is not of the form id:base64key/],
      [`k1:${K1},`, /entry 2 of 2 is empty/],
      [`k1:${K1},,k2:${K2}`, /entry 2 of 3 is empty/],
      [`:${K1}`, /the id of entry 1 of 1 must be/],
      [`k 1:${K1}`, /the id of entry 1 of 1 must be/],
      [`k.1:${K1}`, /the id of entry 1 of 1 must be/],
      [`${"k".repeat(33)}:${K1}`, /the id of entry 1 of 1 must be/],
      [`k1:${K1},k1:${K2}`, /key id "k1" appears more than once/],
      [`k1:${K1},k2:${K1}`, /key "k2" repeats the key of an earlier entry/],
      ["k1:", /key "k1" must be 32 random bytes in standard base64/],
      [`k1:${short}`, /key "k1" must be 32 random bytes/],
      [`k1:${long}`, /key "k1" must be 32 random bytes/],
      [`k1:${aes128}`, /key "k1" must be 32 random bytes/],
      [`k1:${K1.replace(/=+$/, "")}`, /key "k1" must be 32 random bytes/], // unpadded
      [`k1:${specialUrl}`, /key "k1" must be 32 random bytes/], // base64url
      [`k1:${K1.slice(0, 20)} ${K1.slice(20)}`, /key "k1" must be 32 random bytes/],
      [`k1:${K1.slice(0, -2)}B=`, /key "k1" must be 32 random bytes/], // non-canonical last char
      [`k1:${K1}:${K2}`, /key "k1" must be 32 random bytes/],
    ];
    for (const [secret, expected] of cases) {
      let error: unknown;
      try {
        createTokenVault(secret);
      } catch (e) {
        error = e;
      }
      expect(error, secret).toBeInstanceOf(TokenVaultConfigError);
      const message = (error as Error).message;
      expect(message, secret).toMatch(/^TOKEN_ENCRYPTION_KEYS /);
      expect(message, secret).toMatch(expected);
      for (const material of [K1, K2, short, long, aes128, specialBase64, specialUrl]) {
        // No fragment of any key: check every 8-character window.
        for (let i = 0; i + 8 <= material.length; i++) expect(message).not.toContain(material.slice(i, i + 8));
      }
      expect(String((error as Error).stack ?? "")).not.toContain(K1);
    }
    // The well-formed standard-base64 version of the special key is accepted.
    expect(parseTokenEncryptionKeys(`k1:${specialBase64}`)).toHaveLength(1);
  });

  it("reuses the parsed keyring for the same secret", async () => {
    const secret = `k1:${K1}`;
    const a = createTokenVault(secret);
    const b = createTokenVault(secret);
    expect(await b.open(await a.seal(TOKEN, context), context)).toEqual({ ok: true, value: TOKEN });
  });
});
