// Field schemas shared by several routes, with messages people can act on.
import { z } from "zod";
import { MAPPABLE_ROLES, ROLES } from "../db/schema.ts";

/**
 * A display name from Microsoft, Google or Graph: longer than we expect is shortened with "…",
 * never a reason to refuse a whole reply (one odd group must not break the group search).
 */
export function displayText(max: number) {
  return z.string().transform((text) => (text.length > max ? `${text.slice(0, max - 1)}…` : text));
}

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
/**
 * A field a form may send once, several times or not at all (a form sends a repeated field as an
 * array, a single one as a string): always an array of at most `max` items.
 */
export const repeatedField = <T extends z.ZodType>(item: T, max: number, message: string) =>
  z.preprocess((value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]), z.array(item).max(max, { message }));

export const groupSearchField = z
  .string()
  .trim()
  .max(256, { message: "Group names are at most 256 characters." })
  .optional()
  .transform((q) => q ?? "");

/**
 * The tenant an admin names on the Connect step: one of its verified domains or its tenant id
 * (both are valid `{tenant}` values of Microsoft's authority). Empty means "my home tenant".
 */
export const tenantField = z
  .string()
  .trim()
  .toLowerCase()
  .max(253, { message: "A tenant is a verified domain (at most 253 characters) or a tenant id." })
  .regex(
    /^$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/,
    {
      message: "Enter a verified domain such as yourcompany.com or a tenant id, or leave the field empty.",
    },
  )
  .optional()
  .transform((tenant) => tenant || undefined);

/**
 * A whole number typed in a form: plain decimal digits only. `Number()` would also take "0x10",
 * "1e2", " " or "" (as 0), which nobody types on purpose; they get `message` instead.
 */
export function wholeNumberField(message: string, bounds: { min: number; max: number; range: string }) {
  return z
    .string({ message })
    .trim()
    .regex(/^\d{1,9}$/, { message })
    .transform(Number)
    .pipe(z.number().min(bounds.min, { message: bounds.range }).max(bounds.max, { message: bounds.range }));
}
