// Which execution providers this onnxruntime-node install can offer. The CUDA provider
// is two shared libraries that onnxruntime-node's install step downloads on GPU hosts
// (ONNXRUNTIME_NODE_INSTALL=cuda12); without them a CUDA session cannot be created.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** The folder holding libonnxruntime for this platform. */
export function ortBinaryDir(): string {
  const pkg = dirname(require.resolve('onnxruntime-node/package.json'));
  return join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

const cudaFiles =
  process.platform === 'win32'
    ? ['onnxruntime_providers_cuda.dll', 'onnxruntime_providers_shared.dll']
    : ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'];

/** '' when the CUDA provider files are there, otherwise why a CUDA session cannot start. */
export function cudaUnavailableReason(): string {
  if (process.env['TRITON_TS_FORCE_NO_CUDA'] === '1') return 'CUDA disabled by TRITON_TS_FORCE_NO_CUDA=1';
  const dir = ortBinaryDir();
  const missing = cudaFiles.filter((f) => !existsSync(join(dir, f)));
  if (missing.length === 0) return '';
  return (
    `onnxruntime-node has no CUDA execution provider here (${missing.join(', ')} not in ${dir}); ` +
    'on a GPU host with CUDA 12 and cuDNN 9, install with ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci'
  );
}
