// SCIM bearer tokens: `scim_<id>_<secret>`, shown once. The id finds the row; the SHA-256 of the
// whole token is what is stored and compared (in constant time, src/people/scim/call.ts). An
// organization's directory is either its Entra ID connection or SCIM: a token cannot be generated
// while Entra ID is connected (src/db/scimTokens.ts checks it in the insert itself).
import type { Db } from "../../db/client.ts";
import { insertToken, loadScimSettings, revokeToken, type PresentedToken } from "../../db/scimTokens.ts";
import { randomToken, sha256Base64url } from "../../lib/crypto.ts";
import { AppError } from "../../lib/errors.ts";
import type { Viewer } from "../../context.ts";
import { checkPlanHas } from "../../auth/access.ts";

/** How long a rotated token keeps working: time to paste the new one into the provider. */
export const ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;

const TOKEN = /^scim_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/;

/** The token an `Authorization: Bearer …` header presents, or null when it has none of ours. */
export async function presentedToken(authorization: string | undefined): Promise<PresentedToken | null> {
  const match = /^Bearer\s+(\S{1,200})\s*$/i.exec(authorization ?? "");
  const token = match?.[1];
  const parts = token ? TOKEN.exec(token) : null;
  if (!token || !parts) return null;
  return { id: parts[1]!, hash: await sha256Base64url(token) };
}

const entraConnected = () =>
  new AppError(
    "conflict",
    "This organization's directory is its Microsoft Entra ID connection. Disconnect Entra ID first to provision with SCIM (members and roles stay).",
  );

/** Generate token, or Rotate (`rotate`: the tokens in use keep working for ROTATION_GRACE_MS). Returns the token, shown once. */
export async function generateScimToken(db: Db, viewer: Viewer, rotate: boolean, now: number): Promise<string> {
  checkPlanHas(viewer, "scim");
  const id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, "0")).join("");
  const token = `scim_${id}_${randomToken()}`;
  const written = await insertToken(db, {
    id,
    hash: await sha256Base64url(token),
    organizationId: viewer.organizationId,
    createdBy: viewer.userId,
    now,
    graceMs: ROTATION_GRACE_MS,
    rotate,
  });
  if (!written) throw entraConnected();
  return token;
}

export async function revokeScimToken(db: Db, viewer: Viewer, tokenId: string, now: number): Promise<void> {
  if (!(await revokeToken(db, viewer.organizationId, tokenId, viewer.userId, now))) {
    throw new AppError("not_found", "That token is already revoked.");
  }
}

export function loadScimPage(db: Db, viewer: Viewer) {
  return loadScimSettings(db, viewer.organizationId);
}
