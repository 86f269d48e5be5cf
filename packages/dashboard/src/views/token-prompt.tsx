/**
 * Asked when a data route answers 401: the node has auth on and the page holds no token, or one the node
 * refused (expired, badly signed). The token is kept for this tab only (api/token-store.ts).
 */
import { useState } from "preact/hooks";
import type { ApiError } from "../api/http.js";
import { storedToken, storeToken } from "../api/token-store.js";

export function TokenPrompt({ refusal }: { refusal: ApiError }) {
  const [token, setToken] = useState("");
  const hadToken = storedToken() !== undefined;
  return (
    <section class="panel token-prompt" aria-labelledby="token-prompt-title">
      <h2 id="token-prompt-title">This node asks for a token</h2>
      <p>
        Auth is on. Paste a Mailroom token (a JWT) with the <code>monitor</code> or <code>admin</code> right on every
        namespace (<code>*</code>); redrive and purge need <code>admin</code>.
      </p>
      {hadToken && <p class="error-text">The node refused the token: {refusal.message}</p>}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (token.trim() !== "") storeToken(token.trim());
        }}
      >
        <label for="token-input">Token</label>
        <input
          id="token-input"
          name="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={token}
          onInput={(event) => setToken(event.currentTarget.value)}
        />
        <button type="submit" disabled={token.trim() === ""}>
          Use this token
        </button>
      </form>
      <p class="hint">
        The page keeps it for this browser tab only (sessionStorage) and sends it to this node alone, as{" "}
        <code>Authorization: Bearer</code>.
      </p>
    </section>
  );
}
