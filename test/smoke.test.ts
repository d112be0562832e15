import { env, SELF } from "cloudflare:test";
import { expect, it } from "vitest";

it("serves and reaches the emulator", async () => {
  expect(await (await SELF.fetch("http://localhost:8787/")).text()).toBe("ok");
  expect(await (await fetch("http://localhost:8788/ping")).text()).toBe("pong");
  expect(await (await env.EMULATOR.fetch("http://localhost:8788/ping")).text()).toBe("pong");
  const row = await env.DB.prepare("select count(*) as n from organizations").first<{ n: number }>();
  expect(row?.n).toBe(2);
});
