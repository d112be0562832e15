// Connecting, configuring and disconnecting an organization's Entra ID tenant.
import { OAuthFlowError, completeAuthorization } from "../auth/oauth.ts";
import type { Viewer } from "../auth/session.ts";
import { insertAuditEvent } from "../db/audit.ts";
import type { AuthFlowRow } from "../db/authFlows.ts";
import type { Db } from "../db/client.ts";
import {
  deleteConnection,
  findConnectionSummary,
  findOrganizationOfTenant,
  saveConnected,
  saveFailedAttempt,
  saveFeatureToggle,
  saveTenantDetails,
  type EntraFeature,
} from "../db/connections.ts";
import type { Config } from "../lib/config.ts";
import { AppError } from "../lib/errors.ts";
import { deleteTenantGroupData } from "../db/mappings.ts";
import type { ConnectionFailure } from "./connectionErrors.ts";
import { CONSENT_ADMIN_ROLE_TEMPLATES, holdsConsentAdminRole } from "./directory.ts";
import { GRAPH_BUDGETS, GraphError, createGraphClient } from "./graph.ts";
import { fetchTenantDetails } from "./organization.ts";
import { ConnectionTokenError, graphAccessToken, sealTokens } from "./tokens.ts";

export type ConnectOutcome = { ok: true } | { ok: false; failure: ConnectionFailure; microsoftCode?: string };

/** Microsoft's AADSTS code from an error description: shown to help support, never used to decide. */
function aadstsCode(description: string | undefined): string | undefined {
  return /\b(AADSTS\d{5,7})\b/.exec(description ?? "")?.[1];
}

/** Where Microsoft sends the admin back after consent. */
export function connectRedirectUri(config: Config): string {
  return `${config.APP_ORIGIN}/settings/integrations/entra/callback`;
}

export async function completeEntraConnection(
  db: Db,
  config: Config,
  viewer: Viewer,
  callbackUrl: URL,
  flow: AuthFlowRow,
  now: number,
): Promise<ConnectOutcome> {
  // The round trip must have been started by this person for this organization.
  if (flow.organizationId !== viewer.organizationId || flow.userId !== viewer.userId) {
    return { ok: false, failure: "state_mismatch" };
  }
  let completed;
  try {
    completed = await completeAuthorization("microsoft", config, callbackUrl, {
      ...flow,
      redirectUri: connectRedirectUri(config),
    });
  } catch (error) {
    if (!(error instanceof OAuthFlowError)) throw error;
    const failure = failureOf(error);
    // A cancelled consent is remembered as "failed" (the article's troubleshooting case);
    // everything else only reports, storing nothing.
    const audit = insertAuditEvent(db, {
      organizationId: viewer.organizationId,
      actorUserId: viewer.userId,
      action: "entra.connection_failed",
      details: { reason: failure, providerError: error.providerError ?? null, microsoftCode: aadstsCode(error.providerDescription) ?? null },
      now,
    });
    if (failure === "cancelled") await db.batch([saveFailedAttempt(db, viewer.organizationId, failure, now), audit]);
    else await audit.run();
    return { ok: false, failure, microsoftCode: aadstsCode(error.providerDescription) };
  }

  const tenantId = String(completed.claims.tid);
  const { access_token: accessToken, refresh_token: refreshToken, expires_in: expiresIn } = completed.tokens;
  if (!refreshToken) return { ok: false, failure: "invalid_response" };
  // Microsoft asks for consent only once per tenant: after that any user could complete this
  // flow. Connecting a tenant is an admin's act, so the person must hold an admin role.
  const admin = rolesClaimShowsConsentAdmin(completed.claims.wids) || (await isConsentAdmin(config, accessToken));
  if (admin !== true) return { ok: false, failure: admin === false ? "admin_consent_required" : "provider_unavailable" };
  const [owner, previous] = await Promise.all([
    findOrganizationOfTenant(db, tenantId),
    findConnectionSummary(db, viewer.organizationId),
  ]);
  if (owner && owner !== viewer.organizationId) return { ok: false, failure: "tenant_taken" };
  // Another tenant than before: its group ids mean nothing here, so mappings and decisions go.
  const tenantChanged = !!previous?.tenantId && previous.tenantId !== tenantId;

  const details = await fetchTenantDetails(config.GRAPH_BASE_URL, accessToken);
  const sealed = await sealTokens(
    config,
    viewer.organizationId,
    tenantId,
    { accessToken, refreshToken, expiresInSeconds: typeof expiresIn === "number" ? expiresIn : 3600 },
    now,
  );
  try {
    await db.batch([
      saveConnected(db, {
        organizationId: viewer.organizationId,
        tenantId,
        tenantName: details?.tenantName ?? null,
        verifiedDomains: details?.verifiedDomains ?? null,
        defaultDomain: details?.defaultDomain ?? null,
        connectedBy: viewer.userId,
        ...sealed,
        now,
      }),
      insertAuditEvent(db, {
        organizationId: viewer.organizationId,
        actorUserId: viewer.userId,
        action: "entra.connected",
        details: { tenantId, tenantName: details?.tenantName ?? null, domain: details?.defaultDomain ?? null },
        now,
      }),
      ...(tenantChanged ? deleteTenantGroupData(db, viewer.organizationId) : []),
    ]);
  } catch (error) {
    // Another organization connected the same tenant at the same moment (UNIQUE tenant_id).
    if (String(error).includes("UNIQUE")) return { ok: false, failure: "tenant_taken" };
    throw error;
  }
  return { ok: true };
}

