-- Sign-in starts write nothing: state, nonce and PKCE verifier travel in a sealed, short-lived
-- __Host- cookie (src/auth/flows.ts), so the D1 flow store goes. What stays in D1 is the proof
-- that a round trip was used: the SHA-256 of its state, inserted by the callback's own write, so
-- a replayed callback breaks the primary key and is refused. Rows live as long as the cookie
-- could (10 minutes); the nightly housekeeping deletes the expired ones.
DROP TABLE auth_flows;
CREATE TABLE used_flow_states (
  state_hash  TEXT PRIMARY KEY,
  -- NOT NULL is load-bearing: the sign-in callback writes NULL here when what it read is no longer
  -- true on the primary, which aborts its whole batch (src/signin/signIn.ts, "premises").
  expires_at  INTEGER NOT NULL
);
