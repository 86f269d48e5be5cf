/** Said when the token is valid but lacks the right to read the dashboard (403): plainly, with the node's words. */
import type { ApiError } from "../api/http.js";
import { forgetToken } from "../api/token-store.js";

export function ForbiddenNotice({ refusal }: { refusal: ApiError }) {
  return (
    <section class="panel notice-critical" role="alert">
      <h2>This token may not read the dashboard</h2>
      <p>The node says: {refusal.message}.</p>
      <p>
        The dashboard needs the <code>monitor</code> or <code>admin</code> right on every namespace (<code>*</code>).
      </p>
      <button type="button" onClick={forgetToken}>
        Use another token
      </button>
    </section>
  );
}
