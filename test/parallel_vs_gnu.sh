#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# demo/parallel against GNU parallel: the same job files under --halt and
# --retries, one job at a time and two at a time, compared on which jobs ran and how often
# (each try appends its job's number to a file, so the file is the order
# of the tries), each job's exit code, and the runner's own exit status.
#
#   test/parallel_vs_gnu.sh DEMO       DEMO: the built demo/parallel
#
# Exits 77 (ctest: not run) when GNU parallel is not installed; Debian's
# package is `parallel`, which `make test` and CI install.
set -u

demo=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
gnu=/usr/bin/parallel
if [ ! -x "$gnu" ] || ! "$gnu" --version 2>/dev/null | grep -q '^GNU parallel'; then
  echo "parallel_vs_gnu: GNU parallel is not installed (apt-get install parallel): not run"
  exit 77
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Job 3 fails on its first try only; jobs 2 and 5 always fail.
cat >"$work/jobs" <<'JOBS'
sh -c 'echo 1 >>tries'
sh -c 'echo 2 >>tries; exit 3'
sh -c 'echo 3 >>tries; [ "$(grep -c "^3$" tries)" -ge 2 ]'
sh -c 'echo 4 >>tries'
sh -c 'echo 5 >>tries; exit 5'
sh -c 'echo 6 >>tries'
JOBS

failed=0
cases=0

# compare ARGS...: runs both runners with ARGS on the job file, each in a
# directory of its own, and compares what they did.
compare() {
  local name="$*" g="$work/gnu" u="$work/uvexec" grc urc
  rm -rf "$g" "$u"
  mkdir "$g" "$u"
  cases=$((cases + 1))

  (cd "$g" && "$gnu" --will-cite -j1 "$@" --joblog joblog <../jobs \
     >stdout 2>stderr)
  grc=$?
  (cd "$u" && "$demo" -j1 "$@" ../jobs >stdout 2>stderr)
  urc=$?

  # Each job that ran, and its exit code: "seq exitval", by job.
  tail -n +2 "$g/joblog" | awk -F'\t' '{ print $1, $7 }' | sort -n >"$g/codes"
  sed -nE 's/^\[ *[0-9.]+ s\] (ok|FAILED) +#([0-9]+) .*/\1 \2 &/p' "$u/stdout" |
    awk '{ code = 0
           if ($1 == "FAILED") { n = split($0, w, "exit status "); code = (n > 1) ? w[n] + 0 : -1 }
           print $2, code }' | sort -n >"$u/codes"

  local ok=1
  if ! cmp -s "$g/tries" "$u/tries"; then
    echo "  tries differ: GNU $(tr '\n' ' ' <"$g/tries")| uvexec $(tr '\n' ' ' <"$u/tries")"
    ok=0
  fi
  if ! cmp -s "$g/codes" "$u/codes"; then
    echo "  exit codes differ: GNU $(tr '\n' ',' <"$g/codes") uvexec $(tr '\n' ',' <"$u/codes")"
    ok=0
  fi
  if [ "$grc" != "$urc" ]; then
    echo "  runner exit status differs: GNU $grc, uvexec $urc"
    ok=0
  fi
  if [ $ok = 1 ]; then
    echo "same:   ${name:-(no options)}: tries $(tr '\n' ' ' <"$u/tries")| codes $(tr '\n' ',' <"$u/codes") exit $urc"
  else
    echo "DIFFER: ${name:-(no options)}"
    sed 's/^/    uvexec: /' "$u/stdout" "$u/stderr"
    failed=$((failed + 1))
  fi
}

compare
compare --halt soon,fail=1
compare --halt soon,fail=2
compare --halt now,fail=2
compare --halt soon,fail=3
compare --retries 1
compare --retries 2
compare --retries 3
compare --retries 2 --halt soon,fail=2
compare --retries 3 --halt now,fail=1

# Two at a time: job 1 outlives the failures of 2 and 4, so --halt now
# kills it (GNU parallel neither counts nor logs a job killed so) and
# --halt soon lets it end. Compared on each job's exit code and the exit
# status; the order of the tries depends on timing here, so the tries
# are compared as a set.
cat >"$work/jobs2" <<'JOBS'
sh -c 'echo 1 >>tries; sleep 1'
sh -c 'echo 2 >>tries; sleep 0.2; exit 3'
sh -c 'echo 3 >>tries; sleep 0.1'
sh -c 'echo 4 >>tries; exit 4'
JOBS
compare2() {
  local name="-j2 $*" g="$work/gnu" u="$work/uvexec" grc urc ok=1
  rm -rf "$g" "$u"
  mkdir "$g" "$u"
  cases=$((cases + 1))
  (cd "$g" && "$gnu" --will-cite -j2 "$@" --joblog joblog <../jobs2 \
     >stdout 2>stderr)
  grc=$?
  (cd "$u" && "$demo" -j2 "$@" ../jobs2 >stdout 2>stderr)
  urc=$?
  tail -n +2 "$g/joblog" | awk -F'\t' '{ print $1, $7 }' | sort -n >"$g/codes"
  sed -nE 's/^\[ *[0-9.]+ s\] (ok|FAILED) +#([0-9]+) .*/\1 \2 &/p' "$u/stdout" |
    grep -v ': context canceled$' |
    awk '{ code = 0
           if ($1 == "FAILED") { n = split($0, w, "exit status "); code = (n > 1) ? w[n] + 0 : -1 }
           print $2, code }' | sort -n >"$u/codes"
  if [ "$(sort "$g/tries" | tr '\n' ' ')" != "$(sort "$u/tries" | tr '\n' ' ')" ]; then
    echo "  tries differ: GNU $(sort "$g/tries" | tr '\n' ' ')| uvexec $(sort "$u/tries" | tr '\n' ' ')"
    ok=0
  fi
  if ! cmp -s "$g/codes" "$u/codes"; then
    echo "  exit codes differ: GNU $(tr '\n' ',' <"$g/codes") uvexec $(tr '\n' ',' <"$u/codes")"
    ok=0
  fi
  if [ "$grc" != "$urc" ]; then
    echo "  runner exit status differs: GNU $grc, uvexec $urc"
    ok=0
  fi
  if [ $ok = 1 ]; then
    echo "same:   $name: codes $(tr '\n' ',' <"$u/codes") exit $urc"
  else
    echo "DIFFER: $name"
    sed 's/^/    uvexec: /' "$u/stdout" "$u/stderr"
    failed=$((failed + 1))
  fi
}

compare2 --halt now,fail=2
compare2 --halt soon,fail=2
compare2 --halt now,fail=1

echo "parallel_vs_gnu: $((cases - failed)) of $cases cases the same"
[ "$failed" -eq 0 ]
