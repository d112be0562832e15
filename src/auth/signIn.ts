// Who a verified person is in UniAsset, in product.md's order: a linked identity, then an open
// invitation for an email the provider vouches for, then (with Entra connected) auto-provisioning;
// otherwise a clear refusal. Email alone never links a Microsoft identity unless the tenant is the
// organization's connected tenant and the address is in one of its verified domains (nOAuth).
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../db/client.ts";
import { findLinkedMemberships, insertIdentity, type IdentityKey } from "../db/identities.ts";
import { acceptInvitation, findOpenInvitationsForEmail, type OpenInvitation } from "../db/invitations.ts";
import { insertMembership, insertUser, markSignedIn } from "../db/members.ts";
import { insertAuditEvent } from "../db/audit.ts";
import { AppError } from "../lib/errors.ts";
import { prepareSession } from "./session.ts";

/** A person whose ID token has been validated. */
export interface VerifiedPerson {
  identity: IdentityKey;
  displayName: string;
  /** Google: the email when `email_verified`; Microsoft: the sign-in name (UPN) of a member. */
  email: string | null;
  /** Microsoft only: the tenant and whether the person is a guest there (`acct` = 1). */
  microsoft?: { tenantId: string; isGuest: boolean };
}

export interface SignInResult {
  userId: string;
  organizationId: string;
  sessionToken: string;
}

export async function signIn(db: Db, person: VerifiedPerson, now: number): Promise<SignInResult> {
  const email = person.email?.toLowerCase() ?? null;
  const [linked, invitations] = await db.batch([
    findLinkedMemberships(db, person.identity),
    findOpenInvitationsForEmail(db, email ?? "", now),
  ]);
  const existingUserId = linked[0]?.userId;
  const memberOf = new Set(linked.flatMap((m) => (m.organizationId ? [m.organizationId] : [])));
  const acceptable = invitations.filter(
    (invitation) => emailIsTrustedFor(person, email, invitation) && !memberOf.has(invitation.organizationId),
  );
  const active = linked.filter((m) => m.status === "active" && m.organizationId);

  if (!existingUserId && acceptable.length === 0) {
    throw new AppError("no_account", noAccountMessage(person));
  }
  if (existingUserId && active.length === 0 && acceptable.length === 0) {
    if (memberOf.size > 0) {
      throw new AppError("account_deactivated", "Your UniAsset account has been deactivated. Contact your organization's Owner or Admin.");
    }
    throw new AppError("no_account", noAccountMessage(person));
  }

  const userId = existingUserId ?? crypto.randomUUID();
  const statements: BatchItem<"sqlite">[] = [];
  if (!existingUserId) {
    statements.push(
      insertUser(db, { id: userId, email, displayName: person.displayName, now }),
      insertIdentity(db, person.identity, userId, email, now),
    );
  }
  for (const invitation of acceptable) {
    statements.push(
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
    );
  }
  const organizationId = active[0]?.organizationId ?? acceptable[0]!.organizationId;
  const session = await prepareSession(db, userId, organizationId!, now);
  statements.push(markSignedIn(db, userId, now), session.statement);
  await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
  return { userId, organizationId: organizationId!, sessionToken: session.token };
}

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
