// Turns validated ID token claims into a VerifiedPerson. Pure: returns a result, never throws.
import { z } from "zod";
import { displayText } from "../lib/schemas.ts";
import type { OAuthProvider } from "../auth/oauth.ts";
import type { VerifiedPerson } from "./signIn.ts";

const microsoftClaims = z.object({
  tid: z.uuid(),
  oid: z.uuid(),
  name: displayText(256).optional(),
  preferred_username: z.string().max(320).optional(),
  /** Optional claim: 1 for a guest (B2B) account in this tenant. */
  acct: z.number().optional(),
  /** Optional claims `email` and `xms_edov` (the email's domain is verified by this tenant): see scimLink.ts. */
  email: z.string().max(320).optional(),
  xms_edov: z.boolean().optional(),
});

const googleClaims = z.object({
  sub: z.string().min(1).max(255),
  email: z.string().max(320).optional(),
  email_verified: z.boolean().optional(),
  /** The Google Workspace (Cloud organization) domain of the account; absent for consumer accounts. */
  hd: z.string().max(255).optional(),
  name: displayText(256).optional(),
});

type PersonResult = { ok: true; value: VerifiedPerson } | { ok: false };

export function personFromClaims(provider: OAuthProvider, claims: unknown): PersonResult {
  if (provider === "microsoft") {
    const parsed = microsoftClaims.safeParse(claims);
    if (!parsed.success) return { ok: false };
    const { tid, oid, name, preferred_username, acct, email, xms_edov } = parsed.data;
    const signInName = preferred_username?.toLowerCase() ?? null;
    const isGuest = acct === 1;
    return {
      ok: true,
      value: {
        identity: { provider, issuerKey: tid, subject: oid },
        displayName: name || signInName || "Microsoft user",
        email: signInName,
        microsoft: { tenantId: tid, isGuest },
        // Only an address whose domain the signing tenant itself verified, of one of its members.
        domainVerifiedEmail: email && xms_edov === true && !isGuest ? email.toLowerCase() : null,
      },
    };
  }
  const parsed = googleClaims.safeParse(claims);
  if (!parsed.success) return { ok: false };
  const { sub, email, email_verified, name, hd } = parsed.data;
  // An unverified Google address is never used to match an invitation.
  const verifiedEmail = email && email_verified === true ? email.toLowerCase() : null;
  // Google is authoritative for the address only in its Workspace domain (`hd`, the domain the
  // Workspace verified): a verified consumer account may carry an address its owner no longer holds.
  const hostedDomain = hd?.toLowerCase();
  return {
    ok: true,
    value: {
      identity: { provider, issuerKey: "google", subject: sub },
      displayName: name || verifiedEmail || "Google user",
      email: verifiedEmail,
      domainVerifiedEmail: verifiedEmail && hostedDomain && verifiedEmail.endsWith(`@${hostedDomain}`) ? verifiedEmail : null,
    },
  };
}
