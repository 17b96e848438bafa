#!/usr/bin/env bash
# Runs every test group (tests/t_*.sh), or the ones named on the command line.
# Prints one line per group and a summary; exits non-zero when any group failed.
set -u
cd "$(dirname "$0")/.."
: "${BUILD:=$PWD/build}"
export BUILD
groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(tests/t_*.sh)
pass=0 fail=0 skip=0 failed=()
logdir=$BUILD/test-logs
mkdir -p "$logdir"
for t in "${groups[@]}"; do
	[ -f "$t" ] || t=tests/t_$t.sh
	name=$(basename "$t" .sh)
	start=$(date +%s)
	# a group that hangs fails alone, never the whole run (GROUP_TIMEOUT seconds): long
	# enough for t_jobs on a busy machine (its 74 traced jobs take 13 min at rest; beside
	# ../shared/tools/busy 1500 --disk 42 of them took 25 min, every one passed)
	timeout -k 10 "${GROUP_TIMEOUT:-3600}" bash "$t" >"$logdir/$name.log" 2>&1
	rc=$?
	[ $rc -eq 124 ] && echo "FAIL: the group did not end within ${GROUP_TIMEOUT:-3600} s" >>"$logdir/$name.log"
	secs=$(( $(date +%s) - start ))
	case $rc in
	0) pass=$((pass + 1)); printf 'PASS  %-28s %4ss\n' "$name" "$secs" ;;
	77) skip=$((skip + 1)); printf 'SKIP  %-28s %4ss  %s\n' "$name" "$secs" "$(tail -n 1 "$logdir/$name.log")" ;;
	*) fail=$((fail + 1)); failed+=("$name")
	   printf 'FAIL  %-28s %4ss  (log: %s)\n' "$name" "$secs" "$logdir/$name.log"
	   # what failed first and what was traced again (a CI log may keep only its head
	   # and tail), then the end
	   grep -m 12 -E '^(FAIL|BAD|RETRY)' "$logdir/$name.log" | sed 's/^/      ! /'
	   tail -n 25 "$logdir/$name.log" | sed 's/^/      | /' ;;
	esac
done
printf '%d passed, %d failed, %d skipped\n' "$pass" "$fail" "$skip"
[ "$fail" -eq 0 ]
