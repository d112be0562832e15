// How the Microsoft identity platform reads a scope string: OpenID Connect scopes sign the user
// in; anything else is a Graph permission, which here means admin consent is needed.
export const SIGN_IN_SCOPES = new Set(["openid", "profile", "email", "offline_access"]);
const GRAPH_RESOURCE = "https://graph.microsoft.com/";
/** What `.default` stands for: the permissions configured on the app registration. */
const CONFIGURED_PERMISSIONS = ["User.Read.All", "Group.Read.All"];

export function parseScope(scope: string | undefined): string[] {
  return (scope ?? "").split(/\s+/).filter(Boolean);
}

/** Graph permissions in short form (`User.Read.All`), with `.default` expanded. */
export function graphPermissions(scopes: string[]): string[] {
  const permissions = scopes
    .filter((s) => !SIGN_IN_SCOPES.has(s))
    .flatMap((s) => {
      const short = s.startsWith(GRAPH_RESOURCE) ? s.slice(GRAPH_RESOURCE.length) : s;
      return short === ".default" ? CONFIGURED_PERMISSIONS : [short];
    });
  return [...new Set(permissions)];
}

/**
 * Delegated permissions a user may consent to alone ("Admin consent required: No"), so they need no
 * tenant-wide admin consent. The emulator grants them without a user-consent prompt.
 * https://learn.microsoft.com/en-us/graph/permissions-reference#userread
 */
const USER_CONSENTABLE = new Set(["User.Read", "openid", "profile", "email", "offline_access"]);

/** The requested Graph permissions that only an admin can grant for the organization. */
export function adminOnlyPermissions(scopes: string[]): string[] {
  return graphPermissions(scopes).filter((p) => !USER_CONSENTABLE.has(p));
}

/** The `scope` of a token response: sign-in scopes as asked, Graph permissions as full URIs. */
export function grantedScope(scopes: string[]): string {
  const signIn = scopes.filter((s) => SIGN_IN_SCOPES.has(s));
  return [...graphPermissions(scopes).map((p) => GRAPH_RESOURCE + p), ...signIn].join(" ");
}

const READS_USERS = ["User.Read.All", "Directory.Read.All", "User.ReadWrite.All", "Directory.ReadWrite.All"];
const READS_GROUPS = ["Group.Read.All", "GroupMember.Read.All", "Directory.Read.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"];

// Reading directory roles: https://learn.microsoft.com/en-us/graph/api/directoryrole-list (permissions table).
const READS_ROLES = [
  "RoleManagement.Read.Directory",
  "RoleManagement.Read.All",
  "Directory.Read.All",
  "RoleManagement.ReadWrite.Directory",
  "Directory.ReadWrite.All",
];

/** Whether the token may see directory roles in full (otherwise Graph returns them with limited information). */
export function readsDirectoryRoles(scopes: string[]): boolean {
  const held = new Set(graphPermissions(scopes));
  return READS_ROLES.some((p) => held.has(p));
}

export function allowsGraph(kind: "users" | "groups" | "any", scopes: string[]): boolean {
  const held = new Set(graphPermissions(scopes));
  const needed = kind === "users" ? READS_USERS : kind === "groups" ? READS_GROUPS : [...READS_USERS, ...READS_GROUPS];
  return needed.some((p) => held.has(p));
}
