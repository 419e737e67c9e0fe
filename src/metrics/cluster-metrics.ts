// Metrics over several server processes (--server-processes): the primary asks each
// serving worker for its metrics (prom-client JSON, over the cluster link) and answers the
// scrape with them aggregated as each metric says (counters summed; see prometheus.ts for
// the few that are not sums).

import { AggregatorRegistry, Registry } from 'prom-client';

/** Aggregated Prometheus text of every worker's metrics (each a getMetricsAsJSON() list). */
export async function aggregateMetrics(perWorker: unknown[]): Promise<string> {
  return AggregatorRegistry.aggregate(perWorker as Parameters<typeof AggregatorRegistry.aggregate>[0]).metrics();
}

export const metricsContentType = Registry.PROMETHEUS_CONTENT_TYPE;
