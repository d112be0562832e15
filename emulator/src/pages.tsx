// The HTML a browser sees: Microsoft's account picker and consent page, Google's account
// chooser, sign-in error pages and the emulator's index. Every form posts back to the same
// path and carries the original authorization request as hidden inputs.
import type { Child, FC } from "hono/jsx";

export const Layout: FC<{ title: string; children?: Child }> = ({ title, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{title}</title>
      <style>{`body{font-family:system-ui,sans-serif;background:#f2f2f2;margin:0}
main{max-width:440px;margin:48px auto;background:#fff;padding:32px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
button{display:block;width:100%;margin:8px 0;padding:10px;text-align:left;font-size:15px;cursor:pointer}
.muted{color:#555;font-size:13px}.error{color:#a80000}`}</style>
    </head>
    <body>
      <main>{children}</main>
    </body>
  </html>
);

const HiddenParams: FC<{ params: Record<string, string> }> = ({ params }) => (
  <>
    {Object.entries(params).map(([name, value]) => (
      <input type="hidden" name={name} value={value} />
    ))}
  </>
);

export interface AccountChoice {
  value: string;
  name: string;
  email: string;
  note?: string;
}

/** One button per account (its text carries the email), plus Cancel; the OAuth parameters ride along. */
const AccountPicker: FC<{ action: string; params: Record<string, string>; accounts: AccountChoice[] }> = (props) => (
  <form method="post" action={props.action}>
    <HiddenParams params={props.params} />
    {props.accounts.map((a) => (
      <button type="submit" name="account" value={a.value}>
        {a.name} — {a.email}
        {a.note ? ` (${a.note})` : ""}
      </button>
    ))}
    <button type="submit" name="cancel" value="1">
      Cancel
    </button>
  </form>
);

export const MicrosoftSignInPage: FC<{ action: string; params: Record<string, string>; accounts: AccountChoice[] }> = (props) => (
  <Layout title="Sign in to your account">
    <p class="muted">Microsoft (emulated)</p>
    <h1>Pick an account</h1>
    <AccountPicker {...props} />
  </Layout>
);

export const PERMISSION_DESCRIPTIONS: Record<string, string> = {
  "User.Read.All": "Read all users' full profiles",
  "Group.Read.All": "Read all groups",
  "GroupMember.Read.All": "Read all group memberships",
  "Directory.Read.All": "Read directory data",
  "User.Read": "Sign in and read user profile",
  offline_access: "Maintain access to data you have given it access to",
  openid: "Sign you in and read your profile",
  profile: "Sign you in and read your profile",
  email: "View your email address",
};

export const ConsentPage: FC<{
  action: string;
  params: Record<string, string>;
  permissions: string[];
  userName: string;
  appName: string;
}> = (props) => (
  <Layout title="Permissions requested">
    <p class="muted">{props.userName}</p>
    <h1>Permissions requested</h1>
    <p>{props.appName} needs permission to:</p>
    <ul>
      {[...new Set(props.permissions.map((p) => PERMISSION_DESCRIPTIONS[p] ?? p))].map((text) => (
        <li>{text}</li>
      ))}
    </ul>
    <p>
      <strong>Consent on behalf of your organization.</strong> If you accept, this app will get access to the specified resources for all
      users in your organization. No one else will be prompted to review these permissions.
    </p>
    <form method="post" action={props.action}>
      <HiddenParams params={props.params} />
      <button type="submit" name="consent" value="accept">
        Accept
      </button>
      <button type="submit" name="consent" value="cancel">
        Cancel
      </button>
    </form>
  </Layout>
);

/**
 * Microsoft's "Need admin approval" page (AADSTS90094), or with the admin consent workflow on,
 * "Approval required" with a justification box and "Request approval"; "sent" confirms the request.
 * Its choices post back: approval=switch (sign in with an admin account), approval=return (back to
 * the app without consent), approval=request.
 */
export const NeedAdminApprovalPage: FC<{
  action: string;
  params: Record<string, string>;
  userName: string;
  appName: string;
  variant: "need" | "request" | "sent";
}> = (props) => (
  <Layout title={props.variant === "need" ? "Need admin approval" : "Approval required"}>
    <p class="muted">{props.userName}</p>
    {props.variant === "need" ? (
      <>
        <h1>Need admin approval</h1>
        <p>
          {props.appName} needs permission to access resources in your organization that only an admin can grant. Please ask an admin to
          grant permission to this app before you can use it.
        </p>
      </>
    ) : props.variant === "request" ? (
      <>
        <h1>Approval required</h1>
        <p>
          {props.appName} needs permission to access resources in your organization that only an admin can grant. Please enter a
          justification for requesting this app.
        </p>
      </>
    ) : (
      <>
        <h1>Approval required</h1>
        <p>Request sent. You'll be notified when an admin reviews your request to use {props.appName}.</p>
      </>
    )}
    <form method="post" action={props.action}>
      <HiddenParams params={props.params} />
      {props.variant === "request" ? (
        <>
          <textarea name="justification" aria-label="Justification"></textarea>
          <button type="submit" name="approval" value="request">
            Request approval
          </button>
        </>
      ) : null}
      {props.variant !== "sent" ? (
        <button type="submit" name="approval" value="switch">
          Have an admin account? Sign in with that account
        </button>
      ) : null}
      <button type="submit" name="approval" value="return">
        Return to the application without granting consent
      </button>
    </form>
  </Layout>
);

export const SignInErrorPage: FC<{ message: string }> = ({ message }) => (
  <Layout title="Sign in to your account">
    <h1>Sorry, but we're having trouble signing you in.</h1>
    <p class="error">{message}</p>
  </Layout>
);

export const GoogleChooserPage: FC<{ action: string; params: Record<string, string>; accounts: AccountChoice[] }> = (props) => (
  <Layout title="Sign in - Google Accounts">
    <p class="muted">Google (emulated)</p>
    <h1>Choose an account</h1>
    <AccountPicker {...props} />
  </Layout>
);

export const IndexPage: FC<{ entra: AccountChoice[]; google: AccountChoice[]; appOrigin: string }> = (props) => (
  <Layout title="Entra ID emulator">
    <h1>Entra ID and Google emulator</h1>
    <p>
      A stand-in for the Microsoft identity platform, Microsoft Graph v1.0 and Google sign-in, so the app at{" "}
      <a href={props.appOrigin}>{props.appOrigin}</a> runs without real tenants. Nothing here reaches Microsoft or Google. The admin API
      under <code>/_emulator/</code> changes the directory and injects faults (see emulator/README.md).
    </p>
    <h2>Entra accounts</h2>
    <ul>
      {props.entra.map((a) => (
        <li>
          {a.name} — {a.email}
          {a.note ? ` (${a.note})` : ""}
        </li>
      ))}
    </ul>
    <h2>Google accounts</h2>
    <ul>
      {props.google.map((a) => (
        <li>
          {a.name} — {a.email}
        </li>
      ))}
    </ul>
  </Layout>
);
