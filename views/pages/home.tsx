import type { Viewer } from "../../src/context.ts";
import { isOwnerOrAdmin } from "../../src/auth/access.ts";
import { RoleBadge } from "../parts/badges.tsx";
import { PATHS } from "../../src/paths.ts";
import { DirectoryGlance, type DirectoryGlanceProps } from "../parts/directoryGlance.tsx";

/** `directory`: the Entra card, for the Owners and Admins of an organization whose plan has directory sync. */
export function HomePage(props: { viewer: Viewer; directory?: DirectoryGlanceProps }) {
  const { viewer } = props;
  return (
    <section>
      <h1>Welcome, {viewer.displayName}</h1>
      <p>
        You are signed in to <strong>{viewer.organizationName}</strong> as <RoleBadge role={viewer.role} />.
      </p>
      <ul class="tiles">
        {viewer.role !== "viewer" && (
          <li>
            <a href={PATHS.users}>Users</a>
            <span>
              See who has access to {viewer.organizationName}
              {isOwnerOrAdmin(viewer.role) ? ", invite people and manage roles" : ""}.
            </span>
          </li>
        )}
        {isOwnerOrAdmin(viewer.role) && (
          <li>
            <a href={PATHS.integrations}>Settings → Integrations</a>
            <span>Connect Microsoft Entra ID so your directory decides who may use UniAsset.</span>
          </li>
        )}
        {isOwnerOrAdmin(viewer.role) && (
          <li>
            <a href={PATHS.audit}>Audit log</a>
            <span>Every sign-in change, role change and directory sync, with who did it and when.</span>
          </li>
        )}
      </ul>
      {props.directory && <DirectoryGlance {...props.directory} />}
    </section>
  );
}
