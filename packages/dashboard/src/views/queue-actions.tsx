/**
 * A queue's admin actions: redrive its dead letters and purge it, the purge only after its name is typed.
 * Shown when the token carries `admin` in the queue's namespace, or when the page cannot tell (the node
 * decides; its refusal is shown as it says it); with a token that plainly lacks it, the page says so instead.
 */
import { useState } from "preact/hooks";
import { ApiError } from "../api/http.js";
import { purge, redrive } from "../api/queue-api.js";
import { isDeadLetterQueue } from "../api/queue-paths.js";
import { adminRightIn } from "../api/token-rights.js";
import { storedToken } from "../api/token-store.js";
import { count } from "./format.js";

export interface QueueActionsProps {
  namespace: string;
  queue: string;
  deadLettered: number;
  /** Ready and delayed messages: what a purge drops. */
  purgeable: number;
  /** Called after an action changed the queue. */
  onChanged: () => void;
}

type Outcome = { ok: boolean; text: string } | undefined;

export function QueueActions({ namespace, queue, deadLettered, purgeable, onChanged }: QueueActionsProps) {
  const [outcome, setOutcome] = useState<Outcome>(undefined);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [typed, setTyped] = useState("");

  if (adminRightIn(storedToken(), namespace) === "no") {
    return (
      <section class="panel" aria-labelledby="actions-title">
        <h2 id="actions-title">Actions</h2>
        <p class="hint">
          Redrive and purge need the <code>admin</code> right in <code>{namespace}</code>: this token does not carry it.
        </p>
      </section>
    );
  }

  const run = async (action: () => Promise<string>) => {
    setBusy(true);
    try {
      setOutcome({ ok: true, text: await action() });
      onChanged();
    } catch (error) {
      const message = error instanceof ApiError ? refusalText(error) : String(error);
      setOutcome({ ok: false, text: message });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="panel" aria-labelledby="actions-title">
      <h2 id="actions-title">Actions</h2>
      <div class="actions">
        {!isDeadLetterQueue(queue) && (
          <button
            type="button"
            disabled={busy}
            onClick={() =>
              run(async () => {
                const moved = await redrive(namespace, queue);
                return `Redrive moved ${count(moved)} ${moved === 1 ? "message" : "messages"} from ${queue}.dlq back to ${queue}.`;
              })
            }
          >
            Redrive {count(deadLettered)} dead {deadLettered === 1 ? "letter" : "letters"}
          </button>
        )}
        {!confirming && (
          <button type="button" class="danger" disabled={busy} onClick={() => setConfirming(true)}>
            Purge…
          </button>
        )}
      </div>
      {confirming && (
        <form
          class="confirm"
          onSubmit={(event) => {
            event.preventDefault();
            if (typed !== queue) return;
            setConfirming(false);
            setTyped("");
            void run(async () => {
              const purged = await purge(namespace, queue);
              return `Purge dropped ${count(purged)} ${purged === 1 ? "message" : "messages"} from ${queue}.`;
            });
          }}
        >
          <label for="purge-confirmation">
            Purging drops the {count(purgeable)} ready and delayed messages of <strong>{queue}</strong> for good (those
            in flight stay). Type the queue's name to confirm:
          </label>
          <input
            id="purge-confirmation"
            autocomplete="off"
            spellcheck={false}
            value={typed}
            onInput={(event) => setTyped(event.currentTarget.value)}
          />
          <button type="submit" class="danger" disabled={typed !== queue || busy}>
            Purge {queue}
          </button>
          <button
            type="button"
            onClick={() => {
              setConfirming(false);
              setTyped("");
            }}
          >
            Cancel
          </button>
        </form>
      )}
      {outcome && (
        <p class={outcome.ok ? "outcome-ok" : "error-text"} role="status">
          {outcome.text}
        </p>
      )}
    </section>
  );
}

function refusalText(error: ApiError): string {
  if (error.status === 403) return `The node refused: ${error.message}.`;
  return `It failed (${error.code}): ${error.message}.`;
}
