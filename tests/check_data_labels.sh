#!/usr/bin/env bash
# check_data_labels.sh BUILD_DIR — after a ctest run with data present, fails when a suite
# looked for data (ctcd_data_find or ctcd_test_data_dir wrote BUILD_DIR/data-trace/<suite>,
# see CTCD_TEST_DATA_TRACE in src/data/data_dir.c) but does not carry the ctest label
# `data` (CTCD_DATA_SUITES in CMakeLists.txt). The no-data pass of .ci/run runs only the
# labelled suites, so an unlabelled suite that reads data would escape it.
set -euo pipefail
build=${1:?usage: check_data_labels.sh BUILD_DIR}
trace="$build/data-trace"
[ -d "$trace" ] || { echo "check_data_labels: $trace missing (configure $build first)" >&2; exit 2; }
labelled=$(ctest --test-dir "$build" -N -L '^data$' | sed -n 's/^ *Test *#[0-9]*: *//p')
bad=0
for f in "$trace"/*; do
  [ -e "$f" ] || continue
  name=$(basename "$f")
  if ! grep -qx "$name" <<<"$labelled"; then
    echo "check_data_labels: $name looked for data ($(sort -u "$f" | head -3 | paste -sd, -)) but" \
         "has no 'data' label: add it to CTCD_DATA_SUITES in CMakeLists.txt" >&2
    bad=1
  fi
done
[ "$bad" = 0 ] || { echo "check_data_labels: FAILED" >&2; exit 1; }
n=$(ls "$trace" | wc -l)
echo "check_data_labels: $n suite(s) looked for data, all labelled 'data'" \
     "($(wc -w <<<"$labelled") labelled)"
