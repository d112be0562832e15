// Who a verified person is in UniAsset, in this order: a linked identity (imported users
// included), then an open invitation for an email the provider vouches for, then auto-provisioning
// from the connected Entra tenant; otherwise a clear refusal. Email alone never links a Microsoft
// identity unless the tenant is the organization's connected tenant and the address is in one of
// its verified domains (the nOAuth class of account takeover). At every Microsoft sign-in with
// group mapping on, the person's Entra groups decide their role.
import { and, type SQL } from "drizzle-orm";
import { isUniqueViolation, type Db } from "../db/client.ts";
import {
  connectionStillProvisions,
  findConnectionOfTenant,
  findConnectionTokensOfTenant,
  type TenantConnection,
} from "../db/connections.ts";
import { findLinkedMemberships, insertIdentity, type IdentityKey } from "../db/identities.ts";
import { acceptInvitation, findOpenInvitationsForEmail, invitationStillOpen, type OpenInvitation } from "../db/invitations.ts";
import { listMappingsOfTenant } from "../db/mappings.ts";
import { activeMembershipExists, insertMembership, insertUser, markSignedIn, memberUserRow } from "../db/members.ts";
import { insertAuditEvent } from "../db/audit.ts";
import type { Role } from "../db/schema.ts";
import { isReplayedFlowState, isStalePremise } from "../db/usedFlowStates.ts";
import { applyGroupRole, initialRole, readSignInDirectory, type SignInDirectory } from "../entra/signInDirectory.ts";
import type { Config } from "../lib/config.ts";
import { AppError } from "../lib/errors.ts";
import { expiredOrUsed, flowClaim, type Flow } from "../auth/flows.ts";
import { prepareSession } from "../auth/session.ts";
import { runStatements, type Write } from "../db/statements.ts";
import { insertEventsFor, MEMBER_OF_U } from "../db/outbox.ts";
import { findScimLinkCandidate, noIdentityOf } from "../db/scimSignIn.ts";
import { scimLinkKeys } from "./scimLink.ts";

/** A person whose ID token has been validated. */
export interface VerifiedPerson {
  identity: IdentityKey;
  displayName: string;
  /** Google: the email when `email_verified`; Microsoft: the sign-in name (UPN). */
  email: string | null;
  /** Microsoft only: the tenant and whether the token marks a guest (`acct` = 1). */
  microsoft?: { tenantId: string; isGuest: boolean };
  /**
   * An email whose domain the provider vouches was verified by the account's own organization
   * (Microsoft: `xms_edov` of a member; Google: `hd`), or null. Only this links a SCIM-provisioned
   * member by email (scimLink.ts).
   */
  domainVerifiedEmail?: string | null;
}

interface SignInResult {
  userId: string;
  organizationId: string;
  sessionToken: string;
  /**
   * The write batch may have raised webhook events (a provisioning, a mapped role, a connection
   * now needing reconnect): the route asks for a relay without a D1 round trip of its own.
   */
  mayRaiseEvents: boolean;
}

interface SignInOptions {
  /** The round trip being completed: used up in the sign-in's write batch. */
  flow: Flow;
  /** More writes for the same batch (the end of the browser's previous session). */
  writes: Write[];
  /** A handle whose reads go to the primary, for reading again after a stale read. */
  primary: () => Db;
}

type Statement = Write;

/**
 * Signs a verified person in with two D1 round trips: one read batch, one write batch (and one
 * Graph round trip when the directory has a say). `db` may read from a replica: every fact the
 * writes rely on that a replica could report stale — the session's membership still active, each
 * accepted invitation still open, the connection still provisioning — is a premise re-checked by
 * the batch's first statement on the primary, and a batch whose premises fail rolls back whole
 * and is retried with primary reads. A stale mapping or token row needs no premise: a role is
 * decided at each sign-in anyway (a stale one is what a sign-in a moment earlier would have
 * decided), and token writes are conditional on the stored refresh token.
 */
export async function signIn(db: Db, config: Config, person: VerifiedPerson, now: number, options: SignInOptions): Promise<SignInResult> {
  const directoryReads = new Map<string, Promise<SignInDirectory>>();
  let reads = db;
  for (let attempt = 1; ; attempt++) {
    try {
      return await resolveAndSignIn(reads, config, person, now, options, directoryReads);
    } catch (error) {
      if (isReplayedFlowState(error)) throw expiredOrUsed();
      // Two first sign-ins of one person raced (the other linked the identity first and this batch
      // rolled back), or the replica was behind the primary: read again, from the primary.
      const retry = isUniqueViolation(error, "identities") || isStalePremise(error);
      if (!retry || attempt >= 3) throw error;
      reads = options.primary();
    }
  }
}

