// Who a verified person is in UniAsset, in this order: a linked identity (imported users
// included), then an open invitation for an email the provider vouches for, then auto-provisioning
// from the connected Entra tenant; otherwise a clear refusal. Email alone never links a Microsoft
// identity unless the tenant is the organization's connected tenant and the address is in one of
// its verified domains (the nOAuth class of account takeover). At every Microsoft sign-in with
// group mapping on, the person's Entra groups decide their role.
import { isUniqueViolation, type Db } from "../db/client.ts";
import { findConnectionOfTenant, type TenantConnection } from "../db/connections.ts";
import { findLinkedMemberships, insertIdentity, type IdentityKey } from "../db/identities.ts";
import { acceptInvitation, findOpenInvitationsForEmail, type OpenInvitation } from "../db/invitations.ts";
import { insertMembership, insertUser, markSignedIn } from "../db/members.ts";
import { insertAuditEvent } from "../db/audit.ts";
import type { Role } from "../db/schema.ts";
import { applyGroupRole, checkProvisioning, decideRoleFromDirectory, initialRole } from "../entra/signInDirectory.ts";
import type { Config } from "../lib/config.ts";
import { AppError } from "../lib/errors.ts";
import { prepareSession } from "../auth/session.ts";
import { runStatements, type Write } from "../db/statements.ts";

/** A person whose ID token has been validated. */
export interface VerifiedPerson {
  identity: IdentityKey;
  displayName: string;
  /** Google: the email when `email_verified`; Microsoft: the sign-in name (UPN). */
  email: string | null;
  /** Microsoft only: the tenant and whether the token marks a guest (`acct` = 1). */
  microsoft?: { tenantId: string; isGuest: boolean };
}

interface SignInResult {
  userId: string;
  organizationId: string;
  sessionToken: string;
}

type Statement = Write;

export async function signIn(db: Db, config: Config, person: VerifiedPerson, now: number): Promise<SignInResult> {
  try {
    return await resolveAndSignIn(db, config, person, now);
  } catch (error) {
    // Two first sign-ins of one person raced: the other linked the identity first and this batch
    // rolled back. Signing in again finds the linked identity.
    if (!isUniqueViolation(error, "identities")) throw error;
    return resolveAndSignIn(db, config, person, now);
  }
}

async function resolveAndSignIn(db: Db, config: Config, person: VerifiedPerson, now: number): Promise<SignInResult> {
  const email = person.email?.toLowerCase() ?? null;
  const [linked, invitations, connections] = await db.batch([
    findLinkedMemberships(db, person.identity),
    findOpenInvitationsForEmail(db, email ?? "", now),
    findConnectionOfTenant(db, person.microsoft?.tenantId ?? ""),
  ]);
  const connection = connections[0]?.status === "connected" ? connections[0] : undefined;
  const existingUserId = linked[0]?.userId;
  const memberOf = new Set(linked.flatMap((m) => (m.organizationId ? [m.organizationId] : [])));
  const acceptable = invitations.filter(
    (invitation) => emailIsTrustedFor(person, email, invitation) && !memberOf.has(invitation.organizationId),
  );
  const active = linked.flatMap((m) =>
    m.status === "active" && m.organizationId && m.role ? [{ organizationId: m.organizationId, role: m.role }] : [],
  );

  // Auto-provisioning applies to a person of the connected tenant who is not yet in its organization.
  const provisionable =
    !!connection?.autoProvision &&
    !memberOf.has(connection.organizationId) &&
    !acceptable.some((i) => i.organizationId === connection.organizationId);
  const hasAccess = active.length > 0 || acceptable.length > 0;
  if (!hasAccess && !provisionable) {
    if (memberOf.size > 0) {
      throw new AppError("account_deactivated", "Your UniAsset account has been deactivated. Contact your organization's Owner or Admin.");
    }
    // Auto-provisioning would have let this person in, but the grant is gone: say so, not "no account".
    const paused = connections[0];
    if (paused?.status === "needs_reconnect" && paused.autoProvision && !person.microsoft?.isGuest && inVerifiedDomain(email, paused.verifiedDomains)) {
      throw new AppError("directory_needs_attention", CONNECTION_NEEDS_ATTENTION);
    }
    throw new AppError("no_account", noAccountMessage(person));
  }

  const userId = existingUserId ?? crypto.randomUUID();
  const statements: Statement[] = [];
  if (!existingUserId) statements.push(...createUser(db, person, userId, email, now));
  statements.push(...acceptInvitations(db, person, userId, acceptable, now));
  const memberships: { organizationId: string; role: Role }[] = [
    ...active,
    ...acceptable.map((i) => ({ organizationId: i.organizationId, role: i.role })),
  ];
  statements.push(...(await mapRoleAtSignIn(db, config, connection, person, userId, memberships, now)));
  if (provisionable) {
    try {
      const provisioned = await provision(db, config, connection, person, userId, email, now);
      statements.push(...provisioned.statements);
      memberships.unshift(provisioned.membership);
    } catch (refusal) {
      // Someone with access elsewhere still signs in there; otherwise the refusal is the answer.
      if (!hasAccess || !(refusal instanceof AppError)) throw refusal;
    }
  }

  const organizationId = memberships[0]!.organizationId;
  const session = await prepareSession(db, userId, organizationId, now);
  statements.push(markSignedIn(db, userId, now), session.statement);
  await runStatements(db, statements);
  return { userId, organizationId, sessionToken: session.token };
}

