// The metrics endpoint: GET /metrics in Prometheus text format, on its own port.

import { createServer, type Server } from 'node:http';
import type { PrometheusExporter } from './prometheus.js';

export class MetricsEndpoint {
  private readonly server: Server;

  constructor(private readonly exporter: PrometheusExporter) {
    this.server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at GET /metrics\n');
        return;
      }
      this.exporter.text().then(
        (text) => res.writeHead(200, { 'content-type': this.exporter.contentType() }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(err)}\n`),
      );
    });
  }

  /** Resolves with the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
