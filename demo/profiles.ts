// The work profile of each demo Entra user: the attributes an IT asset manager assigns laptops
// and reports by. Kept beside demo/directory.ts (not in it) so the directory's people and their
// profiles can change independently. Property names are Graph's `user` resource's:
// https://learn.microsoft.com/en-us/graph/api/resources/user (department, jobTitle,
// officeLocation, employeeId, employeeOrgData.costCenter/division, and the `manager` relationship).
import { entraUser } from "./directory.ts";

export interface DemoProfile {
  department: string | null;
  jobTitle: string | null;
  officeLocation: string | null;
  employeeId: string | null;
  /** Object id of the user's manager (Graph's `manager` relationship), in the same tenant. */
  managerId: string | null;
  employeeOrgData: { costCenter: string | null; division: string | null } | null;
}

const adele = entraUser("adele").oid;

/** By object id; a user without an entry has Graph's empty values (all null). */
export const DEMO_PROFILES: Record<string, DemoProfile> = {
  [adele]: {
    department: "Executive",
    jobTitle: "Chief Executive Officer",
    officeLocation: "London",
    employeeId: "E1001",
    managerId: null,
    employeeOrgData: { costCenter: "CC-100", division: "Corporate" },
  },
  [entraUser("megan").oid]: {
    department: "Marketing",
    jobTitle: "Marketing Manager",
    officeLocation: "London",
    employeeId: "E1002",
    managerId: adele,
    employeeOrgData: { costCenter: "CC-310", division: "Commercial" },
  },
  [entraUser("alex").oid]: {
    department: "IT",
    jobTitle: "Systems Administrator",
    officeLocation: "Manchester",
    employeeId: "E1003",
    managerId: adele,
    employeeOrgData: { costCenter: "CC-220", division: "Operations" },
  },
  [entraUser("diego").oid]: {
    department: "Sales",
    jobTitle: "Account Executive",
    officeLocation: "Manchester",
    employeeId: "E1004",
    managerId: entraUser("megan").oid,
    employeeOrgData: { costCenter: "CC-320", division: "Commercial" },
  },
  [entraUser("lee").oid]: {
    department: "IT",
    jobTitle: "IT Director",
    officeLocation: "Seattle",
    employeeId: "F2001",
    managerId: null,
    employeeOrgData: { costCenter: "F-100", division: null },
  },
  [entraUser("casey").oid]: {
    department: "Consulting",
    jobTitle: "Identity Consultant",
    officeLocation: "Remote",
    employeeId: "F2002",
    managerId: entraUser("lee").oid,
    employeeOrgData: null,
  },
  [entraUser("nestor").oid]: {
    department: "Operations",
    jobTitle: "Operations Lead",
    officeLocation: "Chicago",
    employeeId: "N3001",
    managerId: entraUser("nancy").oid,
    employeeOrgData: { costCenter: "N-200", division: null },
  },
  [entraUser("nancy").oid]: {
    department: "IT",
    jobTitle: "Azure Administrator",
    officeLocation: "Chicago",
    employeeId: "N3002",
    managerId: null,
    employeeOrgData: { costCenter: "N-100", division: null },
  },
};

export const EMPTY_PROFILE: DemoProfile = {
  department: null,
  jobTitle: null,
  officeLocation: null,
  employeeId: null,
  managerId: null,
  employeeOrgData: null,
};
