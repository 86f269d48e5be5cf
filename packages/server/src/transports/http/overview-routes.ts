/**
 * The routes of docs/protocol.md §12 that read the whole cluster: `GET /v1/namespaces`, the dashboard's
 * `GET /v1/dashboard` (operations/cluster-overview.ts) and its `GET /v1/dashboard/history` (the rate samples
 * of the last 15 minutes, operations/dashboard-history.ts), all for the `monitor` or `admin` right on `*`.
 * One answer per second serves every caller: a dashboard left open in many tabs costs the store no more.
 * The history, up to megabytes of JSON with 1,000 busy queues, is gzipped when the browser accepts it.
 */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { HttpDashboardHistory, HttpError, HttpNamespaces } from "@mailroom/protocol";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import {
  type DashboardSnapshot,
  dashboardSnapshot,
  type NamespaceSummary,
  namespaceSummaries,
  type OverviewSources,
} from "../../operations/cluster-overview.js";
import { dashboardHistory } from "../../operations/dashboard-history.js";
import { RecentResults } from "../../structures/recent-results.js";
import { gzipLargeAnswer } from "./gzip-large-answer.js";

const TAGS = ["cluster"];
const errors = { "4xx": HttpError, "5xx": HttpError };
/** How long one snapshot serves every caller. */
const SNAPSHOT_MAX_AGE_MS = 1000;

export async function overviewRoutes(app: FastifyInstance, sources: OverviewSources): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const snapshots = new RecentResults<DashboardSnapshot>({ maxAgeMs: SNAPSHOT_MAX_AGE_MS, maxKeys: 1 });
  const namespaceLists = new RecentResults<NamespaceSummary[]>({ maxAgeMs: SNAPSHOT_MAX_AGE_MS, maxKeys: 1 });
  const histories = new RecentResults<HttpDashboardHistory>({ maxAgeMs: SNAPSHOT_MAX_AGE_MS, maxKeys: 1 });

  api.get(
    "/v1/namespaces",
    {
      config: { right: "monitor", rightsNamespace: "*" },
      schema: {
        tags: TAGS,
        summary: "The namespaces that have queues or connected sockets now, with how many of each",
        response: { 200: HttpNamespaces, ...errors },
      },
    },
    async () => ({ namespaces: await namespaceLists.get("all", () => namespaceSummaries(sources)) }),
  );

  api.get(
    "/v1/dashboard",
    {
      config: { right: "monitor", rightsNamespace: "*" },
      schema: {
        tags: TAGS,
        summary:
          "The dashboard's snapshot of the cluster: nodes, the store, namespaces, queues (the worst first, with " +
          "running totals of messages sent and acked), rooms",
        response: {
          200: Type.Unknown({
            description: "DashboardSnapshot (operations/cluster-overview.ts; docs/protocol.md §12)",
          }),
          ...errors,
        },
      },
    },
    async () => snapshots.get("all", () => dashboardSnapshot(sources)),
  );

  api.get(
    "/v1/dashboard/history",
    {
      config: { right: "monitor", rightsNamespace: "*" },
      onSend: gzipLargeAnswer,
      // The schema documents and types the answer; JSON.stringify writes it: on tens of thousands of small
      // objects (1,000 busy queues) it takes an eighth of the schema's serializer's time (5 MB: 16 ms, 130 ms).
      serializerCompiler: () => (data) => JSON.stringify(data),
      schema: {
        tags: TAGS,
        summary:
          "The dashboard's rate samples of the last 15 minutes: per sample (one per interval for the whole " +
          "cluster), the messages sent and acked since the previous one, per queue that had traffic; and the " +
          "running totals at the newest sample",
        response: { 200: HttpDashboardHistory, ...errors },
      },
    },
    async () => histories.get("all", () => dashboardHistory(sources.rateSamples, sources.sampleIntervalMs)),
  );
}
