// Reads the tenant's display name and verified domains (GET /organization).
import { z } from "zod";
import type { Config } from "../lib/config.ts";
import { displayText } from "../lib/schemas.ts";
import type { VerifiedDomain } from "../db/syncScope.ts";
import { GRAPH_BUDGETS, GraphError, createGraphClient, type GraphClient } from "./graph.ts";

const organizationReply = z.object({
  value: z
    .array(
      z.object({
        id: z.string(),
        displayName: displayText(256),
        verifiedDomains: z.array(
          z.object({ name: z.string().max(255), isDefault: z.boolean().optional(), isInitial: z.boolean().optional() }),
        ),
      }),
    )
    .min(1),
});

interface TenantDetails {
  tenantName: string;
  verifiedDomains: string[];
  /** The same, with the initial *.onmicrosoft.com one marked: the sync scope's domain list (src/db/syncScope.ts). */
  domains: VerifiedDomain[];
  /** "The verified domain" shown on the page: the tenant's default domain. */
  defaultDomain: string;
}

/** The tenant's details, or null when Graph can't give them (the page then advises a refresh, then a reconnect). */
export async function fetchTenantDetails(config: Config, accessToken: string): Promise<TenantDetails | null> {
  return fetchTenantDetailsWith(createGraphClient(config, { accessToken, ...GRAPH_BUDGETS.signIn }));
}

/** The same, through a client the caller made (a sync run's, with its token cache and counter). */
export async function fetchTenantDetailsWith(graph: GraphClient): Promise<TenantDetails | null> {
  try {
    const reply = await graph.get("/v1.0/organization?$select=id,displayName,verifiedDomains", organizationReply);
    const organization = reply.value[0]!;
    const domains = organization.verifiedDomains.map((d) => d.name.toLowerCase());
    const defaultDomain = organization.verifiedDomains.find((d) => d.isDefault)?.name.toLowerCase() ?? domains[0];
    if (!defaultDomain) return null;
    const marked = organization.verifiedDomains.map((d) => ({ name: d.name.toLowerCase(), isInitial: d.isInitial === true }));
    return { tenantName: organization.displayName, verifiedDomains: domains, domains: marked, defaultDomain };
  } catch (error) {
    if (error instanceof GraphError) return null;
    throw error;
  }
}