/** The optional `wids` claim (directory role template ids), when the app registration emits it. */
function rolesClaimShowsConsentAdmin(wids: unknown): boolean {
  return Array.isArray(wids) && wids.some((id) => typeof id === "string" && CONSENT_ADMIN_ROLE_TEMPLATES.has(id));
}

async function isConsentAdmin(config: Config, accessToken: string): Promise<boolean | "unknown"> {
  try {
    return await holdsConsentAdminRole(createGraphClient({ baseUrl: config.GRAPH_BASE_URL, accessToken, ...GRAPH_BUDGETS.signIn }));
  } catch (error) {
    if (error instanceof GraphError) return "unknown";
    throw error;
  }
}

function failureOf(error: OAuthFlowError): ConnectionFailure {
  switch (error.kind) {
    case "consent_required":
      return "admin_consent_required";
    case "cancelled":
      return "cancelled";
    case "state_mismatch":
      return "state_mismatch";
    case "code_rejected":
      return "code_rejected";
    case "provider_unavailable":
      return "provider_unavailable";
    case "invalid_id_token":
      return "invalid_response";
    default:
      return "provider_error";
  }
}

/**
 * The article's "Tenant name or domain not showing → refresh the page": a page load retries
 * reading the tenant's details when a connection lacks them.
 */
export async function refreshMissingTenantDetails(db: Db, config: Config, organizationId: string, now: number) {
  try {
    const { accessToken } = await graphAccessToken(db, config, organizationId, { now });
    const details = await fetchTenantDetails(config.GRAPH_BASE_URL, accessToken);
    if (details) await saveTenantDetails(db, organizationId, details, now).run();
  } catch (error) {
    if (!(error instanceof ConnectionTokenError)) throw error;
  }
  return findConnectionSummary(db, organizationId);
}

export const FEATURE_LABELS: Record<EntraFeature, string> = {
  autoProvision: "Auto-provision users",
  autoDeprovision: "Auto-deprovision sync",
  groupRoleMapping: "Group → Role mapping",
};

export async function setEntraFeature(db: Db, viewer: Viewer, feature: EntraFeature, enabled: boolean, now: number) {
  const [changed] = await saveFeatureToggle(db, viewer.organizationId, feature, enabled, now);
  if (!changed) throw new AppError("conflict", "Connect Entra ID before changing its settings.");
  await insertAuditEvent(db, {
    organizationId: viewer.organizationId,
    actorUserId: viewer.userId,
    action: "entra.setting_changed",
    details: { setting: FEATURE_LABELS[feature], enabled },
    now,
  }).run();
}

export async function disconnectEntra(db: Db, viewer: Viewer, now: number) {
  const existing = await findConnectionSummary(db, viewer.organizationId);
  if (!existing) throw new AppError("conflict", "Microsoft Entra ID is not connected.");
  await db.batch([
    ...deleteConnection(db, viewer.organizationId),
    insertAuditEvent(db, {
      organizationId: viewer.organizationId,
      actorUserId: viewer.userId,
      action: "entra.disconnected",
      details: { tenantId: existing.tenantId, tenantName: existing.tenantName },
      now,
    }),
  ]);
}
