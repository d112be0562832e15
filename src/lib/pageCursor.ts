// Keyset page cursors: the last row's sort key, as base64url JSON. A cursor says where a list
// continues, never which organization it belongs to (that is always the session's), so a forged
// one can only move within the viewer's own list: it is decoded and checked like any input, and
// one that does not decode to the expected key is a 400 with a plain message.
import { decodeBase64urlIgnorePadding, encodeBase64urlNoPadding } from "@oslojs/encoding";
import { z } from "zod";

const INVALID = "That page link is not valid. Start again from the first page.";
/** Longer than any real key (names and emails are at most a few hundred characters). */
const MAX_CURSOR_CHARS = 2048;

export function encodePageCursor(key: readonly (string | number)[]): string {
  return encodeBase64urlNoPadding(new TextEncoder().encode(JSON.stringify(key)));
}

function decode(raw: string): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(decodeBase64urlIgnorePadding(raw)));
  } catch {
    return undefined;
  }
}

/** A query parameter holding a cursor whose decoded key must match `key`; empty means the first page. */
export function pageCursorField<Key extends z.ZodType>(key: Key) {
  return z
    .string({ message: INVALID })
    .max(MAX_CURSOR_CHARS, { message: INVALID })
    .optional()
    .transform((raw, ctx): z.output<Key> | undefined => {
      if (!raw) return undefined;
      const parsed = key.safeParse(decode(raw));
      if (parsed.success) return parsed.data;
      ctx.addIssue({ code: "custom", message: INVALID });
      return z.NEVER;
    });
}

/** A sort key's text part (a name or an email, lower-cased). */
export const cursorText = z.string().max(1024);
/** A row id in a cursor: a user id or a sync run id. */
export const cursorId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9-]+$/);
