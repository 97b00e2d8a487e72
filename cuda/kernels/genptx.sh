#!/bin/sh
# genptx.sh compiles coawait.cu (which includes the other .cu files) to
# ptx/coawait.ptx; go generate runs it. It needs nvcc on PATH (or $NVCC):
# eval "$(scripts/cuda-toolchain)" provides CUDA 11.8's. The host compiler
# is $CUDA_CCBIN or g++; -allow-unsupported-compiler lets CUDA 11.8 use a
# newer g++ (only its preprocessor matters for -ptx).
#
# The output is deterministic: nvcc's PTX header names the compiler build,
# not a date or a path, and the module has no .file directives (no -lineinfo).
# CI compares a fresh run with the committed file.
set -eu
cd "$(dirname "$0")"
nvcc="${NVCC:-nvcc}"
command -v "$nvcc" >/dev/null 2>&1 || {
	echo "genptx.sh: $nvcc not found; run: eval \"\$(scripts/cuda-toolchain)\"" >&2
	exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$nvcc" -ccbin "${CUDA_CCBIN:-g++}" -allow-unsupported-compiler \
	-ptx -arch=compute_80 -fmad=false -o "$tmp/coawait.ptx" coawait.cu
if grep -q '^[[:space:]]*\.file' "$tmp/coawait.ptx"; then
	echo "genptx.sh: the PTX has .file directives (paths); compile without -lineinfo/-G" >&2
	exit 1
fi
mkdir -p ptx
mv "$tmp/coawait.ptx" ptx/coawait.ptx
