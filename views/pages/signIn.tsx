import { signInStartPath } from "../../src/paths.ts";

export function SignInPage() {
  return (
    <section class="card sign-in">
      <h1>Sign in to UniAsset</h1>
      <p>Use your work Microsoft account or your Google account.</p>
      <a class="button provider microsoft" href={signInStartPath("microsoft")}>
        Sign in with Microsoft
      </a>
      <a class="button provider google" href={signInStartPath("google")}>
        Sign in with Google
      </a>
      <p class="hint">No account yet? Ask an Owner or Admin of your organization to invite you.</p>
    </section>
  );
}
