// Add endpoint submitted twice (a reload of the page showing the secret, a double click, a retried
// request): one endpoint, and the secret is never shown a second time.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { resetDemoWorld } from "../support/world.ts";
import { signedIn } from "../support/people.ts";
import { WEBHOOKS, addEndpointFormToken, endpointFields, postForm, receiverUrl, submitAddEndpoint } from "./support.ts";

beforeEach(resetDemoWorld);

const endpointCount = async () => (await env.DB.prepare("select count(*) as n from webhook_endpoints").first<{ n: number }>())!.n;

describe("submitting the same Add endpoint form again (reload, double click)", () => {
  it("adds one endpoint; the second answer (409) names it and never shows the secret again", async () => {
    const adele = await signedIn("adele");
    const formToken = await addEndpointFormToken(adele);
    const fields = endpointFields(receiverUrl("reload"), ["member.deactivated", "sync.run.held"]);
    const first = await submitAddEndpoint(adele, fields, { formToken });
    expect(first.status).toBe(200);
    const secret = /id="signing-secret"[^>]*value="(whsec_[^"]+)"/.exec(await first.text())?.[1];
    expect(secret).toMatch(/^whsec_/);

    const again = await submitAddEndpoint(adele, fields, { formToken });
    const html = await again.text();
    expect(again.status).toBe(409);
    expect(html).toContain("Endpoint already added");
    expect(html).toContain(receiverUrl("reload"));
    const [{ id }] = (await env.DB.prepare("select id from webhook_endpoints").all<{ id: string }>()).results as [{ id: string }];
    expect(html).toContain(`href="${WEBHOOKS}/${id}"`);
    expect(html).not.toContain(secret!.slice(6));
    expect(html).not.toContain('id="signing-secret"');
    expect(await endpointCount()).toBe(1);
    const audits = await env.DB.prepare("select count(*) as n from audit_events where action = 'webhook.endpoint_added'").first<{
      n: number;
    }>();
    expect(audits!.n).toBe(1);
  });

  it("sent twice at the same moment (a double click): one endpoint, one secret", async () => {
    const adele = await signedIn("adele");
    const formToken = await addEndpointFormToken(adele);
    const fields = endpointFields(receiverUrl("double"), ["member.deactivated"]);
    const answers = await Promise.all([submitAddEndpoint(adele, fields, { formToken }), submitAddEndpoint(adele, fields, { formToken })]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const pages = await Promise.all(answers.map((a) => a.text()));
    expect(pages.filter((html) => html.includes('id="signing-secret"'))).toHaveLength(1);
    expect(await endpointCount()).toBe(1);
  });

  it("the same form with another address (Back, then a new URL) adds a second endpoint", async () => {
    const adele = await signedIn("adele");
    const formToken = await addEndpointFormToken(adele);
    expect((await submitAddEndpoint(adele, endpointFields(receiverUrl("first"), ["member.deactivated"]), { formToken })).status).toBe(200);
    expect((await submitAddEndpoint(adele, endpointFields(receiverUrl("second"), ["member.deactivated"]), { formToken })).status).toBe(200);
    expect(await endpointCount()).toBe(2);
  });

  it("refuses a form without its token, or with a malformed one (400), adding nothing", async () => {
    const adele = await signedIn("adele");
    await adele.page(WEBHOOKS);
    const fields = endpointFields(receiverUrl("tokenless"), ["member.deactivated"]);
    for (const response of [
      await postForm(adele, WEBHOOKS, fields),
      await submitAddEndpoint(adele, fields, { formToken: "" }),
      await submitAddEndpoint(adele, fields, { formToken: "<script>" }),
      await submitAddEndpoint(adele, fields, { formToken: "a".repeat(500) }),
    ]) {
      expect(response.status).toBe(400);
      expect(await response.text()).toContain("Reload the page and try again.");
    }
    expect(await endpointCount()).toBe(0);
  });
});
