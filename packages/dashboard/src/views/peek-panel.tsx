/**
 * A look at a queue's messages, one tab per state: ready, delayed, in flight, and dead-lettered (the ready
 * messages of `<queue>.dlq`). A peek leases and changes nothing (docs/protocol.md §12); it shows the oldest
 * first, up to PEEK_LIMIT, and is fetched when a tab opens, on Refresh and after an action.
 */
import { useEffect, useState } from "preact/hooks";
import { ApiError } from "../api/http.js";
import { PEEK_LIMIT, type PeekedMessage, type PeekState, peekMessages } from "../api/queue-api.js";
import { deadLetterQueueOf, isDeadLetterQueue } from "../api/queue-paths.js";
import { CutName } from "./cut-name.js";
import { clock, count, duration } from "./format.js";
import { dataInFull, dataPreview } from "./message-data.js";

type Tab = PeekState | "deadLettered";

/** The dead-letter reasons of docs/protocol.md, in words. */
const REASONS: Readonly<Record<string, string>> = {
  rejected: "nacked, not requeued",
  maxAttempts: "out of attempts",
};

const TAB_LABELS: Record<Tab, string> = {
  ready: "Ready",
  delayed: "Delayed",
  inflight: "In flight",
  deadLettered: "Dead-lettered",
};

export interface PeekPanelProps {
  namespace: string;
  queue: string;
  /** How many each tab holds, from the last stats. */
  counts: Record<Tab, number>;
  /** Changes when the queue was changed by an action, to fetch again. */
  generation: number;
}

type Loaded = { messages: PeekedMessage[]; at: number } | { error: ApiError } | undefined;

export function PeekPanel({ namespace, queue, counts, generation }: PeekPanelProps) {
  const tabs: Tab[] = isDeadLetterQueue(queue)
    ? ["ready", "delayed", "inflight"]
    : ["ready", "delayed", "inflight", "deadLettered"];
  const [tab, setTab] = useState<Tab>("ready");
  const [loaded, setLoaded] = useState<Loaded>(undefined);
  const [refreshes, setRefreshes] = useState(0);

  // `generation` and `refreshes` are read by no line: a change of either fetches again.
  useEffect(() => {
    let current = true;
    setLoaded(undefined);
    const request =
      tab === "deadLettered"
        ? peekMessages(namespace, deadLetterQueueOf(queue), "ready")
        : peekMessages(namespace, queue, tab);
    request.then(
      (messages) => current && setLoaded({ messages, at: Date.now() }),
      (error: unknown) =>
        current && setLoaded({ error: error instanceof ApiError ? error : new ApiError(0, "UNKNOWN", String(error)) }),
    );
    return () => {
      current = false;
    };
  }, [namespace, queue, tab, generation, refreshes]);

  return (
    <section class="panel" aria-labelledby="peek-title">
      <h2 id="peek-title">Messages</h2>
      <p class="hint">
        A peek: the oldest {PEEK_LIMIT} at most, leased to nobody and left as they are.
        {tab === "deadLettered" && <> These are the ready messages of {deadLetterQueueOf(queue)}.</>}
      </p>
      <div class="tabs" role="tablist">
        {tabs.map((name) => (
          <button
            key={name}
            type="button"
            role="tab"
            aria-selected={tab === name}
            class={tab === name ? "tab tab-selected" : "tab"}
            onClick={() => setTab(name)}
          >
            {TAB_LABELS[name]} <span class="tab-count">{count(counts[name])}</span>
          </button>
        ))}
        <button type="button" class="refresh" onClick={() => setRefreshes((value) => value + 1)}>
          Refresh
        </button>
      </div>
      <PeekTable loaded={loaded} />
    </section>
  );
}

function PeekTable({ loaded }: { loaded: Loaded }) {
  if (loaded === undefined) return <p class="empty">Loading…</p>;
  if ("error" in loaded) {
    return (
      <p class="error-text">
        The peek failed ({loaded.error.code}): {loaded.error.message}
      </p>
    );
  }
  if (loaded.messages.length === 0) return <p class="empty">No message in this state.</p>;
  const withReasons = loaded.messages.some((message) => message.reason !== undefined);
  return (
    <table class="messages">
      <thead>
        <tr>
          <th>id</th>
          <th>enqueued</th>
          <th class="number">attempt</th>
          <th>group</th>
          <th class="number">priority</th>
          {withReasons && <th>dead-lettered</th>}
          <th>headers</th>
          <th>data</th>
        </tr>
      </thead>
      <tbody>
        {loaded.messages.map((message) => (
          <tr key={message.id}>
            <td>
              <CutName name={message.id}>
                <code>{message.id}</code>
              </CutName>
            </td>
            <td>
              {clock(message.enqueuedAt)} <span class="hint">({duration(loaded.at - message.enqueuedAt)} ago)</span>
            </td>
            <td class="number">{message.attempt}</td>
            <td>{message.group === undefined ? "–" : <CutName name={message.group} narrow />}</td>
            <td class="number">{message.priority ?? "–"}</td>
            {withReasons && <td>{message.reason === undefined ? "–" : (REASONS[message.reason] ?? message.reason)}</td>}
            <td class="wrap">
              {Object.entries(message.headers).map(([name, value]) => (
                <div key={name}>
                  <code>
                    {name}: {value}
                  </code>
                </div>
              ))}
            </td>
            <td class="data">
              <details>
                <summary>
                  <code>{dataPreview(message.data)}</code>
                </summary>
                <pre>{dataInFull(message.data)}</pre>
              </details>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