async function resolveAndSignIn(
  db: Db,
  config: Config,
  person: VerifiedPerson,
  now: number,
  options: SignInOptions,
  directoryReads: Map<string, Promise<SignInDirectory>>,
): Promise<SignInResult> {
  const email = person.email?.toLowerCase() ?? null;
  const tenantId = person.microsoft?.tenantId ?? "";
  const [identityLinked, invitations, connections, tokenRows, mappings, scimCandidate] = await db.batch([
    findLinkedMemberships(db, person.identity),
    findOpenInvitationsForEmail(db, email ?? "", now),
    findConnectionOfTenant(db, tenantId),
    findConnectionTokensOfTenant(db, tenantId),
    listMappingsOfTenant(db, tenantId),
    findScimLinkCandidate(db, scimLinkKeys(person)),
  ]);
  const connection = connections[0]?.status === "connected" ? connections[0] : undefined;
  // Someone UniAsset does not know yet may be a member a SCIM push provisioned (scimLink.ts: the rule).
  const scimLink = identityLinked.length === 0 ? scimCandidate[0] : undefined;
  const linked = scimLink ? scimCandidate : identityLinked;
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
    if (
      paused?.status === "needs_reconnect" &&
      paused.autoProvision &&
      !person.microsoft?.isGuest &&
      inVerifiedDomain(email, paused.verifiedDomains)
    ) {
      throw new AppError("directory_needs_attention", CONNECTION_NEEDS_ATTENTION);
    }
    throw new AppError("no_account", noAccountMessage(person));
  }

  const userId = existingUserId ?? crypto.randomUUID();
  const memberships: { organizationId: string; role: Role }[] = [
    ...active,
    ...acceptable.map((i) => ({ organizationId: i.organizationId, role: i.role })),
  ];
  // With group mapping on, the member of the connected organization gets the role their groups give.
  const mapped =
    connection?.groupRoleMapping && person.identity.provider === "microsoft"
      ? memberships.find((m) => m.organizationId === connection.organizationId)
      : undefined;
  // A guest is refused before Graph is asked anything (the token says so; Graph would agree).
  const asksDirectory = provisionable && !!person.microsoft && !person.microsoft.isGuest;
  // A group scope needs the person's groups too: they come in the same $batch as the user.
  const scopeNeedsGroups = asksDirectory && connection?.scopeMode === "groups";
  const want = { user: asksDirectory, groups: (!!connection?.groupRoleMapping && (!!mapped || asksDirectory)) || scopeNeedsGroups };
  const tokens = tokenRows[0]?.organizationId === connection?.organizationId ? tokenRows[0] : undefined;
  const directory: SignInDirectory =
    connection && (want.user || want.groups)
      ? await once(directoryReads, JSON.stringify(want), () =>
          readSignInDirectory(db, config, connection, tokens, mappings, person.identity.subject, want, now),
        )
      : { writes: [] };

  const statements: Statement[] = [];
  let mayRaiseEvents = directory.writes.length > 0 || (!!mapped && !!directory.roles);
  const premises: SQL[] = acceptable.map((i) => invitationStillOpen(i.id, now));
  if (!existingUserId) statements.push(...createUser(db, person, userId, email, now));
  if (scimLink) {
    statements.push(...linkScimMember(db, person, scimLink, email, now));
    premises.push(noIdentityOf(person.identity.provider, scimLink.userId));
  }
  statements.push(...acceptInvitations(db, person, userId, acceptable, now));
  if (mapped && directory.roles) statements.push(...applyGroupRole(db, { ...mapped, userId }, directory.roles, now));
  if (provisionable) {
    try {
      const provisioned = provision(db, connection, person, userId, email, directory, now);
      statements.push(...provisioned.statements);
      memberships.unshift(provisioned.membership);
      mayRaiseEvents = true;
      premises.push(connectionStillProvisions(connection!.organizationId, tenantId));
    } catch (refusal) {
      // Someone with access elsewhere still signs in there; otherwise the refusal is the answer,
      // after the token writes the directory read cost (a refreshed pair, or "needs reconnect").
      if (!hasAccess || !(refusal instanceof AppError)) {
        // Outside the sync scope is audited, in the same one write batch (issue 20).
        const audit =
          refusal instanceof AppError && refusal.code === "outside_scope" ? [outsideScopeAudit(db, connection!, person, email, now)] : [];
        await runStatements(db, [...directory.writes, ...audit]);
        throw refusal;
      }
    }
  }

  const organizationId = memberships[0]!.organizationId;
  if (active.some((m) => m.organizationId === organizationId)) premises.push(activeMembershipExists(organizationId, userId));
  const session = await prepareSession(db, userId, organizationId, now);
  // The claim goes first: its premises are checked before anything in the batch changes them.
  await runStatements(db, [
    await flowClaim(options.flow, and(...premises)),
    ...statements,
    ...directory.writes,
    markSignedIn(db, userId, now),
    session.statement,
    ...options.writes,
  ]);
  return { userId, organizationId, sessionToken: session.token, mayRaiseEvents };
}

