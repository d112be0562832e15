// Signing in as a member an identity provider pushed over SCIM, who has never signed in (issue 21).
// A SCIM push creates a member with no sign-in method; their first sign-in with Microsoft or Google
// links one to them under this rule, and only this rule:
//
// 1. Microsoft Entra object id. When the provider sent the person's Entra object id (Entra's
//    provisioning service maps `objectId` to `externalId` in its SCIM attribute mappings,
//    https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups),
//    a Microsoft sign-in whose `oid` is that id links. An object id is a GUID that Entra ID assigns
//    when it creates the account; nobody can choose or change it, and a validated ID token carries
//    it only for that account (signed by Microsoft for the tenant in its own `tid`). Guests are left
//    out: a guest's oid is the guest object's, never the home account's.
// 2. A verified email in a domain its owner verified. Otherwise an email links when the provider
//    vouches both that the person holds the address and that the domain's owner verified the domain:
//    - Microsoft: the optional claims `email` and `xms_edov` true, of a member (not a guest) of the
//      signing tenant. `xms_edov` is true only when the email "belongs to the tenant where the user
//      account resides and the tenant admin has done verification of the domain"
//      (https://learn.microsoft.com/en-us/entra/identity-platform/optional-claims-reference), and
//      Entra ID lets one tenant at a time verify a domain. The app registration must list `email`
//      and `xms_edov` as optional ID token claims (README).
//    - Google: `email_verified` true and `hd` (the Google Workspace domain) equal to the address's
//      domain: Google is authoritative for addresses of a Workspace domain
//      (https://developers.google.com/identity/openid-connect/openid-connect#an-id-tokens-payload).
//      A consumer account's verified address is not enough: it may be one its owner no longer holds.
//    The address must be the pushed User's own (its primary, else work, else first email, else a
//    userName that is an address), compared case-insensitively.
//
// Why it cannot be spoofed: an attacker would need an ID token, signed by Microsoft or Google, that
// carries the member's object id (only that account has it) or the member's address with its
// domain's verification (only the domain's owner's tenant or Workspace can issue that). The
// Microsoft ID token's own unverified claims (`preferred_username`, `email` without `xms_edov`,
// a guest's `mail`) never link; a Google address without `hd` never links. Nothing the SCIM
// provider sends can make someone else's sign-in match: it only names the member's own keys.
//
// Further limits: a member already linked to an account of this provider is never linked again by
// email or object id (their identity finds them); a person UniAsset already knows under another
// account (linked identity) signs in as that account, and the SCIM member stays unlinked (accounts
// are never merged); a deactivated member is refused as any deactivated member is. The link is
// audited (`scim.member_linked`), and from then on the identity finds the member directly.
import type { ScimLinkKeys } from "../db/scimSignIn.ts";

/** What the rule reads of a verified person (signIn.ts's VerifiedPerson). */
interface LinkClaims {
  identity: { provider: "microsoft" | "google"; subject: string };
  microsoft?: { isGuest: boolean };
  domainVerifiedEmail?: string | null;
}

/** The keys a verified person may be linked to a SCIM-provisioned member by (none for a Microsoft guest). */
export function scimLinkKeys(person: LinkClaims): ScimLinkKeys {
  const provider = person.identity.provider;
  const guest = person.microsoft?.isGuest ?? false;
  return {
    provider,
    objectId: provider === "microsoft" && !guest ? person.identity.subject.toLowerCase() : null,
    email: guest ? null : (person.domainVerifiedEmail ?? null),
  };
}
