#!/usr/bin/env bash
# A tour of uvexec's demos: each program once, with short arguments, under a
# heading that says what it shows. About ten seconds in all.
#
#   demo/tour.sh [DIR]     DIR holds the built demos; default:
#                          $UVEXEC_DEMO_DIR, else build/demo in the repository
#
# `make demo` builds everything and runs this. A demo that fails is
# reported, the tour goes on, and the exit status counts the failures.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-${UVEXEC_DEMO_DIR:-$root/build/demo}}

if [ ! -x "$dir/ls_output" ]; then
  echo "tour: no demos in $dir; build first (make, or cmake --build)" >&2
  exit 1
fi
dir=$(cd "$dir" && pwd)

failed=0

# show NAME DESCRIPTION [ARGS...] runs one demo under its heading, from the
# demo sources' directory so that listings stay short.
show() {
  local name=$1 what=$2
  shift 2
  echo
  echo "==> $name: $what"
  echo "\$ $name${*:+ $*}"
  if ! (cd "$root/demo" && "$dir/$name" "$@"); then
    echo "(tour: $name failed)"
    failed=$((failed + 1))
  fi
}

show ls_output "run a command and collect its output (Cmd.Output)" .
show ping_split "stdout and stderr apart; errors in Go's words" 127.0.0.1 2
show grep_stdin "feed a command its stdin from memory (Cmd.Stdin)"
show async_sleep "start a command, keep working on the loop, then its Wait" 4 1
show exec_replace "replace this process: LookPath, then Exec"
show stream_lines "output line by line as it is written, between timer ticks"
show parallel "several commands at once on one loop, each reported as it ends"
show control "a timeout, a graceful SIGTERM cancel, and a whole process group"
show terminal "drive sh -i on a terminal: prompt, typing, resize, ^D, while a timer ticks"

echo
if [ "$failed" -eq 0 ]; then
  echo "==> tour done: every demo ran"
else
  echo "==> tour done: $failed demo(s) failed"
fi
exit "$failed"
