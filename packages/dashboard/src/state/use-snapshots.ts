/**
 * The page's heartbeat: one `GET /v1/dashboard` a second (never a stream of events), each snapshot added to
 * the sample history before the views see it. A request starts only after the previous one ended, so a
 * slow node gets fewer requests, not a pile of them. After a 401 or 403 the loop waits for another token
 * (asking again with the same one would only be refused again); after any other failure it keeps trying,
 * and the views keep the last snapshot with the error beside it.
 * With the first snapshot (and the first after a token is given, while the history is still empty) it reads
 * the node's rate history once and seeds the sample history with it first (history-seed.ts). A history
 * route that fails otherwise is not asked again: the charts then start with the page, as on an older node.
 */
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "../api/http.js";
import { fetchRateHistory, type RateHistory } from "../api/rate-history.js";
import { fetchSnapshot, type Snapshot } from "../api/snapshot.js";
import { onTokenChange } from "../api/token-store.js";
import { seedHistory } from "./history-seed.js";
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
    /** A poll is running; a token given meanwhile makes a refused poll ask again at once. */
    let polling = false;
    let tokenGivenWhilePolling = false;
    /** Until the history seeded the charts, or its route answered an error other than a refusal. */
    let historyWanted = true;

    /** The node's rate history; undefined when the route failed (never rejects). */
    const readHistory = async (): Promise<RateHistory | undefined> => {
      try {
        return await fetchRateHistory();
      } catch (error) {
        const status = error instanceof ApiError ? error.status : 0;
        if (status !== 0 && status !== 401 && status !== 403) historyWanted = false;
        return undefined;
      }
    };

    const poll = async () => {
      timer = undefined;
      polling = true;
      tokenGivenWhilePolling = false;
      const began = performance.now();
      const pastRead = historyWanted && history.isEmpty() ? readHistory() : Promise.resolve(undefined);
      try {
        // The history's answer is awaited even when the snapshot fails: its own 401 must not come after a
        // token given meanwhile, or it would ask for one again.
        const [snapshot, past] = await Promise.all([fetchSnapshot(), pastRead]).catch(async (error: unknown) => {
          await pastRead;
          throw error;
        });
        if (stopped) return;
        if (past !== undefined) {
          seedHistory(history, past);
          historyWanted = false;
        }
        history.add(snapshot);
        setState({ latest: snapshot, error: undefined });
      } catch (error) {
        if (stopped) return;
        const failure = error instanceof ApiError ? error : new ApiError(0, "UNREACHABLE", String(error));
        setState((previous) => ({ latest: previous.latest, error: failure }));
        refused = failure.status === 401 || failure.status === 403;
        if (refused) {
          // Refused with the token of before: a token given while the poll ran is tried at once.
          if (tokenGivenWhilePolling) {
            refused = false;
            timer = setTimeout(poll, 0);
          }
          return;
        }
      } finally {
        polling = false;
      }
      timer = setTimeout(poll, Math.max(0, REFRESH_INTERVAL_MS - (performance.now() - began)));
    };

    const stopListening = onTokenChange(() => {
      if (polling) {
        tokenGivenWhilePolling = true;
        return;
      }
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
