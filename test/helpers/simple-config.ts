// The bundled `simple` model's config as RepositoryModelLoad's "config" parameter takes it
// (JSON, proto field names), for tests that load it under another name or with changes.

export function simpleConfigJson(name: string, changes: Record<string, unknown> = {}): string {
  return JSON.stringify({
    name,
    platform: 'onnxruntime_onnx',
    max_batch_size: 8,
    input: [
      { name: 'INPUT0', data_type: 'TYPE_INT32', dims: [16] },
      { name: 'INPUT1', data_type: 'TYPE_INT32', dims: [16] },
    ],
    output: [
      { name: 'OUTPUT0', data_type: 'TYPE_INT32', dims: [16] },
      { name: 'OUTPUT1', data_type: 'TYPE_INT32', dims: [16] },
    ],
    ...changes,
  });
}
