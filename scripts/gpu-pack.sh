#!/usr/bin/env bash
# Packs what a lent GPU machine (the `device` tool, see ../shared/GPU.md) needs to run
# loadtest/gpu-check.sh, into .gpu/p1..p5 (git-ignored through .git/info/exclude), each
# under one call's 64 MiB:
#   p1-p3  ONNX Runtime's CUDA provider (1.29.0, built for CUDA 13; from the npm package
#          com.github.asus4.onnxruntime.linux-x64-gpu), xz-compressed and split in three
#   p4     this machine's node binary, a runtime-only node_modules with onnxruntime-node
#          1.29.0 (to match the provider), the shared provider library, gpu-device-run.sh
#   p5     @bufbuild/protobuf
# Then, back to back (the machine stays warm 30 s between calls):
#   run 'cp .gpu/p1/* /tmp/' carrying .gpu/p1; the same for p2 and p3;
#   run 'bash .gpu/p4/gpu-device-run.sh' carrying .gpu/p4 and .gpu/p5.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent onnxruntime-node@1.29.0 onnxruntime-common@1.29.0 com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 >/dev/null)
mkdir -p "$work/asus" .gpu/p1 .gpu/p2 .gpu/p3 .gpu/p4 .gpu/p5 .git/info
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
tar xzf "$work"/com.github.asus4.*.tgz -C "$work/asus"
lib="$work/asus/package/Plugins/Linux/x64"
xz -9 -T0 -c "$lib/libonnxruntime_providers_cuda.so" > "$work/prov.xz"
split -b 54800000 -d "$work/prov.xz" "$work/prov.xz."
mv "$work/prov.xz.00" .gpu/p1/; mv "$work/prov.xz.01" .gpu/p2/; mv "$work/prov.xz.02" .gpu/p3/
cp "$lib/libonnxruntime_providers_shared.so" loadtest/gpu-device-run.sh .gpu/p4/
xz -9 -T0 -c "$(command -v node)" > .gpu/p4/node.xz
mkdir -p "$work/nm"
cp -a node_modules "$work/nm/"
(
  cd "$work/nm/node_modules"
  rm -rf @bufbuild @typescript dprint-node onnx-proto @gutenye typescript ts-proto @types onnxruntime-node onnxruntime-common
  mkdir onnxruntime-node onnxruntime-common
  tar xzf "$work"/onnxruntime-node-1.29.0.tgz -C onnxruntime-node --strip-components=1
  tar xzf "$work"/onnxruntime-common-1.29.0.tgz -C onnxruntime-common --strip-components=1
  rm -rf onnxruntime-node/bin/napi-v6/darwin onnxruntime-node/bin/napi-v6/win32 onnxruntime-node/bin/napi-v6/linux/arm64
)
(cd "$work/nm" && tar cf - node_modules | xz -9 -T0) > .gpu/p4/nm.tar.xz
rm -rf .gpu/p5/protobuf && cp -a node_modules/@bufbuild/protobuf .gpu/p5/
du -sh .gpu/*
