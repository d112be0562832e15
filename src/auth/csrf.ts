// CSRF protection for every state-changing request, forms and htmx alike. Two independent checks:
// the browser's Origin (or Sec-Fetch-Site) must be our own, and a signed-in request must carry
// the session's CSRF token (form field `_csrf` or header `X-CSRF-Token`, which htmx sends).
import type { MiddlewareHandler } from "hono";
import type { AppContext } from "../context.ts";
import { AppError } from "../lib/errors.ts";
import { timingSafeEqual } from "../lib/crypto.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
export const CSRF_FIELD = "_csrf";
const CSRF_HEADER = "X-CSRF-Token";

export function csrfProtection(): MiddlewareHandler<AppContext> {
  return async function checkCsrf(c, next) {
    if (SAFE_METHODS.has(c.req.method)) return next();
    const expired = () => new AppError("csrf_failed", "Reload the page and try again.");

    const origin = c.req.header("Origin");
    if (origin !== undefined ? origin !== c.get("config").APP_ORIGIN : c.req.header("Sec-Fetch-Site") === "cross-site") {
      throw expired();
    }
    const viewer = c.get("viewer");
    if (viewer) {
      let presented = c.req.header(CSRF_HEADER);
      if (presented === undefined && isForm(c.req.header("Content-Type"))) {
        const field = (await c.req.parseBody())[CSRF_FIELD];
        presented = typeof field === "string" ? field : undefined;
      }
      if (!presented || !timingSafeEqual(presented, viewer.csrfToken)) throw expired();
    }
    return next();
  };
}

function isForm(contentType: string | undefined): boolean {
  return !!contentType && /^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(contentType);
}
