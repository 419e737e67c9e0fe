#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: check the CUDA path end to end and measure it.
#   1. in-process CUDA-EP throughput of ocr_cls at batch 1..256 (the ceiling)
#   2. what a change of input shape costs a CUDA session, and the bare gRPC transport ceiling
#   3. the server with ocr_cls on KIND_GPU under closed-loop load (padded batches, unpadded,
#      and 32-row requests)
# Needs onnxruntime-node's CUDA provider files next to libonnxruntime.so.1
# (ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci on a host with CUDA 12 + cuDNN 9, or copied in;
# see ../shared/GPU.md). Prints the device, both tables and where the figures came from.
set -euo pipefail
cd "$(dirname "$0")/.."

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || { echo "no GPU here (nvidia-smi failed)"; exit 1; }
node -e "import('./src/execution/providers.ts').then(m => { const r = m.cudaUnavailableReason(); if (r) { console.error(r); process.exit(1); } console.log('CUDA provider files present in', m.ortBinaryDir()); })" --import tsx

node --import tsx loadtest/gpu-ceiling.ts
node --import tsx loadtest/gpu-shape-change.ts
node --import tsx loadtest/transport-ceiling.ts

repo=$(mktemp -d)
trap 'kill "${server_pid:-0}" 2>/dev/null || true; rm -rf "$repo"' EXIT
# ocr_gpu pads batches to power-of-two sizes (pad_batches auto on a GPU); ocr_gpu_nopad
# sends every size as it comes, to show what cuDNN's per-shape algorithm search costs.
for m in ocr_gpu ocr_gpu_nopad; do
  mkdir -p "$repo/$m/1"
  cp model-repo/ocr_cls/1/model.onnx "$repo/$m/1/"
  cat > "$repo/$m/config.pbtxt" <<'PBTXT'
max_batch_size: 256
input [ { name: "x" data_type: TYPE_FP32 dims: [ 3, 48, 192 ] } ]
output [ { name: "softmax_0.tmp_0" data_type: TYPE_FP32 dims: [ 2 ] } ]
instance_group [ { kind: KIND_GPU, count: 1, gpus: [ 0 ] } ]
dynamic_batching { }
PBTXT
done
echo 'parameters { key: "pad_batches" value: { string_value: "false" } }' >> "$repo/ocr_gpu_nopad/config.pbtxt"
port=18101
node --import tsx src/cli.ts --model-repository="$repo" --grpc-address=127.0.0.1 --grpc-port=$port --allow-metrics=false > "$repo/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 120); do grep -q 'ready: ' "$repo/server.log" && break; sleep 0.5; done
cat "$repo/server.log"
grep -q 'ocr_gpu_0_0 on gpu:0' "$repo/server.log" || { echo "the model did not land on the GPU"; exit 1; }
echo "--- padded to power-of-two batch sizes (default on a GPU)"
node --import tsx loadtest/cli.ts --url 127.0.0.1:$port --model ocr_gpu --concurrency-range 1:256:x2 --measurement-interval 4000
echo "--- pad_batches false: every batch size as it comes"
node --import tsx loadtest/cli.ts --url 127.0.0.1:$port --model ocr_gpu_nopad --concurrency-range 4:256:x4 --measurement-interval 4000
echo "--- padded, 32 rows per request (so that one client process is not the limit)"
node --import tsx loadtest/cli.ts --url 127.0.0.1:$port --model ocr_gpu --batch-size 32 --concurrency-range 4:32:x2 --measurement-interval 4000
