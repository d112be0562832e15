// Sessions: a 256-bit random token in a __Host- cookie, stored only as its SHA-256. Idle and
// absolute expiry; a new token at every sign-in (rotation); ended at sign-out and deactivation.
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AppContext } from "../context.ts";
import type { Db } from "../db/client.ts";
import { deleteSession, findSessionContext, insertSession, listSwitchableOrganizations, touchSession } from "../db/sessions.ts";
import { randomToken, sha256Base64url } from "../lib/crypto.ts";

const SESSION_COOKIE = "__Host-uniasset_session";
export const SESSION_IDLE_TIMEOUT_MS = 8 * 60 * 60 * 1000;
const SESSION_ABSOLUTE_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;
/** last_seen_at is written at most this often, so reading a page is not a D1 write. */
const TOUCH_INTERVAL_MS = 5 * 60 * 1000;

function csrfTokenFor(sessionToken: string): Promise<string> {
  return sha256Base64url(`csrf:${sessionToken}`);
}

/** Creates a session and returns the statement to run (batched with the sign-in writes) and the cookie token. */
export async function prepareSession(db: Db, userId: string, organizationId: string, now: number) {
  const token = randomToken();
  const tokenHash = await sha256Base64url(token);
  const statement = insertSession(db, {
    tokenHash,
    userId,
    organizationId,
    now,
    expiresAt: now + SESSION_ABSOLUTE_LIFETIME_MS,
  });
  return { token, tokenHash, statement };
}

export function setSessionCookie(c: Context, token: string) {
  setCookie(c, SESSION_COOKIE, token, {
    path: "/",
    secure: true,
    httpOnly: true,
    sameSite: "Lax",
    maxAge: SESSION_ABSOLUTE_LIFETIME_MS / 1000,
  });
}

export function clearSessionCookie(c: Context) {
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: true });
}

export async function currentSessionHash(c: Context): Promise<string | null> {
  const token = getCookie(c, SESSION_COOKIE);
  return token ? sha256Base64url(token) : null;
}

/** Loads the viewer from the session cookie; expired or deactivated sessions are ended here. */
/** `skip`: requests whose route never reads a session (src/app.tsx says which); their viewer is null. */
export function sessionLoader(options: { skip?: (c: Context<AppContext>) => boolean } = {}): MiddlewareHandler<AppContext> {
  return async function loadSession(c, next) {
    c.set("viewer", null);
    const token = getCookie(c, SESSION_COOKIE);
    if (token && token.length <= 128 && !options.skip?.(c)) {
      const db = c.get("db");
      const tokenHash = await sha256Base64url(token);
      const [[row], organizations] = await db.batch([findSessionContext(db, tokenHash), listSwitchableOrganizations(db, tokenHash)]);
      const now = Date.now();
      if (row) {
        const expired = row.expiresAt <= now || row.lastSeenAt + SESSION_IDLE_TIMEOUT_MS <= now;
        if (expired || row.status !== "active") {
          await deleteSession(db, tokenHash);
          clearSessionCookie(c);
        } else {
          if (now - row.lastSeenAt > TOUCH_INTERVAL_MS) {
            c.executionCtx.waitUntil(touchSession(db, tokenHash, now).run());
          }
          c.set("viewer", {
            userId: row.userId,
            displayName: row.displayName,
            email: row.email,
            organizationId: row.organizationId,
            organizationName: row.organizationName,
            plan: row.plan,
            role: row.role,
            organizations,
            sessionHash: tokenHash,
            csrfToken: await csrfTokenFor(token),
          });
        }
      } else {
        clearSessionCookie(c);
      }
    }
    await next();
  };
}
