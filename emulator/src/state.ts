// Everything the emulator remembers between requests. Memory is the working copy; what Microsoft
// would still have after a restart is also written to storage (storage.ts) as it changes, through
// the functions below. `resetAll` returns to the demo world, which is what tests and `npm start`
// users expect after a run.
import { directory, loadDemoDirectory, saveDirectoryVersion } from "./directory.ts";
import { persist, unpersistAll } from "./storage.ts";
import { randomToken } from "./util.ts";

/** An authorization code and everything the token request must match. */
export interface AuthorizationGrant {
  provider: "microsoft" | "google";
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  nonce: string | undefined;
  scope: string[];
  /** Microsoft: the user's object id; Google: the account's sub. */
  subject: string;
  /** Microsoft only: the tenant the tokens are issued for. */
  tenantId: string;
  expiresAt: number;
  redeemed: boolean;
}

export interface AccessGrant {
  tenantId: string;
  oid: string;
  clientId: string;
  scope: string[];
  expiresAt: number;
}

export interface RefreshGrant {
  tenantId: string;
  oid: string;
  clientId: string;
  scope: string[];
  /**
   * Using a refresh token does not retire it: Microsoft returns a new one and "doesn't revoke old
   * refresh tokens when used to fetch new access tokens"; it lasts until it expires or is revoked.
   * https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens
   */
  state: "active" | "revoked";
  /** 90 days (the default for confidential clients), or now after POST /_emulator/refresh-tokens/expire. */
  expiresAt: number;
}

export interface Fault {
  endpoint: string;
  status?: number;
  retryAfter?: number;
  delayMs?: number;
  times: number;
  /** Matching requests to let through before this fault fires (a failure mid-paging). */
  afterRequests: number;
  body?: unknown;
  networkError?: boolean;
}

/**
 * The app registration's `groupMembershipClaims` (application manifest): which group and role
 * claims tokens carry. `wids` needs "DirectoryRole" or "All".
 * https://learn.microsoft.com/en-us/entra/identity-platform/reference-microsoft-graph-app-manifest#groupmembershipclaims-attribute
 */
export const GROUP_MEMBERSHIP_CLAIMS = ["None", "SecurityGroup", "DirectoryRole", "ApplicationGroup", "All"] as const;
export type GroupMembershipClaims = (typeof GROUP_MEMBERSHIP_CLAIMS)[number];
/** The README makes DirectoryRole a required registration step, so the emulated registration starts with it. */
export const DEFAULT_GROUP_MEMBERSHIP_CLAIMS: GroupMembershipClaims = "DirectoryRole";

export interface ConsentRequest {
  tenantId: string;
  clientId: string;
  oid: string;
  permissions: string[];
  justification: string;
  requestedAt: string;
}

export type TamperKind = "aud" | "iss" | "tid" | "expired" | "nonce" | "signature";
export const TAMPER_KINDS: TamperKind[] = ["aud", "iss", "tid", "expired", "nonce", "signature"];

export const state = {
  codes: new Map<string, AuthorizationGrant>(),
  accessTokens: new Map<string, AccessGrant>(),
  refreshTokens: new Map<string, RefreshGrant>(),
  faults: [] as Fault[],
  tamper: undefined as TamperKind | undefined,
  requests: new Map<string, number>(),
  /** Of those, the ones sent with `x-ms-throttle-priority: low` (background work). */
  lowPriorityRequests: new Map<string, number>(),
  /** Requests that came inside a JSON $batch (also counted in `requests` under their own names). */
  batchedRequests: new Map<string, number>(),
  /** Delta tokens carry this; changing it makes every outstanding token answer 410. */
  deltaGeneration: "", // set by resetAll: random values cannot be made at module load in Workers
  registration: { groupMembershipClaims: DEFAULT_GROUP_MEMBERSHIP_CLAIMS as GroupMembershipClaims },
  /** Tenants whose admin consent workflow is on (POST /_emulator/tenants/{tid}/admin-consent-workflow). */
  adminConsentWorkflow: new Map<string, boolean>(),
  /** Requests users sent from "Approval required". */
  consentRequests: [] as ConsentRequest[],
  /** POST /_emulator/delta/disorder: delta rounds list entries shuffled and repeat some. */
  deltaDisorder: { shuffle: false, repeat: false },
};

/** The demo world in memory, with nothing issued yet; storage is left as it is (restore.ts reads it next). */
export function resetMemory(): void {
  loadDemoDirectory();
  state.codes.clear();
  state.accessTokens.clear();
  state.refreshTokens.clear();
  state.faults = [];
  state.tamper = undefined;
  state.requests.clear();
  state.lowPriorityRequests.clear();
  state.batchedRequests.clear();
  state.deltaGeneration = "";
  state.registration = { groupMembershipClaims: DEFAULT_GROUP_MEMBERSHIP_CLAIMS };
  state.deltaDisorder = { shuffle: false, repeat: false };
  state.adminConsentWorkflow.clear();
  state.consentRequests = [];
}

