/**
 * Whether the page holds a token, and the last 401 any request got since the token last changed: the
 * snapshot loop's and also a peek's or an action's, so an expired token brings the prompt back wherever it
 * was refused.
 */
import { useEffect, useState } from "preact/hooks";
import { type ApiError, onUnauthorized } from "../api/http.js";
import { onTokenChange, storedToken } from "../api/token-store.js";

export interface AuthState {
  hasToken: boolean;
  /** The last 401 since the token changed; undefined if none. */
  refusal: ApiError | undefined;
}

export function useAuth(): AuthState {
  const [state, setState] = useState<AuthState>(() => ({ hasToken: storedToken() !== undefined, refusal: undefined }));
  useEffect(() => {
    const stopTokens = onTokenChange(() => setState({ hasToken: storedToken() !== undefined, refusal: undefined }));
    const stopRefusals = onUnauthorized((refusal) => setState((previous) => ({ ...previous, refusal })));
    return () => {
      stopTokens();
      stopRefusals();
    };
  }, []);
  return state;
}
