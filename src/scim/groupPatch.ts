// Plans a PATCH of a Group (RFC 7644 §3.5.2) without reading its members. A group can hold
// 100,000 people and a provider adds 10,000 in one request, so the plan is a membership *change*
// (ids to add, ids to remove, or "replace them all with these") that the caller writes in
// batches, never a rewritten member list. Members are chosen by their `value` (the User's id):
// `members[value eq "…"]` and `or` of those, the shapes Entra and Okta send.
import { ScimError } from "./errors.ts";
import type { Filter } from "./filter.ts";
import { jsonEqual } from "./json.ts";
import { isJsonObject, normalizeSimple, type JsonObject } from "./normalize.ts";
import { parsePatchPath } from "./patchPath.ts";
import { parsePatchRequest, type PatchOperation } from "./patchRequest.ts";
import { memberIds, validateGroup, type ScimGroup } from "./resources.ts";

export interface MembershipChange {
  /**
   * True when the request replaced the whole membership (`replace members`, or `remove members`
   * without a filter): every current member not in `add` leaves, and `remove` is empty.
   */
  replaceAll: boolean;
  /** User ids to add, each once, in request order. */
  add: string[];
  /** User ids to remove (never also in `add`). */
  remove: string[];
}

export interface GroupPatchResult {
  group: ScimGroup;
  changed: Array<"displayName" | "externalId">;
  members: MembershipChange;
}

/** Plans a PATCH body against a Group's own attributes. Throws ScimError; `current` is not modified. */
export function planGroupPatch(current: ScimGroup, body: unknown): GroupPatchResult {
  const plan = new GroupPlan(current);
  for (const operation of parsePatchRequest(body)) plan.apply(operation);
  return plan.result(current);
}

/** The member list after a change: for tests and small groups; large groups apply the change in SQL. */
export function applyMembershipChange(currentMembers: Iterable<string>, change: MembershipChange): string[] {
  const next = new Set(change.replaceAll ? [] : currentMembers);
  for (const id of change.remove) next.delete(id);
  for (const id of change.add) next.add(id);
  return [...next];
}

class GroupPlan {
  private readonly attributes: JsonObject;
  private replaceAll = false;
  private readonly adding = new Set<string>();
  private readonly removing = new Set<string>();

  constructor(current: ScimGroup) {
    this.attributes = { ...current };
  }

  apply(operation: PatchOperation): void {
    if (operation.path !== undefined) {
      this.applyAtPath(operation.op, operation.path, operation.value);
      return;
    }
    if (!isJsonObject(operation.value))
      throw ScimError.invalidValue(`An "${operation.op}" without a path needs an object of attributes as its value.`);
    for (const [key, value] of Object.entries(operation.value)) {
      // Okta's rename sends the group's own id beside the new name: readOnly, so ignored.
      if (["id", "meta", "schemas"].includes(key.toLowerCase())) continue;
      this.applyAtPath(operation.op, key, value);
    }
  }

  private applyAtPath(op: PatchOperation["op"], pathText: string, value: unknown): void {
    const path = parsePatchPath(pathText, "Group");
    if (path.kind === "extension") throw ScimError.invalidPath(`The path "${pathText}" names a schema Groups do not have.`);
    const name = path.definition.name;
    if (path.definition.mutability === "readOnly") throw ScimError.mutability(`"${name}" is read-only.`);
    if (name !== "members") {
      if (op === "remove") delete this.attributes[name];
      else this.setAttribute(name, normalizeSimple(path.definition, value, name));
      return;
    }
    // A member's value, type and $ref are immutable and its display is the server's.
    if (path.sub) throw ScimError.mutability(`"members.${path.sub.name}" cannot be changed: add or remove the member instead.`);
    if (path.filter) {
      if (op !== "remove") throw ScimError.invalidPath(`"${pathText}": members are added with the path "members" and a list of values.`);
      for (const id of selectedMembers(path.filter, pathText)) this.removeMember(id);
      return;
    }
    if (op === "remove") {
      // Entra without its compliance flag names the members to remove in "value";
      // without a value, every member goes (RFC 7644 §3.5.2.2).
      if (value === undefined || value === null) this.clearMembers();
      else for (const id of memberIds(asList(value), "members")) this.removeMember(id);
      return;
    }
    if (op === "replace") this.clearMembers();
    for (const id of memberIds(asList(value), "members")) this.addMember(id);
  }

  private setAttribute(name: string, value: unknown): void {
    if (value === undefined) delete this.attributes[name];
    else this.attributes[name] = value;
  }

  private addMember(id: string): void {
    this.removing.delete(id);
    this.adding.add(id);
  }

  private removeMember(id: string): void {
    this.adding.delete(id);
    if (!this.replaceAll) this.removing.add(id);
  }

  private clearMembers(): void {
    this.replaceAll = true;
    this.adding.clear();
    this.removing.clear();
  }

  result(current: ScimGroup): GroupPatchResult {
    const group = validateGroup(this.attributes);
    const changed = (["displayName", "externalId"] as const).filter((name) => !jsonEqual(current[name], group[name]));
    return { group, changed, members: { replaceAll: this.replaceAll, add: [...this.adding], remove: [...this.removing] } };
  }
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

/**
 * The ids a member filter selects, from the filter alone: `value eq "id"`, or several joined by
 * `or`. Anything else would need the whole member list, so it is refused with a message saying
 * what works.
 */
function selectedMembers(filter: Filter, pathText: string): string[] {
  if (filter.op === "eq" && filter.attribute.subAttribute === "value" && typeof filter.value === "string") return [filter.value];
  if (filter.op === "or") return filter.filters.flatMap((inner) => selectedMembers(inner, pathText));
  throw ScimError.invalidFilter(
    `"${pathText}": members are selected by value, as in members[value eq "2819c223-7f76-453a-919d-413861904646"], optionally several joined by "or".`,
  );
}
