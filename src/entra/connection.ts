// Connecting, configuring and disconnecting an organization's Entra ID tenant.
import { OAuthFlowError, completeAuthorization } from "../auth/oauth.ts";
import type { Viewer } from "../context.ts";
import { insertAuditEvent } from "../db/audit.ts";
import type { Flow } from "../auth/flows.ts";
import { isUniqueViolation, type Db } from "../db/client.ts";
import {
  deleteConnection,
  findConnectionSummary,
  findOrganizationOfTenant,
  saveConnected,
  saveFailedAttempt,
  saveFeatureToggle,
  saveTenantDetails,
  ENTRA_FEATURES,
  FEATURE_LABELS,
  type EntraFeature,
} from "../db/connections.ts";
import type { Config } from "../lib/config.ts";
import { AppError } from "../lib/errors.ts";
import { PATHS } from "../paths.ts";
import { deleteTenantGroupData } from "../db/mappings.ts";
import { aadstsCode, connectionFailureOf, type ConnectionFailure } from "./connectionErrors.ts";
import { directoryRoleNames } from "./directoryRoles.ts";
import { fetchTenantDetails } from "./organization.ts";
import { ConnectionTokenError, graphAccessToken, sealTokens } from "./tokens.ts";
import { runStatements } from "../db/statements.ts";
import { insertEventsFor } from "../db/outbox.ts";
import { revokeOpenSetupLinks } from "../db/setupLinks.ts";
import { noUsableScimToken } from "../db/scimTokens.ts";
import { claimFlowState, isStalePremise } from "../db/usedFlowStates.ts";
import { sha256Base64url } from "../lib/crypto.ts";
import { followMappingToggle, stopRealtimeUpdates } from "./realtime/subscription.ts";
import { followRunSettings } from "./runSettings.ts";
import { startTrackingGroups } from "./sync/groupRoles.ts";
import { deleteScope, refreshScopeDomains } from "../db/syncScope.ts";

type ConnectOutcome = { ok: true } | { ok: false; failure: ConnectionFailure; microsoftCode?: string };

/** Where Microsoft sends the admin back after consent. */
export function connectRedirectUri(config: Config): string {
  return `${config.APP_ORIGIN}${PATHS.entraCallback}`;
}

