// Metrics over several server processes (--server-processes): each worker hands its
// registry to prom-client's cluster support, and the primary answers the scrape with
// every worker's metrics aggregated (counters and gauges summed per label set).

import { AggregatorRegistry, type Registry } from 'prom-client';

/** In a worker: its registry is what the primary's scrape collects. */
export function exposeToPrimary(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one installs prom-client's listener for the primary's requests.
  new AggregatorRegistry();
}

/** In the primary: a metrics source over every worker, for the metrics endpoint. */
export function clusterMetricsSource(): { text(): Promise<string>; contentType(): string } {
  const aggregator = new AggregatorRegistry();
  return { text: () => aggregator.clusterMetrics(), contentType: () => aggregator.contentType };
}
