// The Azure-admin setup link: an Owner or Admin who is not an Entra admin creates a link and sends
// it to their Azure administrator, who needs no UniAsset account. The link leads to Microsoft's
// tenant-wide admin consent endpoint (https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent)
// rather than the authorize flow: it grants consent for the whole tenant and returns no code and no
// token, so UniAsset never holds a grant of a person outside the organization. The Owner or Admin
// then finishes with Connect Entra ID under their own account, which Microsoft now lets through.
//
// The link is a 256-bit secret stored only as its SHA-256, works once (the first granted consent),
// expires after 7 days, can be revoked, and every step is audited. A tenant connected to another
// organization is refused here too.
import type { Viewer } from "../context.ts";
import { insertAuditEvent, insertViewerAuditEvent } from "../db/audit.ts";
import type { Db } from "../db/client.ts";
import { findOrganizationOfTenant } from "../db/connections.ts";
import {
  auditSetupLinkCreated,
  findSetupLink,
  insertSetupLink,
  auditConsentGranted,
  auditConsentStarted,
  markConsentStarted,
  markSetupLinkUsed,
  revokeOpenSetupLinks,
  revokeSetupLink,
  saveSetupLinkFailure,
  setupLinkState,
  type SetupLinkRow,
  type SetupLinkState,
} from "../db/setupLinks.ts";
import type { Config } from "../lib/config.ts";
import { randomToken, sha256Base64url } from "../lib/crypto.ts";
import { planHas } from "../plans.ts";
import { AppError } from "../lib/errors.ts";
import { PATHS } from "../paths.ts";
import { runStatements } from "../db/statements.ts";

const SETUP_LINK_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;
/** What randomToken() makes: 32 bytes, base64url without padding. */
const SETUP_TOKEN = /^[A-Za-z0-9_-]{43}$/;
const AZURE_ADMIN = "Azure administrator (setup link)";

function setupLinkUrl(config: Config, token: string): string {
  return `${config.APP_ORIGIN}${PATHS.setup}/${token}`;
}

/** Where Microsoft's admin consent endpoint sends the Azure administrator back (registered in the app). */
export function setupRedirectUri(config: Config): string {
  return `${config.APP_ORIGIN}${PATHS.setupCallback}`;
}

/**
 * A new link; any open one of the organization is revoked (one link at a time). The audit row, the
 * revocation and the insert are one batch, a transaction: under any number of concurrent requests
 * each batch revokes every link open before it, so exactly one stays open (issue 18: six at once
 * left five open when the revocation was a statement of its own). The unique index
 * entra_setup_links_open (migrations/0019) makes it the database's rule as well.
 */
export async function createSetupLink(db: Db, config: Config, viewer: Viewer, now: number) {
  const token = randomToken();
  const id = crypto.randomUUID();
  const expiresAt = now + SETUP_LINK_LIFETIME_MS;
  const link = {
    id,
    organizationId: viewer.organizationId,
    tokenHash: await sha256Base64url(token),
    createdBy: viewer.userId,
    createdAt: now,
    expiresAt,
  };
  await runStatements(db, [
    auditSetupLinkCreated(link, now),
    revokeOpenSetupLinks(db, viewer.organizationId, now),
    insertSetupLink(db, link),
  ]);
  return { id, url: setupLinkUrl(config, token), expiresAt };
}

export async function revokeSetupLinkOf(db: Db, viewer: Viewer, id: string, now: number) {
  const [revoked] = await revokeSetupLink(db, viewer.organizationId, id, now);
  if (!revoked) throw new AppError("conflict", "That setup link is no longer open: it was used, revoked or replaced.");
  await insertViewerAuditEvent(db, viewer, { action: "entra.setup_link_revoked", details: { linkId: id } }, now).run();
}

const UNUSABLE: Record<Exclude<SetupLinkState, "open">, string> = {
  used: "This setup link was already used: admin consent was granted through it. Nothing more is needed here.",
  expired: "This setup link has expired (links work for 7 days). Ask the person who sent it to create a new one.",
  revoked: "This setup link was revoked. Ask the person who sent it to create a new one.",
};

/**
 * The link behind a secret from a URL, only while it is open. A forged, used, expired or revoked
 * link is a clear 4xx page and changes nothing.
 */