export async function completeEntraConnection(
  db: Db,
  config: Config,
  viewer: Viewer,
  callbackUrl: URL,
  flow: Flow,
  now: number,
): Promise<ConnectOutcome> {
  const refuse = async (
    failure: ConnectionFailure,
    details: Record<string, unknown> = {},
    microsoftCode?: string,
  ): Promise<ConnectOutcome> => {
    // A cancelled or declined consent is remembered as "failed" (the page then offers Connect Entra ID
    // again); everything else only reports, storing nothing but the audit event.
    const audit = insertAuditEvent(db, {
      organizationId: viewer.organizationId,
      actorUserId: viewer.userId,
      action: "entra.connection_failed",
      details: { reason: failure, ...details },
      now,
    });
    if (failure === "cancelled" || failure === "consent_declined")
      await runStatements(db, [saveFailedAttempt(db, viewer.organizationId, failure, now), audit]);
    else await audit.run();
    return { ok: false, failure, microsoftCode };
  };

  // The round trip must have been started by this person for this organization.
  if (flow.organizationId !== viewer.organizationId || flow.userId !== viewer.userId) return refuse("state_mismatch");
  let completed;
  try {
    completed = await completeAuthorization("microsoft", config, callbackUrl, {
      ...flow,
      redirectUri: connectRedirectUri(config),
    });
  } catch (error) {
    if (!(error instanceof OAuthFlowError)) throw error;
    // The caller's fault (a callback with no usable code): a 400 page, not a provider failure.
    if (error.kind === "malformed_callback") {
      await refuse("invalid_response", { malformedCallback: true });
      throw new AppError("invalid_input", MALFORMED_CALLBACK);
    }
    const code = aadstsCode(error.providerDescription);
    return refuse(connectionFailureOf(error), { providerError: error.providerError ?? null, microsoftCode: code ?? null }, code);
  }

  const tenantId = String(completed.claims.tid);
  // The admin named a tenant: a token from any other one (a guest's home tenant) connects nothing.
  if (flow.tenantId && flow.tenantId !== tenantId) return refuse("wrong_tenant", { tenantId, namedTenantId: flow.tenantId });
  const { access_token: accessToken, refresh_token: refreshToken, expires_in: expiresIn } = completed.tokens;
  if (!refreshToken) return refuse("invalid_response");
  // Microsoft decides who may consent: it stops a non-admin in a tenant that has not consented, and
  // once an admin consented tenant-wide, anyone it issues these scopes to may complete the
  // connection (an Owner/Admin of UniAsset who is not an Entra admin, after a setup link was used).
  // Directory roles are only recorded, from the ID token's `wids` claim, never used to refuse:
  // with User.Read.All and Group.Read.All Graph returns directoryRole objects with limited
  // information (https://learn.microsoft.com/en-us/graph/permissions-overview#limited-information-returned-for-inaccessible-member-objects).
  const entraRoles = directoryRoleNames(completed.claims.wids);
  const [owner, previous] = await Promise.all([findOrganizationOfTenant(db, tenantId), findConnectionSummary(db, viewer.organizationId)]);
  if (owner && owner !== viewer.organizationId) return refuse("tenant_taken", { tenantId });
  // Another tenant than before: its group ids mean nothing here, so mappings and decisions go, and
  // the features start off. The same tenant again (after "Needs reconnect") resumes them as they were.
  const sameTenant = previous?.tenantId === tenantId;
  const tenantChanged = !!previous?.tenantId && !sameTenant;

  const details = await fetchTenantDetails(config, accessToken);
  const sealed = await sealTokens(
    config,
    viewer.organizationId,
    tenantId,
    { accessToken, refreshToken, expiresInSeconds: typeof expiresIn === "number" ? expiresIn : 3600 },
    now,
  );
  const featuresTurnedOff = tenantChanged && previous ? ENTRA_FEATURES.filter((feature) => previous[feature]) : [];
  try {
    await runStatements(db, [
      // Entra ID or SCIM, never both (issue 21): Connect is refused at its start while a SCIM token
      // works, but one may be generated while the admin is at Microsoft. The batch's first write
      // holds only if still no token works; otherwise it fails and the whole batch rolls back.
      claimFlowState(await sha256Base64url(`${flow.state} directory`), flow.expiresAt, noUsableScimToken(viewer.organizationId, now)),
      saveConnected(db, {
        organizationId: viewer.organizationId,
        tenantId,
        tenantName: details?.tenantName ?? null,
        verifiedDomains: details?.verifiedDomains ?? null,
        defaultDomain: details?.defaultDomain ?? null,
        connectedBy: viewer.userId,
        connectedByRoles: entraRoles,
        keepFeatures: sameTenant,
        ...sealed,
        now,
      }),
      insertAuditEvent(db, {
        organizationId: viewer.organizationId,
        actorUserId: viewer.userId,
        action: "entra.connected",
        details: {
          tenantId,
          tenantName: details?.tenantName ?? null,
          domain: details?.defaultDomain ?? null,
          entraRoles: entraRoles?.join(", ") ?? null,
          featuresResumed: sameTenant,
        },
        now,
      }),
      insertEventsFor("connection.connected", {
        organizationId: viewer.organizationId,
        now,
        data: {
          organization_id: viewer.organizationId,
          tenant_id: tenantId,
          tenant_name: details?.tenantName ?? null,
          actor_user_id: viewer.userId,
        },
      }),
      // Every toggle change is audited, including the ones connecting another tenant makes.
      ...featuresTurnedOff.map((feature) =>
        insertAuditEvent(db, {
          organizationId: viewer.organizationId,
          actorUserId: viewer.userId,
          action: "entra.setting_changed",
          details: { setting: FEATURE_LABELS[feature], enabled: false, cause: "another tenant was connected" },
          now,
        }),
      ),
      ...(tenantChanged ? deleteTenantGroupData(db, viewer.organizationId) : []),
      // The sync scope's domains: a new connection (or another tenant) chooses all but the initial
      // *.onmicrosoft.com one; the same tenant again keeps its choices (issue 20).
      ...(tenantChanged ? deleteScope(db, viewer.organizationId) : []),
      ...(details ? refreshScopeDomains(db, viewer.organizationId, details.domains, !sameTenant) : []),
      // Connected: an Azure-admin setup link still open has no purpose left.
      revokeOpenSetupLinks(db, viewer.organizationId, now),
    ]);
  } catch (error) {
    // Another organization connected the same tenant at the same moment (UNIQUE tenant_id).
    if (isUniqueViolation(error, "entra_connections")) return refuse("tenant_taken", { tenantId });
    if (isStalePremise(error)) return refuse("scim_active", { tenantId });
    throw error;
  }
  return { ok: true };
}

