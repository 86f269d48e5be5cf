/**
 * The page's heartbeat: one `GET /v1/dashboard` a second (never a stream of events), each snapshot added to
 * the sample history before the views see it. A request starts only after the previous one ended, so a
 * slow node gets fewer requests, not a pile of them. After a 401 or 403 the loop waits for another token
 * (asking again with the same one would only be refused again); after any other failure it keeps trying,
 * and the views keep the last snapshot with the error beside it.
 */
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "../api/http.js";
import { fetchSnapshot, type Snapshot } from "../api/snapshot.js";
import { onTokenChange } from "../api/token-store.js";
import type { SampleHistory } from "./sample-history.js";

/** One snapshot a second, as the contract asks (docs/protocol.md §12). */
export const REFRESH_INTERVAL_MS = 1000;

export interface Snapshots {
  latest: Snapshot | undefined;
  /** The last request's failure; undefined once one succeeds again. */
  error: ApiError | undefined;
}

export function useSnapshots(history: SampleHistory): Snapshots {
  const [state, setState] = useState<Snapshots>({ latest: undefined, error: undefined });

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let refused = false;

    const poll = async () => {
      timer = undefined;
      const began = performance.now();
      try {
        const snapshot = await fetchSnapshot();
        if (stopped) return;
        history.add(snapshot);
        setState({ latest: snapshot, error: undefined });
      } catch (error) {
        if (stopped) return;
        const failure = error instanceof ApiError ? error : new ApiError(0, "UNREACHABLE", String(error));
        setState((previous) => ({ latest: previous.latest, error: failure }));
        refused = failure.status === 401 || failure.status === 403;
        if (refused) return;
      }
      timer = setTimeout(poll, Math.max(0, REFRESH_INTERVAL_MS - (performance.now() - began)));
    };

    const stopListening = onTokenChange(() => {
      if (!refused) return;
      refused = false;
      void poll();
    });
    void poll();
    return () => {
      stopped = true;
      stopListening();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [history]);

  return state;
}
