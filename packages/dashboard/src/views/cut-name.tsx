/**
 * A name a tenant chose (a queue, room, namespace, message id or group), cut with an ellipsis where it is
 * longer than its column may grow, and whole in its tooltip: one long name keeps every other column of its
 * table in view. A block inside the cell, since browsers need not bound a table cell's own width.
 */
import type { ComponentChildren } from "preact";

export function CutName({
  name,
  narrow = false,
  children,
}: {
  name: string;
  /** For tables that share the page's width with another (the rooms and namespaces panels). */
  narrow?: boolean;
  /** What shows (a link, a code element); the name itself when absent. */
  children?: ComponentChildren;
}) {
  return (
    <div class={narrow ? "cut-name narrow" : "cut-name"} title={name}>
      {children ?? name}
    </div>
  );
}