function createUser(db: Db, person: VerifiedPerson, userId: string, email: string | null, now: number): Statement[] {
  return [
    insertUser(db, { id: userId, email, displayName: person.displayName, now }),
    insertIdentity(db, person.identity, userId, email, now),
  ];
}

function acceptInvitations(db: Db, person: VerifiedPerson, userId: string, invitations: OpenInvitation[], now: number): Statement[] {
  return invitations.flatMap((invitation) => [
    insertMembership(db, { organizationId: invitation.organizationId, userId, role: invitation.role, now }),
    acceptInvitation(db, invitation.id, now),
    insertAuditEvent(db, {
      organizationId: invitation.organizationId,
      actorUserId: userId,
      action: "invitation.accepted",
      targetUserId: userId,
      details: { role: invitation.role, provider: person.identity.provider },
      now,
    }),
  ]);
}

/** With group mapping on, the member of the connected organization gets the role their groups give. */
async function mapRoleAtSignIn(
  db: Db,
  config: Config,
  connection: TenantConnection | undefined,
  person: VerifiedPerson,
  userId: string,
  memberships: { organizationId: string; role: Role }[],
  now: number,
): Promise<Statement[]> {
  if (!connection?.groupRoleMapping || person.identity.provider !== "microsoft") return [];
  const member = memberships.find((m) => m.organizationId === connection.organizationId);
  if (!member) return [];
  const outcome = await decideRoleFromDirectory(db, config, connection, person.identity.subject, now);
  return applyGroupRole(db, { ...member, userId }, outcome, now);
}

/** Auto-provisioning: a new account for a member of the connected tenant, or a clear refusal. */
async function provision(
  db: Db,
  config: Config,
  connection: TenantConnection | undefined,
  person: VerifiedPerson,
  userId: string,
  email: string | null,
  now: number,
): Promise<{ statements: Statement[]; membership: { organizationId: string; role: Role } }> {
  // The user row and identity are created by the caller when new.
  if (!connection?.autoProvision || !person.microsoft) throw new AppError("no_account", noAccountMessage(person));
  if (person.microsoft.isGuest) throw new AppError("no_account", GUEST_MESSAGE);
  const verdict = await checkProvisioning(db, config, connection, person.identity.subject);
  if (!verdict.ok) {
    switch (verdict.reason) {
      case "guest":
        throw new AppError("no_account", GUEST_MESSAGE);
      case "disabled":
        throw new AppError("account_deactivated", "Your Microsoft account is disabled in your organization's directory.");
      case "outside_verified_domains":
        throw new AppError(
          "no_account",
          "Only accounts in your organization's verified domains get a UniAsset account automatically. Ask an Owner or Admin to invite you.",
        );
      case "connection_needs_reconnect":
        throw new AppError("directory_needs_attention", CONNECTION_NEEDS_ATTENTION);
      case "directory_unavailable":
        throw new AppError("provider_unavailable", "We couldn't check your account with Microsoft right now. Please try again in a few minutes.");
    }
  }
  const outcome = connection.groupRoleMapping ? await decideRoleFromDirectory(db, config, connection, person.identity.subject, now) : null;
  const role = initialRole(connection, outcome);
  const membership = { organizationId: connection.organizationId, role };
  const statements: Statement[] = [
    insertMembership(db, { ...membership, userId, now }),
    insertAuditEvent(db, {
      organizationId: connection.organizationId,
      actorUserId: null,
      action: "entra.user_provisioned",
      targetUserId: userId,
      details: { role, upn: email, rule: outcome?.ok ? outcome.decision.rule : "default" },
      now,
    }),
  ];
  if (outcome) statements.push(...applyGroupRole(db, { ...membership, userId }, outcome, now));
  return { statements, membership };
}

const CONNECTION_NEEDS_ATTENTION =
  "Your organization's Microsoft Entra ID connection needs attention, so UniAsset can't create your account right now. Ask your UniAsset Owner or Admin to connect Entra ID again.";

function inVerifiedDomain(email: string | null, verifiedDomains: string[] | null): boolean {
  const domain = email?.split("@")[1];
  return !!domain && (verifiedDomains ?? []).includes(domain);
}

const GUEST_MESSAGE =
  "Guest accounts don't get a UniAsset account automatically. Ask an Owner or Admin of the organization to invite you.";

function emailIsTrustedFor(person: VerifiedPerson, email: string | null, invitation: OpenInvitation): boolean {
  if (!email) return false;
  if (person.identity.provider === "google") return true; // only set when Google verified it
  const microsoft = person.microsoft;
  if (!microsoft || microsoft.isGuest || invitation.connectedTenantId !== microsoft.tenantId) return false;
  const domain = email.split("@")[1] ?? "";
  return (invitation.verifiedDomains ?? []).includes(domain);
}

function noAccountMessage(person: VerifiedPerson): string {
  const who = person.email ? ` for ${person.email}` : "";
  return `There is no UniAsset account${who}. Ask an Owner or Admin of your organization to invite you.`;
}
