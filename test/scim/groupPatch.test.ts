// PATCH of a Group: the plan is a membership change computed without the member list, so a
// request adding 10,000 members is 10,000 ids to write in batches, and a removal by filter needs
// no read. RFC 7644 §3.5.2's group examples, replayed.
import { describe, expect, it } from "vitest";
import { ScimError } from "../../src/scim/errors.ts";
import { applyMembershipChange, planGroupPatch } from "../../src/scim/groupPatch.ts";
import type { ScimGroup } from "../../src/scim/resources.ts";

const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
const tourGuides: ScimGroup = { displayName: "Tour Guides", externalId: "g-1" };
const BABS = "2819c223-7f76-453a-919d-413861904646";
const MANDY = "902c246b-6245-4190-8e05-00816be7344a";

function refusal(action: () => unknown): ScimError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ScimError);
    return error as ScimError;
  }
  throw new Error("expected a ScimError");
}

describe("members", () => {
  it("adds members, as RFC 7644 §3.5.2.1's example", () => {
    const plan = planGroupPatch(
      tourGuides,
      patch({
        op: "add",
        path: "members",
        value: [{ display: "Babs Jensen", $ref: `https://example.com/v2/Users/${BABS}`, value: BABS }],
      }),
    );
    expect(plan.members).toEqual({ replaceAll: false, add: [BABS], remove: [] });
    expect(plan.changed).toEqual([]);
    expect(applyMembershipChange([MANDY], plan.members)).toEqual([MANDY, BABS]);
  });

  it("removes one member by filter, as RFC 7644 §3.5.2.2's example", () => {
    const plan = planGroupPatch(tourGuides, patch({ op: "remove", path: `members[value eq "${BABS}"]` }));
    expect(plan.members).toEqual({ replaceAll: false, add: [], remove: [BABS] });
    expect(applyMembershipChange([BABS, MANDY], plan.members)).toEqual([MANDY]);
  });

  it("removes several members joined by or", () => {
    const plan = planGroupPatch(tourGuides, patch({ op: "remove", path: `members[value eq "${BABS}" or value eq "${MANDY}"]` }));
    expect(plan.members.remove).toEqual([BABS, MANDY]);
  });

  it("removes every member, as RFC 7644's remove without a filter", () => {
    const plan = planGroupPatch(tourGuides, patch({ op: "remove", path: "members" }));
    expect(plan.members).toEqual({ replaceAll: true, add: [], remove: [] });
    expect(applyMembershipChange([BABS, MANDY], plan.members)).toEqual([]);
  });

  it("replaces all members, as RFC 7644 §3.5.2.3's remove-then-add and replace examples", () => {
    const removeThenAdd = planGroupPatch(
      tourGuides,
      patch(
        { op: "remove", path: "members" },
        {
          op: "add",
          path: "members",
          value: [
            { display: "Babs Jensen", value: BABS },
            { display: "Mandy Pepperidge", value: MANDY },
          ],
        },
      ),
    );
    const replace = planGroupPatch(tourGuides, patch({ op: "replace", path: "members", value: [{ value: BABS }, { value: MANDY }] }));
    expect(removeThenAdd.members).toEqual({ replaceAll: true, add: [BABS, MANDY], remove: [] });
    expect(replace.members).toEqual(removeThenAdd.members);
    expect(applyMembershipChange(["someone-else"], replace.members)).toEqual([BABS, MANDY]);
  });

  it("nets out operations on the same member within one request", () => {
    const plan = planGroupPatch(
      tourGuides,
      patch(
        { op: "add", path: "members", value: [{ value: BABS }, { value: MANDY }] },
        { op: "remove", path: `members[value eq "${BABS}"]` },
        { op: "add", path: "members", value: [{ value: MANDY }] },
      ),
    );
    expect(plan.members).toEqual({ replaceAll: false, add: [MANDY], remove: [BABS] });
  });

  it("plans 10,000 additions in one operation without reading any member", () => {
    const ids = Array.from({ length: 10_000 }, (_, index) => `user-${index}`);
    const plan = planGroupPatch(tourGuides, patch({ op: "add", path: "members", value: ids.map((value) => ({ value })) }));
    expect(plan.members.add).toHaveLength(10_000);
    expect(plan.members.add[9_999]).toBe("user-9999");
  });

  it("adds members through a path-less value too", () => {
    expect(planGroupPatch(tourGuides, patch({ op: "add", value: { members: [{ value: BABS }] } })).members.add).toEqual([BABS]);
    expect(planGroupPatch(tourGuides, patch({ op: "replace", value: { members: [{ value: BABS }] } })).members.replaceAll).toBe(true);
  });

  it("refuses member filters it cannot decide from the filter alone, and changes to a member's sub-attributes", () => {
    const filtered = refusal(() => planGroupPatch(tourGuides, patch({ op: "remove", path: 'members[display eq "Babs Jensen"]' })));
    expect(filtered.scimType).toBe("invalidFilter");
    expect(filtered.detail).toContain("members[value eq");
    expect(
      refusal(() => planGroupPatch(tourGuides, patch({ op: "replace", path: `members[value eq "${BABS}"].value`, value: MANDY }))).scimType,
    ).toBe("mutability");
    expect(
      refusal(() => planGroupPatch(tourGuides, patch({ op: "add", path: `members[value eq "${BABS}"]`, value: { value: BABS } }))).scimType,
    ).toBe("invalidPath");
  });

  it("refuses members that are not Users, or that name no one", () => {
    expect(
      refusal(() => planGroupPatch(tourGuides, patch({ op: "add", path: "members", value: [{ value: "g-2", type: "Group" }] }))).detail,
    ).toContain("hold Users");
    expect(refusal(() => planGroupPatch(tourGuides, patch({ op: "add", path: "members", value: [{ display: "Nobody" }] }))).scimType).toBe(
      "invalidValue",
    );
    expect(refusal(() => planGroupPatch(tourGuides, patch({ op: "add", path: "members", value: [true] }))).scimType).toBe("invalidValue");
    // A bare id is read as the member it names.
    expect(planGroupPatch(tourGuides, patch({ op: "add", path: "members", value: BABS })).members.add).toEqual([BABS]);
  });
});

describe("the group's own attributes", () => {
  it("renames with and without a path", () => {
    const withPath = planGroupPatch(tourGuides, patch({ op: "replace", path: "displayName", value: "Guides" }));
    expect(withPath.group).toEqual({ displayName: "Guides", externalId: "g-1" });
    expect(withPath.changed).toEqual(["displayName"]);
    const withoutPath = planGroupPatch(tourGuides, patch({ op: "replace", value: { id: "abf4dd94", displayName: "Guides" } }));
    expect(withoutPath.group.displayName).toBe("Guides");
  });

  it("removes externalId, refuses removing displayName and changing id", () => {
    expect(planGroupPatch(tourGuides, patch({ op: "remove", path: "externalId" })).group).toEqual({ displayName: "Tour Guides" });
    expect(refusal(() => planGroupPatch(tourGuides, patch({ op: "remove", path: "displayName" }))).scimType).toBe("invalidValue");
    expect(refusal(() => planGroupPatch(tourGuides, patch({ op: "replace", path: "id", value: "x" }))).scimType).toBe("mutability");
    expect(refusal(() => planGroupPatch(tourGuides, patch({ op: "replace", path: "userName", value: "x" }))).scimType).toBe("invalidPath");
  });
});
