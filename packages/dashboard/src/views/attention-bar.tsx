/** The strip at the top of the overview: what needs attention now (state/attention.ts), or that nothing does. */
import type { AttentionItem } from "../state/attention.js";
import { queueHref } from "../state/routes.js";

export function AttentionBar({ items }: { items: AttentionItem[] }) {
  if (items.length === 0) {
    return (
      <section class="attention attention-clear" aria-label="Attention">
        Nothing needs attention.
      </section>
    );
  }
  return (
    <section class="attention" aria-label="Attention">
      <ul>
        {items.map((item) => (
          <li key={item.text} class={`attention-${item.severity}`}>
            <span class="attention-badge">{item.severity === "critical" ? "Critical" : "Warning"}</span> {item.text}
            {item.queue && (
              <>
                {" "}
                <a href={queueHref(item.queue.namespace, item.queue.name)}>Open {item.queue.name}</a>
              </>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
