#!/bin/sh
# require_cuda.sh SUITE — checks the CTCD_REQUIRE_CUDA contract of a CUDA suite
# (tests/cuda_check.h) in whatever build and on whatever machine ctest runs it:
#   - without the variable, a test that cannot open the CUDA backend SKIPS and says why
#     ("no CUDA device ..."), and the suite exits 0 when that is all that happened;
#   - with CTCD_REQUIRE_CUDA=1 it never skips: either the suite ran its tests on a device
#     (zero skips: whether they pass is the suite's own ctest's business), or it FAILS, exit
#     status non-zero, with "CTCD_REQUIRE_CUDA=1 but the CUDA backend cannot be opened:
#     <reason>" — one failure per test that skipped without the variable.
# What must never happen: exit 0 with every test skipped under CTCD_REQUIRE_CUDA=1 (the
# hazard of issue 22: a GPU run that silently checked nothing).
set -u
suite=${1:?usage: require_cuda.sh SUITE_BINARY}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "require_cuda.sh: FAIL: $*"; exit 1; }
# synth FILE FIELD: a number from Criterion's last line
#   "[====] Synthesis: Tested: N | Passing: N | Failing: N | Crashing: N"
synth() { sed -n "s/.*Synthesis:.*$2: \([0-9][0-9]*\).*/\1/p" "$1" | tail -1; }
# skipped tests ("[SKIP] suite::test: reason"; not the "Test is disabled" of a --filter)
skips() { grep '^\[SKIP\]' "$1" | grep -vc ': Test is disabled$'; }

env -u CTCD_REQUIRE_CUDA "$suite" -j1 --verbose --ascii >"$tmp/plain" 2>&1
rc_plain=$?
CTCD_REQUIRE_CUDA=1 "$suite" -j1 --verbose --ascii >"$tmp/req" 2>&1
rc_req=$?

skip_plain=$(skips "$tmp/plain")
skip_req=$(skips "$tmp/req")
tested_req=$(synth "$tmp/req" Tested)
failing_req=$(synth "$tmp/req" Failing)
echo "plain:  exit $rc_plain, $skip_plain skipped, $(grep Synthesis "$tmp/plain")"
echo "CTCD_REQUIRE_CUDA=1: exit $rc_req, $skip_req skipped, $(grep Synthesis "$tmp/req")"
[ -n "$tested_req" ] || { cat "$tmp/req"; fail "no Synthesis line from $suite"; }

# Without the variable: skips, if any, name the reason, and skipping alone exits 0.
if [ "$skip_plain" -gt 0 ]; then
    [ "$(grep '^\[SKIP\]' "$tmp/plain" | grep -vc 'no CUDA device')" -eq 0 ] ||
        fail "a skip without the reason 'no CUDA device': $(grep '^\[SKIP\]' "$tmp/plain" | grep -v 'no CUDA device' | head -1)"
    [ "$(synth "$tmp/plain" Failing)" -gt 0 ] || [ "$rc_plain" -eq 0 ] ||
        fail "the suite exits $rc_plain with only skips and no failures"
    grep '^\[SKIP\]' "$tmp/plain" | head -1
fi

# With it: never a skip.
[ "$skip_req" -eq 0 ] || fail "CTCD_REQUIRE_CUDA=1 and still $skip_req skipped tests"
if [ "$skip_plain" -gt 0 ]; then
    # No device here: every test that skipped must now fail, naming the reason.
    [ "$rc_req" -ne 0 ] || fail "CTCD_REQUIRE_CUDA=1 without a usable device, yet exit 0"
    n_why=$(grep -c 'CTCD_REQUIRE_CUDA=1 but the CUDA backend cannot be opened: ..*' "$tmp/req")
    [ "$n_why" -ge "$skip_plain" ] ||
        fail "$skip_plain tests skipped without the variable, but only $n_why failures name the reason"
    [ "$failing_req" -ge "$skip_plain" ] ||
        fail "$skip_plain skipped without the variable, only $failing_req failing with it"
    grep -m1 'CTCD_REQUIRE_CUDA=1 but the CUDA backend cannot be opened' "$tmp/req"
else
    [ "$tested_req" -gt 0 ] || fail "CTCD_REQUIRE_CUDA=1: no test ran"
fi
echo "require_cuda.sh: ok"
