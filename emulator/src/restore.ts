// Memory rebuilt from what storage kept (storage.ts): when the emulator's Durable Object first
// starts in an isolate (index.ts: a new `npm start`, a new test run), and on
// POST /_emulator/restart, which lets a test restart the emulator without restarting workerd.
// Whatever storage does not keep (faults, tamper, counters, the delivery log, dropped or delayed
// notifications, delta disorder) starts empty, as in a new process.
import { directory, type StoredGroup, type Tenant, type UserOverride } from "./directory.ts";
import { restoreMembershipChange, type MembershipChange } from "./groupMembership.ts";
import { restoreSigningKeys } from "./keys.ts";
import { persisted, persistedValue, unpersist } from "./storage.ts";
import { buildSyntheticTenant, type StoredSyntheticTenant } from "./synthetic.ts";
import {
  resetAll,
  resetMemory,
  state,
  type AccessGrant,
  type AuthorizationGrant,
  type ConsentRequest,
  type GroupMembershipClaims,
  type RefreshGrant,
} from "./state.ts";
import { notifications, resetNotifications, type Subscription } from "./subscriptions.ts";

export async function restoreFromStorage(): Promise<void> {
  resetMemory();
  resetNotifications();
  await restoreSigningKeys();
  const generation = persistedValue<string>("meta", "deltaGeneration");
  if (generation === undefined) {
    // Nothing kept yet (a new state directory, or no storage): the demo world, as after a reset.
    resetAll();
    return;
  }
  state.deltaGeneration = generation;
  directory.version = persistedValue<number>("meta", "directoryVersion") ?? 0;
  const registration = persistedValue<{ groupMembershipClaims: GroupMembershipClaims }>("meta", "registration");
  if (registration) state.registration = registration;
  restoreDirectory();
  restoreGrants(Date.now());
  for (const { key, value } of persisted<boolean>("consentWorkflow")) state.adminConsentWorkflow.set(key, value);
  state.consentRequests = persisted<ConsentRequest>("consentRequest").map((record) => record.value);
  for (const { value } of persisted<Subscription>("subscription")) notifications.subscriptions.set(value.id, value);
}

/** The tenant a record belongs to: its key starts with the tenant id and a space (directory.ts, tenantKey). */
const tenantOf = (key: string) => directory.tenants.get(key.slice(0, key.indexOf(" ")));

function restoreDirectory(): void {
  // Synthetic tenants are made again from their specs, in the order they were first made.
  const specs = persisted<StoredSyntheticTenant>("syntheticTenant").map((record) => record.value);
  for (const spec of specs.sort((a, b) => a.createdAt - b.createdAt)) buildSyntheticTenant(spec);
  // A renamed group takes its old place; an added one comes after, in the order it was added.
  const groups = persisted<StoredGroup>("group").sort((a, b) => a.value.position - b.value.position);
  for (const { key, value } of groups) {
    const tenant = tenantOf(key);
    if (!tenant) continue;
    const at = tenant.groups.findIndex((g) => g.id === value.group.id);
    if (at >= 0) tenant.groups[at] = value.group;
    else tenant.groups.push(value.group);
  }
  for (const { key, value } of persisted<UserOverride>("user")) tenantOf(key)?.overrides.set(value.user.id, value);
  // Keys hold the zero-padded creation index, so key order is creation order.
  for (const { key, value } of persisted<string>("addedUser")) tenantOf(key)?.added.push(value);
  // Group membership changes (groups/delta's log), in the order they were made.
  for (const { key, value } of persisted<MembershipChange>("membership")) {
    const tenant = tenantOf(key);
    if (tenant) restoreMembershipChange(tenant, value);
  }
  // Domains added or removed through the admin API (domains.ts): the whole list, by tenant id.
  for (const { key, value } of persisted<Tenant["verifiedDomains"]>("verifiedDomains")) {
    const tenant = directory.tenants.get(key);
    if (tenant) tenant.verifiedDomains = value;
  }
  for (const { key, value } of persisted<string[]>("consent")) {
    const tenant = directory.tenants.get(key);
    if (tenant) tenant.consentedClients = new Set(value);
  }
}

/** Codes and access tokens that have lapsed are dropped for good; refresh tokens stay to answer 700082 or 50173. */
function restoreGrants(now: number): void {
  for (const { key, value } of persisted<AuthorizationGrant>("code")) {
    if (value.expiresAt < now) unpersist("code", key);
    else state.codes.set(key, value);
  }
  for (const { key, value } of persisted<AccessGrant>("accessToken")) {
    if (value.expiresAt <= now) unpersist("accessToken", key);
    else state.accessTokens.set(key, value);
  }
  for (const { key, value } of persisted<RefreshGrant>("refreshToken")) state.refreshTokens.set(key, value);
}
