// The Entra directory roles of the person who connected a tenant, read from the ID token's `wids`
// claim (role template ids; emitted when the app registration's groupMembershipClaims includes
// DirectoryRole: https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference#payload-claims).
// Only recorded and shown ("Connected by … (Global Administrator)"); never used to refuse anyone:
// Microsoft itself decides who may grant consent.

/** Built-in role template ids (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference). */
const ROLE_NAMES: Record<string, string> = {
  "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
  "e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
  "158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
  "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
  "fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
  "f2ef992c-3afb-46b9-b7cf-a126ee74c451": "Global Reader",
};
/** Every member of a tenant holds this template ("User"); it says nothing about who they are. */
const DEFAULT_USER_ROLE = "b79fbf4d-3ef9-4689-8143-76b194e85509";

/**
 * The names of the known roles in a `wids` claim; null when the token carried no `wids` (the
 * registration doesn't ask for it), an empty list when the person holds no directory role.
 */
export function directoryRoleNames(wids: unknown): string[] | null {
  if (!Array.isArray(wids)) return null;
  const names = wids.flatMap((id) =>
    typeof id === "string" && id !== DEFAULT_USER_ROLE && ROLE_NAMES[id.toLowerCase()] ? [ROLE_NAMES[id.toLowerCase()]!] : [],
  );
  return [...new Set(names)];
}
