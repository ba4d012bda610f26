#!/usr/bin/env bash
# Runs every libFuzzer harness for SECONDS each (default 60), two at a time, on seed corpora
# made from Schemas/examples, the Synthea fixture and recorded server answers. Prints each
# harness's executions and whether it crashed; a crash leaves its input in
# .build/fuzz/crashes/HARNESS/ (turn it into a regression test in the suite).
#
#     Tests/run-fuzzers.sh 60            # all harnesses, 60 s each
#     Tests/run-fuzzers.sh 30 json http  # some of them
#     RUNS=10000000 Tests/run-fuzzers.sh 1800   # ten million executions each (at most 30 min)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=(json stream encounter panic bundle http answer)

runtime="$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")"
runtime="$(ls "$runtime"/lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a | head -1)"
[ -f "$runtime" ] || { echo "libclang_rt.fuzzer_no_main-x86_64.a not found in the toolchain" >&2; exit 1; }

# Coverage and AddressSanitizer on every module; -enable-testing so harnesses reach the stages.
export SEHAT_FUZZ_RUNTIME="$runtime"
swift build -c release --build-path .build/fuzz-build --product sehat-fuzz \
    -Xswiftc -enable-testing -Xswiftc -sanitize=address \
    -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table >&2
binary=.build/fuzz-build/release/sehat-fuzz

work=.build/fuzz
seeds=Tests/FuzzSeeds
fixture=../shared/fixtures/synthea-sample-patient.json
mkdir -p "$work"
for h in "${harnesses[@]}"; do
    mkdir -p "$work/corpus/$h" "$work/crashes/$h"
    # Seeds: the schema examples, the Synthea bundle, and the recorded answers and requests.
    case "$h" in
        json|stream|bundle) cp Schemas/examples/*.json "$work/corpus/$h/"; [ -f "$fixture" ] && cp "$fixture" "$work/corpus/$h/synthea.json" ;;
        encounter) cp Schemas/examples/encounter.json "$work/corpus/$h/" ;;
        panic) cp Schemas/examples/panic.json "$work/corpus/$h/" ;;
    esac
    [ -d "$seeds/$h" ] && cp "$seeds/$h"/* "$work/corpus/$h/"
done

export SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1
status=0
run() {
    local h="$1"
    local log="$work/$h.log"
    # -max_len: small inputs run ~100× faster and reach the same code; the size limits
    # themselves are tested in the suite (InputLimitsTests, HostileInputCLITests).
    local max_len=4096
    [ "$h" = bundle ] && max_len=16384
    if "$binary" "$h" "$work/corpus/$h" -max_total_time="$seconds" -runs="${RUNS:--1}" -max_len="$max_len" -rss_limit_mb=2048 \
        -artifact_prefix="$work/crashes/$h/" -print_final_stats=1 >"$log" 2>&1; then
        result=ok
    else
        result=CRASH
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    took=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' || echo "$seconds")
    printf '%-10s %-6s %12s executions in %s s\n' "$h" "$result" "$runs" "$took"
    [ "$result" = ok ]
}
pending=("${harnesses[@]}")
while [ ${#pending[@]} -gt 0 ]; do
    pids=()
    for h in "${pending[@]:0:2}"; do run "$h" & pids+=($!); done
    for pid in "${pids[@]}"; do wait "$pid" || status=1; done
    pending=("${pending[@]:2}")
done
exit $status
