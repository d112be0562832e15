// A tiny browser for workerd tests: keeps cookies, sends same-origin POSTs like a real browser
// (Origin header, CSRF token from the page), and follows the OAuth dance through the emulator.
import { SELF, env } from "cloudflare:test";

export const APP = "http://localhost:8787";

export class TestBrowser {
  readonly cookies = new Map<string, string>();
  /** Each browser is its own client address (CF-Connecting-IP), as the sign-in rate limit sees it. */
  readonly ip = `10.${[0, 0, 0].map(() => Math.floor(Math.random() * 250) + 1).join(".")}`;
  /** Last CSRF token seen in a page (hx-headers / hidden field). */
  csrfToken: string | null = null;

  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  private remember(response: Response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const [name, ...rest] = pair!.split("=");
      const value = rest.join("=");
      const expired = attributes.some((a) => /max-age=0/i.test(a.trim())) || value === "";
      if (expired) this.cookies.delete(name!.trim());
      else this.cookies.set(name!.trim(), value);
    }
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    const response = await SELF.fetch(new URL(path, APP), {
      headers: { cookie: this.cookieHeader(), "cf-connecting-ip": this.ip, ...headers },
      redirect: "manual",
    });
    this.remember(response);
    return response;
  }

  /** GET a page and keep its CSRF token; returns the HTML. */
  async page(path: string): Promise<{ status: number; html: string; response: Response }> {
    const response = await this.get(path);
    const html = await response.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
    if (token) this.csrfToken = token;
    return { status: response.status, html, response };
  }

  async post(
    path: string,
    fields: Record<string, string> = {},
    options: { csrf?: string | null; origin?: string | null; htmx?: boolean; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const body = new URLSearchParams(fields);
    const csrf = options.csrf === undefined ? this.csrfToken : options.csrf;
    if (csrf) body.set("_csrf", csrf);
    const headers: Record<string, string> = {
      cookie: this.cookieHeader(),
      "cf-connecting-ip": this.ip,
      "content-type": "application/x-www-form-urlencoded",
    };
    const origin = options.origin === undefined ? APP : options.origin;
    if (origin) headers.origin = origin;
    if (options.htmx) headers["hx-request"] = "true";
    Object.assign(headers, options.headers);
    const response = await SELF.fetch(new URL(path, APP), { method: "POST", headers, body, redirect: "manual" });
    this.remember(response);
    return response;
  }

  /**
   * Starts sign-in (or any OAuth round trip that redirects to the emulator), picks `account` on the
   * emulator's page (or presses Cancel), and returns the emulator's redirect back to the app
   * without following it, so tests can tamper with it.
   */
  async authorizeAtEmulator(start: Response, choice: { account?: string; cancel?: boolean; consent?: "accept" | "cancel" }) {
    const location = start.headers.get("location");
    if (!location) throw new Error(`expected a redirect to the provider, got ${start.status}`);
    const authorize = new URL(location);
    const form = new URLSearchParams(authorize.searchParams);
    if (choice.cancel) form.set("cancel", "1");
    if (choice.account) form.set("account", choice.account);
    let response = await env.EMULATOR.fetch(`${authorize.origin}${authorize.pathname}`, {
      method: "POST",
      body: form,
      redirect: "manual",
    });
    if (response.status === 200 && choice.consent) {
      form.set("consent", choice.consent);
      response = await env.EMULATOR.fetch(`${authorize.origin}${authorize.pathname}`, {
        method: "POST",
        body: form,
        redirect: "manual",
      });
    }
    return response;
  }

  /** Follows the provider's redirect back to the app's callback. */
  async returnFromProvider(providerResponse: Response): Promise<Response> {
    const location = providerResponse.headers.get("location");
    if (!location) throw new Error(`expected a redirect back to the app, got ${providerResponse.status}: ${await providerResponse.text()}`);
    return this.get(location);
  }

  async signInWithMicrosoft(oid: string): Promise<Response> {
    const start = await this.get("/auth/microsoft");
    return this.returnFromProvider(await this.authorizeAtEmulator(start, { account: oid }));
  }

  async signInWithGoogle(sub: string): Promise<Response> {
    const start = await this.get("/auth/google");
    return this.returnFromProvider(await this.authorizeAtEmulator(start, { account: sub }));
  }
}

/** Counts rows, for "nothing was written" assertions. */
export async function countRows(
  table:
    | "users"
    | "identities"
    | "memberships"
    | "sessions"
    | "audit_events"
    | "invitations"
    | "entra_connections"
    | "directory_imports"
    | "directory_import_people",
): Promise<number> {
  const row = await env.DB.prepare(`select count(*) as n from ${table}`).first<{ n: number }>();
  return row?.n ?? 0;
}
