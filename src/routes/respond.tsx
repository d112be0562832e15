// The one way a handler answers htmx and plain requests alike: htmx swaps a fragment into the
// page, while a plain link or form post (no JavaScript, or opened in a new tab) gets a whole page
// or a redirect back to one.
import type { Context } from "hono";
import type { HtmlEscapedString } from "hono/utils/html";
import type { AppContext } from "../context.ts";
import type { NavSection } from "../../views/layout.tsx";

/** What a hono/jsx expression renders to. */
type View = HtmlEscapedString | Promise<HtmlEscapedString>;

export function isHtmx(c: Context<AppContext>): boolean {
  return c.req.header("HX-Request") === "true";
}

/** htmx gets `view` alone; a plain request gets the page around it. */
export function fragmentOrPage(c: Context<AppContext>, view: View, page: { title: string; nav?: NavSection }) {
  return isHtmx(c) ? c.html(view) : c.render(view, page);
}

/** After an action: htmx gets the refreshed fragment; a plain form post is sent back to `page`. */
export async function fragmentOrRedirect(c: Context<AppContext>, fragment: () => View, page: string) {
  return isHtmx(c) ? c.html(await fragment()) : c.redirect(page, 303);
}
