import type { Role } from "../../src/db/schema.ts";

const ROLE_LABELS: Record<Role, string> = {
  owner: "Owner",
  admin: "Admin",
  manager: "Manager",
  member: "Member",
  viewer: "Viewer",
};

export function roleLabel(role: Role): string {
  return ROLE_LABELS[role];
}

export function RoleBadge(props: { role: Role }) {
  return <span class={`badge role-${props.role}`}>{ROLE_LABELS[props.role]}</span>;
}

export function formatTime(epochMs: number | null | undefined): string {
  if (!epochMs) return "";
  return new Date(epochMs).toISOString().replace("T", " ").slice(0, 16) + " UTC";
}
