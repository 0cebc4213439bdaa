#!/usr/bin/env bash
# Runs one fuzz target with the limits the README states, one job, niced; libFuzzer's log
# (with the final stats) goes to fuzz/logs/<target>-<date>/fuzz-0.log.
#
#   fuzz/run.sh open_stack 3600          # seconds (default 600)
#   fuzz/run.sh config 600 -runs=3000000  # extra libFuzzer flags after the seconds
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`), and the seed corpus
# (`/usr/bin/python3 fuzz/seed_corpus.py`). Builds with optimisations, debug assertions and
# overflow checks, AddressSanitizer (cargo fuzz's defaults with -O -a).
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?target: open_stack, open_stack_file or config}
secs=${2:-600}
shift $(( $# >= 2 ? 2 : 1 ))
case $target in
  open_stack|open_stack_file) dict=tiff.dict; max_len=65536; corpus=corpus/open_stack ;;
  config) dict=config.dict; max_len=8192; corpus=corpus/config ;;
  *) echo "unknown target $target" >&2; exit 2 ;;
esac
[ -d "$corpus" ] || /usr/bin/python3 seed_corpus.py
here=$(pwd)
# No allocation stacks in ASan reports and a small quarantine: about 30% more executions a
# second on this 2-core VM; reports still give the faulting access and its stack.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_odr_violation=0:malloc_context_size=0:quarantine_size_mb=8}
stamp=$(date +%Y%m%d-%H%M%S)
# With -jobs, libFuzzer writes the job's output to fuzz-0.log in its working directory: one
# directory per run, so runs of different targets can go side by side.
run_dir=logs/$target-$stamp
mkdir -p "$run_dir" "artifacts/$target"
log=$run_dir/fuzz-0.log
echo "log: fuzz/$log"
set +e
(cd "$run_dir" && nice -n 15 cargo +nightly fuzz run --fuzz-dir "$here" -O -a "$target" \
  "$here/$corpus" -- \
  -jobs=1 -workers=1 \
  -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
  -max_len=$max_len -dict="$here/$dict" -max_total_time="$secs" -print_final_stats=1 \
  "$@" > cargo.log 2>&1)
rc=$?
set -e
# open_stack_file's temp files (one per process id; run one open_stack_file at a time)
[ "$target" = open_stack_file ] && rm -f /dev/shm/migrascope-fuzz-*.tif
grep -E "^#[0-9]+[[:space:]]+DONE|stat::|ERROR|SUMMARY|Test unit written" "$log" ||
  tail -n 20 "$run_dir/cargo.log"
exit $rc
