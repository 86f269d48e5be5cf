/**
 * The dashboard: a header, then the token prompt (auth on and no usable token), a refusal (the token lacks
 * the right), or the page the URL's fragment names (the overview or a queue), from the latest snapshot.
 * One sample history lives as long as the page, started with the node's rate history of the last 15 minutes
 * and fed by the once-a-second snapshot loop.
 */
import type { ApiError } from "./api/http.js";
import type { Snapshot } from "./api/snapshot.js";
import { forgetToken } from "./api/token-store.js";
import { SampleHistory } from "./state/sample-history.js";
import { useAuth } from "./state/use-auth.js";
import { useRoute } from "./state/use-route.js";
import { useSnapshots } from "./state/use-snapshots.js";
import { ForbiddenNotice } from "./views/forbidden-notice.js";
import { clock, duration } from "./views/format.js";
import { Overview } from "./views/overview.js";
import { QueuePage } from "./views/queue-page.js";
import { TokenPrompt } from "./views/token-prompt.js";

const history = new SampleHistory();

export function App() {
  const route = useRoute();
  const { latest, error } = useSnapshots(history);
  const auth = useAuth();
  const refusal = error?.status === 401 ? error : auth.refusal;

  return (
    <>
      <Header snapshot={latest} hasToken={auth.hasToken} />
      <main>
        {refusal ? (
          <TokenPrompt refusal={refusal} />
        ) : error?.status === 403 ? (
          <ForbiddenNotice refusal={error} />
        ) : (
          <>
            {error && <Unreachable error={error} latest={latest} />}
            {latest === undefined ? (
              !error && <p class="empty">Loading the first snapshot…</p>
            ) : route.page === "queue" ? (
              <QueuePage namespace={route.namespace} queue={route.queue} snapshot={latest} history={history} />
            ) : (
              <Overview snapshot={latest} history={history} />
            )}
          </>
        )}
      </main>
    </>
  );
}

function Header({ snapshot, hasToken }: { snapshot: Snapshot | undefined; hasToken: boolean }) {
  return (
    <header class="top">
      <a class="brand" href="#/">
        Mailroom
      </a>
      {snapshot && (
        <span class="top-facts">
          node <code>{snapshot.node}</code> · {snapshot.store.engine} · {snapshot.nodes.length}{" "}
          {snapshot.nodes.length === 1 ? "node" : "nodes"} · updated {clock(snapshot.at)} · charts cover the last{" "}
          {duration(history.spanSeconds() * 1000)}
        </span>
      )}
      {hasToken && (
        <button type="button" class="link-button" onClick={forgetToken}>
          Forget token
        </button>
      )}
    </header>
  );
}

function Unreachable({ error, latest }: { error: ApiError; latest: Snapshot | undefined }) {
  return (
    <p class="panel notice-critical" role="alert">
      The node did not give a snapshot ({error.code}): {error.message}.
      {latest && <> Showing the one of {clock(latest.at)}.</>} Trying again every second.
    </p>
  );
}
