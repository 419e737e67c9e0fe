#!/usr/bin/env bash
# On a lent GPU machine, in the repository copy: assembles what scripts/gpu-pack.sh carried
# (the CUDA provider parts already copied to /tmp, Node, node_modules), points the loader at
# the CUDA 13 and cuDNN 9 libraries the machine's Python packages hold, then runs
# loadtest/gpu-check.sh (or the command given).
set -uo pipefail
unxz() { if command -v xz >/dev/null; then xz -dc "$1"; else python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)" "$1"; fi; }
cat /tmp/prov.xz.00 /tmp/prov.xz.01 /tmp/prov.xz.02 > /tmp/prov.xz
unxz /tmp/prov.xz > /tmp/libonnxruntime_providers_cuda.so
unxz .gpu/p4/node.xz > /tmp/node && chmod +x /tmp/node
export PATH=/tmp:$PATH
unxz .gpu/p4/nm.tar.xz | tar xf -
mkdir -p node_modules/@bufbuild && cp -a .gpu/p5/protobuf node_modules/@bufbuild/
d=node_modules/onnxruntime-node/bin/napi-v6/linux/x64
cp /tmp/libonnxruntime_providers_cuda.so .gpu/p4/libonnxruntime_providers_shared.so "$d/"
libdirs=""
for f in libcublasLt.so.13 libcublas.so.13 libcurand.so.10 libcudart.so.13 libcudnn.so.9 libcufft.so.12; do
  p=$(find /opt /usr /lib /usr/local -name "$f" 2>/dev/null | head -1)
  [ -n "$p" ] && libdirs="$libdirs:$(dirname "$p")"
  echo "$f: ${p:-NOT FOUND}"
done
export LD_LIBRARY_PATH="${libdirs#:}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
node --version
ldd "$d/libonnxruntime_providers_cuda.so" | grep -i "not found" || echo "provider: all libraries found"
if [ $# -gt 0 ]; then "$@"; else bash loadtest/gpu-check.sh; fi
