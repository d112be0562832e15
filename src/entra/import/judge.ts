// The rules of Import, the same for its preview and its apply (which reads the directory again and
// decides with these rules, never from a posted list): who on a page of directory users is new,
// already present or skipped (a guest, a disabled account, outside the sync scope), and the role a
// new person gets. A page is judged on its own, with what the import's scratch rows say of its
// people (their groups), so no step holds more than one page of users.
import type { ImportedPerson } from "../../db/importedMembers.ts";
import type { ScratchOfPerson } from "../../db/directoryImports.ts";
import type { MappableRole } from "../../db/schema.ts";
import { resolveRoleFromGroups, type DirectoryGroup, type GroupMapping } from "../../people/groupRoles.ts";
import { isDirectoryGuest, isProvisionableMember, type DirectoryUser } from "../directory.ts";

export type Category = "new" | "present" | "guests" | "disabled" | "outsideDomains";
export const CATEGORIES: readonly Category[] = ["new", "present", "guests", "disabled", "outsideDomains"];

/** First names shown per category in the preview. */
const SAMPLE_SIZE = 10;

/** The plan so far: counts and first names per category, and how many new people each role would get. */
export interface ImportTally {
  counts: Record<Category, number>;
  samples: Record<Category, string[]>;
  rolesOfNew: Partial<Record<MappableRole, number>>;
}

export const emptyTally = (): ImportTally => ({
  counts: { new: 0, present: 0, guests: 0, disabled: 0, outsideDomains: 0 },
  samples: { new: [], present: [], guests: [], disabled: [], outsideDomains: [] },
  rolesOfNew: {},
});

/** What an import decides with, read once when it starts (the load step). */
export interface ImportRules {
  /** The sync scope's chosen domains. */
  domains: string[];
  /** The sync scope is "Only members of these groups" and the page's source is not those groups: check each person. */
  checkScopeGroups: boolean;
  mappingOn: boolean;
  defaultRole: MappableRole;
  mappings: GroupMapping[];
  /** When group memberships were read (the "Why this role" record). */
  readAt: number;
}

/** A page's people before the membership check: whether each could be a member at all. */
export function couldJoin(user: DirectoryUser, scratch: ScratchOfPerson, rules: ImportRules): Category | null {
  if (isDirectoryGuest(user)) return "guests";
  if (rules.checkScopeGroups && !scratch.inScope) return "outsideDomains";
  if (user.accountEnabled === false) return "disabled";
  if (!isProvisionableMember(user, rules.domains)) return "outsideDomains";
  return null;
}

export function nameOf(user: DirectoryUser): string {
  return user.displayName || user.userPrincipalName || user.id;
}

/** The person Import would create, with the role group mapping gives them (or the default role). */
export function personOf(user: DirectoryUser, mapped: readonly string[], rules: ImportRules): ImportedPerson {
  const email = (user.mail || user.userPrincipalName || "").toLowerCase() || null;
  const base = { oid: user.id, email, displayName: nameOf(user) };
  if (!rules.mappingOn) return { ...base, role: rules.defaultRole, decision: null };
  const memberOf = new Set(mapped);
  const groups: DirectoryGroup[] = rules.mappings
    .filter((m) => memberOf.has(m.groupId.toLowerCase()))
    .map((m) => ({ id: m.groupId, displayName: m.groupName }));
  const decision = resolveRoleFromGroups(groups, rules.mappings, rules.defaultRole);
  return {
    ...base,
    role: decision.role,
    decision: { rule: decision.rule, matchedGroups: decision.matched, decidingGroup: decision.decidingGroup, graphReadAt: rules.readAt },
  };
}

/** Counts one person into the tally (a copy: the step's input stays as checkpointed). */
export function count(tally: ImportTally, category: Category, name: string, role?: MappableRole): void {
  tally.counts[category]++;
  if (tally.samples[category].length < SAMPLE_SIZE) tally.samples[category].push(name);
  if (role) tally.rolesOfNew[role] = (tally.rolesOfNew[role] ?? 0) + 1;
}
