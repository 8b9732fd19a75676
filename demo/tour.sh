#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
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
# demo sources' directory so that listings stay short. A demo is expected
# to exit 0, or with $expect when the call sets it (expect=1 show ...).
show() {
  local name=$1 what=$2 want=${expect:-0} rc=0
  shift 2
  echo
  echo "==> $name: $what"
  echo "\$ $name${*:+ $*}"
  (cd "$root/demo" && "$dir/$name" "$@") || rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "(tour: $name failed: exit status $rc, expected $want)"
    failed=$((failed + 1))
  fi
}

show ls_output "run a command and collect its output (Cmd.Output)" .
show ping_split "stdout and stderr apart; errors in Go's words" 127.0.0.1 2
show grep_stdin "feed a command its stdin from memory (Cmd.Stdin)"
show async_sleep "start a command, keep working on the loop, then its Wait" 4 1
show exec_replace "replace this process: LookPath, then Exec"
show stream_lines "output line by line as it is written, between timer ticks"
# Two of its jobs fail on purpose, so parallel exits 2 (the number of
# failed jobs, as GNU parallel does).
expect=2 show parallel "a job runner: demo/jobs.txt two at a time, each job reported as it ends" -j 2 jobs.txt
show control "a timeout, a graceful SIGTERM cancel, and a whole process group"
show terminal "drive sh -i on a terminal: prompt, typing, resize, ^D, while a timer ticks"
show pipeline "ls -la | grep '^d' | wc -l without a shell; every member's status" .
show procfile "a Procfile runner: each process once the one before is ready, a crash restarted, a stop in reverse order" -t 1.5 Procfile
show measure "a contained run's usage: the orphan's CPU is the tree's, not the command's; limits on memory and processes" --memory 64M --pids 64 -- sh -c 'echo hello; (yes >/dev/null &); sleep 0.3'
show sandbox "a command with no network, its own pids, and one directory to write: what it could and could not do"

# The editor demo needs a terminal: it gets one of its own from script(1),
# whose carriage returns are taken out, and a scripted $EDITOR.
echo
echo "==> editor: \$EDITOR in the terminal's foreground while the loop ticks; the terminal back as it was"
echo "\$ EDITOR=./scripted_editor.sh editor"
if command -v script >/dev/null 2>&1; then
  rc=0
  (cd "$root/demo" && EDITOR=./scripted_editor.sh \
    script -qec "$dir/editor" /dev/null </dev/null | tr -d '\r'
    exit "${PIPESTATUS[0]}") || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "(tour: editor failed: exit status $rc, expected 0)"
    failed=$((failed + 1))
  fi
else
  echo "(tour: editor not shown: script(1), from util-linux, is not installed)"
fi

echo
if [ "$failed" -eq 0 ]; then
  echo "==> tour done: every demo ran"
else
  echo "==> tour done: $failed demo(s) failed"
fi
exit "$failed"
