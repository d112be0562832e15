// Graph reads made while an admin waits (mapping editor, bulk import): few retries, short waits,
// and every failure turned into an AppError the page can show, so a Graph outage is a clear
// message and never a half-applied change.
import type { Db } from "../db/client.ts";
import type { Config } from "../lib/config.ts";
import { AppError } from "../lib/errors.ts";
import { readGroup, searchGroups } from "./directory.ts";
import { GRAPH_BUDGETS, GraphError, type GraphClient } from "./graph.ts";
import { withOrganizationGraph } from "./graphAccess.ts";
import type { DirectoryGroup } from "../people/groupRoles.ts";
import { ConnectionTokenError } from "./tokens.ts";

/** An admin waits for the answer: retry once, never sit out a long Retry-After. */
const INTERACTIVE = GRAPH_BUDGETS.interactive;

const GRAPH_DOWN_MESSAGE = "Microsoft Graph could not be reached, so nothing was changed. Try again in a moment.";

export async function withInteractiveGraph<T>(
  db: Db,
  config: Config,
  organizationId: string,
  work: (graph: GraphClient, tenantId: string) => Promise<T>,
  counter?: { requests: number },
): Promise<T> {
  try {
    return await withOrganizationGraph(db, config, organizationId, work, { ...INTERACTIVE, counter });
  } catch (error) {
    throw interactiveGraphError(error);
  }
}

function interactiveGraphError(error: unknown): unknown {
  if (error instanceof AppError) return error;
  if (error instanceof ConnectionTokenError) {
    if (error.kind === "not_connected") return new AppError("conflict", "Connect Entra ID first.", { cause: error });
    if (error.kind === "needs_reconnect" || error.kind === "unreadable") {
      return new AppError("conflict", "The connection to Microsoft Entra ID needs to be renewed: connect Entra ID again.", {
        cause: error,
      });
    }
    return new AppError("provider_unavailable", GRAPH_DOWN_MESSAGE, { cause: error });
  }
  if (error instanceof GraphError) {
    if (error.kind === "forbidden") {
      return new AppError(
        "conflict",
        "Microsoft Graph refused to read the directory: admin consent may have been withdrawn. Connect Entra ID again.",
        { cause: error },
      );
    }
    return new AppError("provider_unavailable", GRAPH_DOWN_MESSAGE, { cause: error });
  }
  return error;
}

/** Groups whose name starts with `text`, as the directory reports them. */
export function searchDirectoryGroups(db: Db, config: Config, organizationId: string, text: string): Promise<DirectoryGroup[]> {
  return withInteractiveGraph(db, config, organizationId, (graph) => searchGroups(graph, text));
}

/** A group read from the directory by id: a posted name is never trusted. Unknown → invalid input. */
export async function findDirectoryGroup(graph: GraphClient, groupId: string): Promise<{ id: string; name: string }> {
  try {
    const group = await readGroup(graph, groupId);
    return { id: group.id, name: group.displayName ?? group.id };
  } catch (error) {
    if (error instanceof GraphError && error.kind === "not_found") {
      throw new AppError("invalid_input", "That group is not in your organization's directory.", { cause: error });
    }
    throw error;
  }
}