/** The first sign-in of a SCIM-provisioned member: their identity, audited with what linked it. */
function linkScimMember(
  db: Db,
  person: VerifiedPerson,
  link: { userId: string; organizationId: string; linkedBy: "entra_object_id" | "email" },
  email: string | null,
  now: number,
): Statement[] {
  return [
    insertIdentity(db, person.identity, link.userId, email, now),
    insertAuditEvent(db, {
      organizationId: link.organizationId,
      actorUserId: link.userId,
      action: "scim.member_linked",
      targetUserId: link.userId,
      details: { provider: person.identity.provider, linkedBy: link.linkedBy },
      now,
    }),
  ];
}

/** A retry after a stale read asks Graph nothing new: the directory answer (and its token writes) is reused. */
function once<T>(memo: Map<string, Promise<T>>, key: string, read: () => Promise<T>): Promise<T> {
  let value = memo.get(key);
  if (!value) {
    value = read();
    memo.set(key, value);
  }
  return value;
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

/** Auto-provisioning: a new account for a member of the connected tenant, or a clear refusal. */
function provision(
  db: Db,
  connection: TenantConnection | undefined,
  person: VerifiedPerson,
  userId: string,
  email: string | null,
  directory: SignInDirectory,
  now: number,
): { statements: Statement[]; membership: { organizationId: string; role: Role } } {
  // The user row and identity are created by the caller when new.
  if (!connection?.autoProvision || !person.microsoft) throw new AppError("no_account", noAccountMessage(person));
  if (person.microsoft.isGuest) throw new AppError("no_account", GUEST_MESSAGE);
  const verdict = directory.verdict ?? { ok: false, reason: "directory_unavailable" };
  if (!verdict.ok) {
    switch (verdict.reason) {
      case "guest":
        throw new AppError("no_account", GUEST_MESSAGE);
      case "disabled":
        throw new AppError("account_deactivated", "Your Microsoft account is disabled in your organization's directory.");
      case "outside_scope":
        throw new AppError("outside_scope", OUTSIDE_SCOPE_MESSAGE);
      case "outside_verified_domains":
        throw new AppError(
          "no_account",
          "Only accounts in your organization's verified domains get a UniAsset account automatically. Ask an Owner or Admin to invite you.",
        );
      case "connection_needs_reconnect":
        throw new AppError("directory_needs_attention", CONNECTION_NEEDS_ATTENTION);
      case "directory_unavailable":
        throw new AppError(
          "provider_unavailable",
          "We couldn't check your account with Microsoft right now. Please try again in a few minutes.",
        );
    }
  }
  const outcome = connection.groupRoleMapping ? (directory.roles ?? null) : null;
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
    insertEventsFor(
      "member.provisioned",
      {
        organizationId: connection.organizationId,
        now,
        data: {
          organization_id: connection.organizationId,
          member: MEMBER_OF_U,
          role,
          cause: "sign_in",
          run_id: null,
          actor_user_id: null,
        },
      },
      memberUserRow(userId),
    ),
  ];
  if (outcome) statements.push(...applyGroupRole(db, { ...membership, userId }, outcome, now));
  return { statements, membership };
}

const OUTSIDE_SCOPE_MESSAGE =
  "Your organization's directory does not include you in UniAsset. If you need access, ask your UniAsset Owner or Admin to add you to the sync scope or to invite you.";

/** Who was refused and why, for the organization's audit log (no account exists to name). */
function outsideScopeAudit(db: Db, connection: TenantConnection, person: VerifiedPerson, email: string | null, now: number) {
  return insertAuditEvent(db, {
    organizationId: connection.organizationId,
    actorUserId: null,
    action: "entra.signin_outside_scope",
    details: { upn: email, oid: person.identity.subject, name: person.displayName },
    now,
  });
}

const CONNECTION_NEEDS_ATTENTION =
  "Your organization's Microsoft Entra ID connection needs attention, so UniAsset can't create your account right now. Ask your UniAsset Owner or Admin to connect Entra ID again.";

function inVerifiedDomain(email: string | null, verifiedDomains: string[] | null): boolean {
  const domain = email?.split("@")[1];
  return !!domain && (verifiedDomains ?? []).includes(domain);
}

const GUEST_MESSAGE = "Guest accounts don't get a UniAsset account automatically. Ask an Owner or Admin of the organization to invite you.";

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