const MALFORMED_CALLBACK =
  "Microsoft's reply is missing its authorization code, or the code is malformed. Nothing was stored. Click Connect Entra ID to start again.";

/**
 * "Tenant name or domain not showing → refresh the page" (README, Troubleshooting): a page load retries
 * reading the tenant's details when a connection lacks them.
 */
export async function refreshMissingTenantDetails(db: Db, config: Config, organizationId: string, now: number) {
  try {
    const { accessToken } = await graphAccessToken(db, config, organizationId, { now });
    const details = await fetchTenantDetails(config, accessToken);
    if (details) {
      const { domains, ...columns } = details;
      await runStatements(db, [
        saveTenantDetails(db, organizationId, columns, now),
        ...refreshScopeDomains(db, organizationId, domains, false),
      ]);
    }
  } catch (error) {
    if (!(error instanceof ConnectionTokenError)) throw error;
  }
  return findConnectionSummary(db, organizationId);
}

export async function setEntraFeature(db: Db, config: Config, viewer: Viewer, feature: EntraFeature, enabled: boolean, now: number) {
  const [changed] = await saveFeatureToggle(db, viewer.organizationId, feature, enabled, now);
  if (!changed) throw new AppError("conflict", "Connect Entra ID before changing its settings.");
  await insertAuditEvent(db, {
    organizationId: viewer.organizationId,
    actorUserId: viewer.userId,
    action: "entra.setting_changed",
    details: { setting: FEATURE_LABELS[feature], enabled },
    now,
  }).run();
  // Real-time updates come with the runs (Auto-deprovision sync, or Add new people automatically:
  // runSettings.ts). The toggle is saved whatever Graph says: a subscription that cannot be created
  // is shown on the page with its reason, and the nightly sync runs regardless (the nightly upkeep tries again).
  if (feature === "autoDeprovision") {
    await followRunSettings(db, config, { organizationId: viewer.organizationId, actor: viewer.userId, setting: feature, enabled }, now);
  }
  // Group membership changes reach roles in real time through a /groups subscription (issue 19).
  if (feature === "groupRoleMapping") {
    if (enabled) await startTrackingGroups(db, config, viewer.organizationId, now);
    await followMappingToggle(db, config, viewer.organizationId, now);
  }
}

export async function disconnectEntra(db: Db, config: Config, viewer: Viewer, now: number) {
  const existing = await findConnectionSummary(db, viewer.organizationId);
  if (!existing) throw new AppError("conflict", "Microsoft Entra ID is not connected.");
  // While the token still works: the subscription is deleted at Graph, then forgotten here.
  await stopRealtimeUpdates(db, config, viewer.organizationId, viewer.userId, now);
  await runStatements(db, [
    ...deleteConnection(db, viewer.organizationId),
    ...deleteScope(db, viewer.organizationId),
    insertAuditEvent(db, {
      organizationId: viewer.organizationId,
      actorUserId: viewer.userId,
      action: "entra.disconnected",
      details: { tenantId: existing.tenantId, tenantName: existing.tenantName },
      now,
    }),
    insertEventsFor("connection.disconnected", {
      organizationId: viewer.organizationId,
      now,
      data: {
        organization_id: viewer.organizationId,
        tenant_id: existing.tenantId,
        tenant_name: existing.tenantName,
        actor_user_id: viewer.userId,
      },
    }),
  ]);
}
