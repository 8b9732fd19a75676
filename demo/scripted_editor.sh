#!/bin/sh
# SPDX-License-Identifier: MIT
# An editor for the tour and the smoke test, which cannot wait for a
# person: it appends one line to the file it is given, saying whether it
# ran in the terminal's foreground (its process group is the terminal's,
# from /proc), turns echo and line editing off as a real editor does, and
# leaves them off: putting them back is the caller's work. It takes a
# moment, as a person would, so that the caller's loop is seen ticking.
#
#   EDITOR=demo/scripted_editor.sh editor
set -eu
file=$1
# /proc/PID/stat: pid (comm) state ppid pgrp session tty_nr tpgid ...
set -- $(cat /proc/$$/stat)
if [ "$5" = "$8" ]; then
  where="in the terminal's foreground"
else
  where="in the background (process group $5, the terminal's is $8)"
fi
stty -echo -icanon
sleep 0.3
echo "written by a scripted editor $where" >>"$file"
