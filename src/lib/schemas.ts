// Field schemas shared by several routes, with messages people can act on.
import { z } from "zod";
import { MAPPABLE_ROLES, ROLES } from "../db/schema.ts";

export const uuidParam = z.uuid({ message: "That link is not valid." });

export const emailField = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, { message: "Email addresses are at most 254 characters." })
  .pipe(z.email({ message: "Enter a valid email address." }));

export const roleField = z.enum(ROLES, { message: "Choose one of the roles: owner, admin, manager, member or viewer." });

export const mappableRoleField = z.enum(MAPPABLE_ROLES, {
  message: "Choose one of the roles: admin, manager, member or viewer.",
});

/** An Entra object id (a GUID; Graph's ids need not carry an RFC 4122 version). */
export const groupIdField = z.guid({ message: "That is not a directory group id." }).transform((id) => id.toLowerCase());

/** The start of a group's name, as typed in a search box (Graph names are at most 256 characters). */
export const groupSearchField = z
  .string()
  .trim()
  .max(256, { message: "Group names are at most 256 characters." })
  .optional()
  .transform((q) => q ?? "");
