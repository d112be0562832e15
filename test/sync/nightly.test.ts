// The nightly Cron Trigger through the real scheduled() handler and Workflow, against the emulator.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { entraUser } from "../../demo/directory.ts";
import { CONTOSO, DEMO_USER_IDS, connectContoso, membership, nightlyRun, resetWorld } from "./support.ts";

beforeEach(resetWorld);

describe("nightly sync", () => {
  it("deactivates Diego, whose Entra account is disabled, and ends his sessions", async () => {
    await connectContoso();
    const run = await nightlyRun();
    expect(run.status).toBe("succeeded");
    expect(run.trigger).toBe("schedule");
    expect(run.mode).toBe("full");
    expect(run.deactivated).toBe(1);
    expect(await membership(DEMO_USER_IDS.diego)).toMatchObject({ status: "deactivated", deactivated_reason: "directory_sync", deactivated_by_run: run.id });
    expect((await membership(DEMO_USER_IDS.adele))?.status).toBe("active");
    void env; void entraUser; void CONTOSO;
  });
});
