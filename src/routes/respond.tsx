// The one way a handler answers htmx and plain requests alike: htmx swaps a fragment into the
// page, while a plain link or form post (no JavaScript, or opened in a new tab) gets a whole page
// or a redirect back to one.
import type { Context } from "hono";
import type { HtmlEscapedString } from "hono/utils/html";
import type { AppContext } from "../context.ts";
import type { NavSection } from "../../views/layout.tsx";

/** What a hono/jsx expression renders to. */
type View = HtmlEscapedString | Promise<HtmlEscapedString>;

/**
 * An htmx request that wants a fragment. Going back to a pushed URL (htmx keeps no history cache
 * here) is also an htmx request, but it needs the whole page.
 */
export function isHtmx(c: Context<AppContext>): boolean {
  return c.req.header("HX-Request") === "true" && c.req.header("HX-History-Restore-Request") !== "true";
}

/**
 * htmx gets `view` alone; a plain request gets the page around it, or around `whole` when the
 * page holds more than the fragment (a list inside its search form). One URL answers both ways,
 * so caches are told the answer varies with htmx's header.
 */
export async function fragmentOrPage(
  c: Context<AppContext>,
  view: View | (() => View),
  page: { title: string; nav?: NavSection; whole?: () => View },
) {
  c.header("Vary", "HX-Request, HX-History-Restore-Request");
  const fragment = () => (typeof view === "function" ? view() : view);
  if (isHtmx(c)) return c.html(await fragment());
  return c.render(await (page.whole ?? fragment)(), { title: page.title, nav: page.nav });
}

/** After an action: htmx gets the refreshed fragment; a plain form post is sent back to `page`. */
export async function fragmentOrRedirect(c: Context<AppContext>, fragment: () => View, page: string) {
  return isHtmx(c) ? c.html(await fragment()) : c.redirect(page, 303);
}