export async function openSetupLink(db: Db, token: string, now: number): Promise<SetupLinkRow> {
  const link = SETUP_TOKEN.test(token) ? await findSetupLink(db, { tokenHash: await sha256Base64url(token) }) : undefined;
  if (!link) throw new AppError("not_found", "This setup link is not valid. Check that you copied the whole link, or ask for a new one.");
  const state = setupLinkState(link, now);
  if (state !== "open") throw new AppError("conflict", UNUSABLE[state]);
  if (!planHas(link.plan, "directorySync")) throw new AppError("conflict", NOT_ENTERPRISE);
  return link;
}

const NOT_ENTERPRISE = "This setup link can't be used: the organization that sent it is no longer on the Enterprise plan.";

/** The same link's departures for Microsoft are audited once within this time. */
const CONSENT_START_QUIET_MS = 10 * 60 * 1000;

/**
 * The Azure administrator leaves for Microsoft: audited (once per link per 10 minutes: the button
 * is open to anyone holding the link), nothing else changes. One D1 round trip.
 */
export async function recordConsentStarted(db: Db, link: SetupLinkRow, now: number) {
  // The mark first: the audit row is written only if this batch's mark holds `now`.
  await runStatements(db, [
    markConsentStarted(db, link.id, now, CONSENT_START_QUIET_MS),
    auditConsentStarted(link.organizationId, link.id, { by: AZURE_ADMIN }, now),
  ]);
}

/** Microsoft's answer at the redirect URI, already parsed. */
export type AdminConsentReply = { granted: true; tenantId: string } | { granted: false; error: string; description: string | null };

export type SetupOutcome =
  | { kind: "granted"; organizationName: string }
  | { kind: "declined"; organizationName: string; microsoftCode: string | null; error: string }
  | { kind: "tenant_taken"; organizationName: string };

export async function completeSetupConsent(db: Db, linkId: string, reply: AdminConsentReply, now: number): Promise<SetupOutcome> {
  const link = await findSetupLink(db, { id: linkId });
  if (!link) throw new AppError("not_found", "This setup link is not valid.");
  const audit = (action: "entra.setup_consent_granted" | "entra.setup_consent_failed", details: Record<string, unknown>) =>
    insertAuditEvent(db, {
      organizationId: link.organizationId,
      actorUserId: null,
      action,
      details: { linkId, by: AZURE_ADMIN, ...details },
      now,
    });
  const state = setupLinkState(link, now);
  if (state !== "open") {
    // Microsoft may have granted consent meanwhile: the organization's log says so even though the
    // link, revoked, used or expired while the admin was away, records nothing.
    await audit("entra.setup_consent_failed", { reason: `link_${state}`, reportedTenantId: reply.granted ? reply.tenantId : null }).run();
    throw new AppError("conflict", UNUSABLE[state]);
  }

  if (!reply.granted) {
    const microsoftCode = /\b(AADSTS\d{5,7})\b/.exec(reply.description ?? "")?.[1] ?? null;
    const failure =
      reply.error === "access_denied" || reply.error === "consent_required" || reply.error === "permission_denied"
        ? "declined"
        : "provider_error";
    await runStatements(db, [
      saveSetupLinkFailure(db, linkId, failure, now),
      audit("entra.setup_consent_failed", { reason: failure, providerError: reply.error, microsoftCode }),
    ]);
    return { kind: "declined", organizationName: link.organizationName, microsoftCode, error: reply.error };
  }
  // The reply's `tenant` is a query parameter, not a signed claim: it is recorded and shown as
  // what Microsoft reported, and decides nothing by itself (Connect checks the ID token's `tid`).
  // One tenant, one organization: consent for a tenant connected elsewhere closes the link.
  const owner = await findOrganizationOfTenant(db, reply.tenantId);
  if (owner && owner !== link.organizationId) {
    await runStatements(db, [
      saveSetupLinkFailure(db, linkId, "tenant_taken", now),
      audit("entra.setup_consent_failed", { reason: "tenant_taken", tenantId: reply.tenantId }),
    ]);
    return { kind: "tenant_taken", organizationName: link.organizationName };
  }
  // Single use is decided by the one conditional UPDATE; the audit row is written in the same
  // transaction and only if that UPDATE marked the link.
  const [used] = await runStatements(db, [
    markSetupLinkUsed(db, linkId, reply.tenantId, now),
    auditConsentGranted(link.organizationId, linkId, reply.tenantId, { by: AZURE_ADMIN }, now),
  ]);
  if (!used?.results.length) throw new AppError("conflict", "This setup link was used or revoked a moment ago. Nothing was changed.");
  return { kind: "granted", organizationName: link.organizationName };
}
