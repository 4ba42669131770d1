#!/bin/sh
# Builds the native test programs of the C core into OUT (default build/native).
#
#   tests/native/build.sh asan|valgrind|fuzz|canary-asan|canary-invariant [OUT]
#
#   asan      stress driver with AddressSanitizer + UBSan (every finding fatal)
#   valgrind  stress driver, no sanitizer, -O1 -g, for valgrind memcheck
#   fuzz      libFuzzer target (clang) with ASan + UBSan
#   canary-*  the asan driver with a deliberate out-of-bounds read or invariant
#             break, to prove the harness fails when it should
# All of them compile the core with -DPROSPECTOR_CHECK_INVARIANTS and the release
# build's float flags (no fast-math, no FP contraction).
set -eu
variant=$1
out=${2:-build/native}
root=$(cd "$(dirname "$0")/../.." && pwd)
py=${PYTHON:-python3}
mkdir -p "$out"
"$py" "$root/tests/native/gen_config_ranges.py" "$out/config_ranges.h"
common="-std=c11 -D_GNU_SOURCE -g -fno-omit-frame-pointer -ffp-contract=off -fno-fast-math -Wall -Wextra -Werror
        -Wno-unused-function -DPROSPECTOR_CHECK_INVARIANTS -I$root/ext -I$out"
san="-fsanitize=address,undefined,float-cast-overflow,float-divide-by-zero -fno-sanitize-recover=all"
case "$variant" in
  asan)      ${CC:-gcc} $common -O1 $san "$root/tests/native/stress.c" -lm -o "$out/stress-asan" ;;
  valgrind)  ${CC:-gcc} $common -O1 "$root/tests/native/stress.c" -lm -o "$out/stress-valgrind" ;;
  fuzz)      ${CLANG:-clang} $common -O1 -fsanitize=fuzzer,address,undefined,float-cast-overflow,float-divide-by-zero \
                 -fno-sanitize-recover=all "$root/tests/native/fuzz_step.c" -lm -o "$out/fuzz-step" ;;
  canary-asan)      ${CC:-gcc} $common -O1 $san -DHARNESS_CANARY=1 "$root/tests/native/stress.c" -lm -o "$out/stress-canary-asan" ;;
  canary-invariant) ${CC:-gcc} $common -O1 $san -DHARNESS_CANARY=2 "$root/tests/native/stress.c" -lm -o "$out/stress-canary-invariant" ;;
  *) echo "build.sh: unknown variant '$variant'" >&2; exit 2 ;;
esac