/** POST /_emulator/reset: the demo world, in memory and in storage. Signing keys stay (keys.ts). */
export function resetAll(): void {
  resetMemory();
  unpersistAll(["signingKey"]);
  expireDeltaTokens();
  saveDirectoryVersion();
}

/** A new generation: every outstanding delta and skip token answers 410 from now on. */
export function expireDeltaTokens(): void {
  state.deltaGeneration = randomToken(8);
  persist("meta", "deltaGeneration", state.deltaGeneration);
}

export function ensureLoaded(): void {
  if (directory.tenants.size === 0) resetAll();
}

export function countRequest(endpoint: string, lowPriority = false, batched = false): void {
  state.requests.set(endpoint, (state.requests.get(endpoint) ?? 0) + 1);
  if (batched) state.batchedRequests.set(endpoint, (state.batchedRequests.get(endpoint) ?? 0) + 1);
  if (lowPriority) state.lowPriorityRequests.set(endpoint, (state.lowPriorityRequests.get(endpoint) ?? 0) + 1);
}

/** Takes the fault that applies to this request, if any, consuming one of its `times`. */
export function takeFault(endpoint: string): Fault | undefined {
  for (const fault of state.faults) {
    if (fault.endpoint !== endpoint) continue;
    if (fault.afterRequests > 0) {
      fault.afterRequests--;
      return undefined;
    }
    fault.times--;
    state.faults = state.faults.filter((f) => f.times > 0);
    return fault;
  }
  return undefined;
}

/** Consumes the pending ID-token tamper, if any: it applies to exactly one token. */
export function takeTamper(): TamperKind | undefined {
  const kind = state.tamper;
  state.tamper = undefined;
  return kind;
}

/** Records an authorization code (new, or just redeemed). */
export function saveCode(code: string, grant: AuthorizationGrant): void {
  state.codes.set(code, grant);
  persist("code", code, grant);
}

export function issueAccessToken(grant: Omit<AccessGrant, "expiresAt">): string {
  const token = randomToken();
  saveAccessGrant(token, { ...grant, expiresAt: Date.now() + 3600_000 });
  return token;
}

function saveAccessGrant(token: string, grant: AccessGrant): void {
  state.accessTokens.set(token, grant);
  persist("accessToken", token, grant);
}

export const REFRESH_TOKEN_LIFETIME_MS = 90 * 24 * 3600_000;

export function issueRefreshToken(grant: Omit<RefreshGrant, "state" | "expiresAt">): string {
  const token = randomToken(48);
  saveRefreshGrant(token, { ...grant, state: "active", expiresAt: Date.now() + REFRESH_TOKEN_LIFETIME_MS });
  return token;
}

function saveRefreshGrant(token: string, grant: RefreshGrant): void {
  state.refreshTokens.set(token, grant);
  persist("refreshToken", token, grant);
}

/** POST /_emulator/grants/revoke: revokes the active refresh tokens that match; returns how many. */
export function revokeRefreshTokens(match: { tenantId?: string; oid?: string }): number {
  let revoked = 0;
  for (const [token, grant] of state.refreshTokens) {
    if (grant.state !== "active" || (match.tenantId && grant.tenantId !== match.tenantId) || (match.oid && grant.oid !== match.oid))
      continue;
    saveRefreshGrant(token, { ...grant, state: "revoked" });
    revoked++;
  }
  return revoked;
}

/** POST /_emulator/refresh-tokens/expire: every refresh token is expired from now on. */
export function expireRefreshTokens(): number {
  for (const [token, grant] of state.refreshTokens) saveRefreshGrant(token, { ...grant, expiresAt: 0 });
  return state.refreshTokens.size;
}

/** POST /_emulator/access-tokens/expire: every current access token answers Graph 401 from now on. */
export function expireAccessTokens(): number {
  for (const [token, grant] of state.accessTokens) saveAccessGrant(token, { ...grant, expiresAt: 0 });
  return state.accessTokens.size;
}

export function setRegistration(groupMembershipClaims: GroupMembershipClaims): void {
  state.registration = { groupMembershipClaims };
  persist("meta", "registration", state.registration);
}

export function setAdminConsentWorkflow(tenantId: string, enabled: boolean): void {
  state.adminConsentWorkflow.set(tenantId, enabled);
  persist("consentWorkflow", tenantId, enabled);
}

export function addConsentRequest(request: ConsentRequest): void {
  state.consentRequests.push(request);
  // Keys sort in arrival order (restore.ts reads them back in key order).
  persist("consentRequest", String(state.consentRequests.length).padStart(8, "0"), request);
}
