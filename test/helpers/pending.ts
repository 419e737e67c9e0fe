// Waiting on the metrics endpoint for a model's pending requests (queued or running): how a
// test knows a request reached the model without sleeping.

import * as assert from 'uvu/assert';

/** Resolves once `metricsPort` reports `n` pending requests for `model` (version 1 unless given); bounded at 10 s. */
export async function pendingOf(metricsPort: number, model: string, n: number, version = 1): Promise<void> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    if (new RegExp(`nv_inference_pending_request_count\\{model="${model}",version="${version}"\\} ${n}\\b`).test(text)) return;
  }
  assert.unreachable(`${model} never had ${n} pending request(s)`);
}
