# SPDX-License-Identifier: MIT
# Smoke tests for the demos: each runs once with short arguments, and its
# output must show that it did what it is there to show. Included from
# demo/CMakeLists.txt when tests are built; the demo targets are
# demo-<name>. Every demo is done in well under 5 s.
#
# Note that with PASS_REGULAR_EXPRESSION ctest judges by the output alone,
# not the exit code; the patterns are written so that an error path cannot
# match them by accident. A sanitizer report (make asan) fails any of them.

function(uvexec_demo_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "ARGS;PASS;SKIP")
  add_test(NAME demo.${name}
    COMMAND $<TARGET_FILE:demo-${name}> ${arg_ARGS}
    WORKING_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}")
  set_tests_properties(demo.${name} PROPERTIES
    PASS_REGULAR_EXPRESSION "${arg_PASS}"
    FAIL_REGULAR_EXPRESSION "Sanitizer|runtime error:"
    TIMEOUT 30
    LABELS demo)
  # SKIP: output that says the machine cannot show it (ctest reports the
  # test as not run, never as passed).
  if(arg_SKIP)
    set_tests_properties(demo.${name} PROPERTIES
      SKIP_REGULAR_EXPRESSION "${arg_SKIP}")
  endif()
endfunction()

# The listing of this very directory, which holds ls_output.c.
uvexec_demo_test(ls_output
  ARGS "${CMAKE_CURRENT_SOURCE_DIR}"
  PASS "^Command output:\ntotal [0-9]+\n.* ls_output\\.c\n")

# Either ping ran (and its summary went to stdout), or the failure was
# reported with its message and what ping wrote on stderr: ping may be
# missing, or not allowed to open its socket.
uvexec_demo_test(ping_split
  ARGS 127.0.0.1 1
  PASS "^Command output:\n.*1 packets transmitted"
       "^Error: [^\n]+ \\((ENOENT|EACCES|UVEXEC_EEXIT|UVEXEC_ESIGNALED)\\)\nStderr: ")

# Only the matching line comes back.
uvexec_demo_test(grep_stdin
  PASS "^grep found: hello world\n$")

# The timer ticked (0.2 s) while the 1 s sleep ran, and then stopped.
uvexec_demo_test(async_sleep
  ARGS 1 0.2
  PASS "^started `sleep 1` in the background, pid [0-9]+\nprogram keeps working\\.\\.\\. 1 .*program keeps working\\.\\.\\. 4 .*process finished successfully after [0-9.]+ s\n$")

# The line printed before the exec, then ls's own output in the same
# process and on the same stdout.
uvexec_demo_test(exec_replace
  PASS "^found ls at /[^\n]+; pid [0-9]+ becomes it now\ntotal [0-9]+\n")

# Lines arrive while the command runs: timer ticks come between them.
uvexec_demo_test(stream_lines
  PASS "stdout \\| line 1\n.*tick 1\n.*stdout \\| line 5\n.*done: success\n$")

# The job runner on demo/jobs.txt, two at a time: one line per job as it
# ends (its output indented below; the order past the first depends on
# timing), then the summary naming each failure.
uvexec_demo_test(parallel
  ARGS -j 2 "${CMAKE_CURRENT_SOURCE_DIR}/jobs.txt"
  PASS "ok +#1 echo 'hello from the first job'\n    hello from the first job\n.*FAILED +#3 sh -c 'echo about to fail >&2; exit 3': exit status 3\n    about to fail\n.*\nsummary: 6 jobs: 4 succeeded, 2 failed, 0 skipped, in [0-9.]+ s\n  failed #3: [^\n]*: exit status 3\n  failed #5: nosuch-program --with 'two words': exec: \"nosuch-program\": executable file not found in \\$PATH\n$")

# One at a time with --halt soon: the jobs in order, and the failure of
# job 3 skips 4, 5 and 6.
add_test(NAME demo.parallel.halt
  COMMAND $<TARGET_FILE:demo-parallel> -j 1 --halt soon
          "${CMAKE_CURRENT_SOURCE_DIR}/jobs.txt")
set_tests_properties(demo.parallel.halt PROPERTIES
  PASS_REGULAR_EXPRESSION "ok +#1 [^\n]*\n    hello from the first job\n[^\n]* ok +#2 [^\n]*\n    the slow job is done\n[^\n]* FAILED +#3 [^\n]*: exit status 3\n    about to fail\n[^\n]* skipped #4 uname -s\n[^\n]* skipped #5 [^\n]*\n[^\n]* skipped #6 [^\n]*\n\nsummary: 6 jobs: 2 succeeded, 1 failed, 3 skipped, in [0-9.]+ s\n  failed #3: [^\n]*\n$"
  FAIL_REGULAR_EXPRESSION "Sanitizer|runtime error:"
  TIMEOUT 30
  LABELS demo)

# The timeout, the graceful stop, the process group (which the setsid
# sleep escapes) and the contained tree (which nothing escapes). Where no
# cgroup v2 directory can be written, the contained step says so and the
# test is not counted as passed.
uvexec_demo_test(control
  PASS "1\\. .*done: ETIMEDOUT, .*signal 9.*2\\. .*stdout \\| got TERM\n.*done: ECANCELED, .* exited with code 0\n.*3a\\. [^\n]*\n[^\n]*done: ETIMEDOUT[^\n]*\n  background sleeps still running: 2 of 2\n.*3b\\. [^\n]*\n[^\n]*done: ETIMEDOUT[^\n]*\n  background sleeps still running: 1 of 2\n.*3c\\. [^\n]*\n[^\n]*done: ETIMEDOUT[^\n]*\n  background sleeps still running: 0 of 2\n"
  SKIP "3c\\. [^\n]*\n  could not start")

# The shell's prompt came back after each command, `stty size` followed the
# resize, ticks came in between, and end of input ended the shell.
uvexec_demo_test(terminal
  PASS "tick 1\n.*typing: stty size\n  term \\| demo\\$ stty size\n  term \\| 24 80\n.*tick .*resize to 40 rows, 120 columns: success\n.*term \\| 40 120\n.*term \\| 42\n.*end of input .*done: success\n$")
# The directories counted through three programs (this directory has two
# entries that are directories: . and ..), the failing pipeline's report
# naming both failed members, and yes | head succeeding.
uvexec_demo_test(pipeline
  ARGS "${CMAKE_CURRENT_SOURCE_DIR}"
  PASS "^1\\. [^\n]*\n  directories \\(with \\. and \\.\\.\\): [0-9]+\n.*=> pipeline: 1 \"cat /nonexistent/file\": exit status 1; 2 \"grep x\": exit status 1 \\(UVEXEC_EPIPELINE\\)\n.*3\\. yes \\| head -n 1\n  output: y\n  1  yes +exit -1 signal 13 [^\n]*\n  2  head -n 1 +exit 0\n  => success\n$")

# $EDITOR from a program on a loop: run on a terminal of its own
# (script(1), from util-linux), with the scripted editor, which writes
# whether it had the terminal's foreground and sets the terminal raw. The
# loop ticked meanwhile, and the terminal came back with its modes.
find_program(UVEXEC_SCRIPT_PROGRAM script)
if(UVEXEC_SCRIPT_PROGRAM)
  add_test(NAME demo.editor
    COMMAND ${CMAKE_COMMAND} -E env
            "EDITOR=${CMAKE_CURRENT_SOURCE_DIR}/scripted_editor.sh"
            ${UVEXEC_SCRIPT_PROGRAM} -qec $<TARGET_FILE:demo-editor> /dev/null
    WORKING_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}")
  set_tests_properties(demo.editor PROPERTIES
    PASS_REGULAR_EXPRESSION "in the terminal's foreground\r?\nthe editor ran [0-9.]+ s: success; the loop ticked [1-9][0-9]* times? meanwhile\r?\nthe terminal's foreground is ours again; its modes are as they were\r?\nthe file now reads:\r?\n  written by a scripted editor in the terminal's foreground\r?\n"
    FAIL_REGULAR_EXPRESSION "Sanitizer|runtime error:"
    TIMEOUT 30
    LABELS demo)
else()
  # Registered all the same, so that the missing tool shows as not run.
  add_test(NAME demo.editor
    COMMAND ${CMAKE_COMMAND} -E echo "demo.editor: script(1) is not installed (util-linux)")
  set_tests_properties(demo.editor PROPERTIES
    SKIP_REGULAR_EXPRESSION "is not installed" LABELS demo)
endif()

# demo/parallel against GNU parallel on the same job files, under --halt
# and --retries: the same tries in the same order, the same exit codes,
# the same exit status (test/parallel_vs_gnu.sh). Not run without GNU
# parallel (Debian: parallel).
add_test(NAME demo.parallel.vs_gnu
  COMMAND bash "${PROJECT_SOURCE_DIR}/test/parallel_vs_gnu.sh"
          $<TARGET_FILE:demo-parallel>)
set_tests_properties(demo.parallel.vs_gnu PROPERTIES
  FAIL_REGULAR_EXPRESSION "Sanitizer|runtime error:|DIFFER"
  SKIP_RETURN_CODE 77
  TIMEOUT 120
  LABELS demo)

# The Procfile runner on demo/Procfile for 1.5 s: db is ready (its line)
# before api starts, api is ready (its fd) before web starts, the worker
# that crashes is restarted, and the stop goes in reverse order.
uvexec_demo_test(procfile
  ARGS -t 1.5 "${CMAKE_CURRENT_SOURCE_DIR}/Procfile"
  PASS "db: started[^\n]*\n.*db: ready\n.*api: started.*api: ready\n.*web: started.*worker: restarting in [0-9]+ ms\n.*worker: started.*time is up: stopping everything, in reverse order\n.*worker: stopped\n.*web: stopped\n.*api: stopped\n.*db: stopped\n\nsummary: 4 processes, [0-9.]+ s\n  db +0 restarts\n  api +0 restarts\n  web +0 restarts\n  worker +[1-9][0-9]* restarts?\n$")

# measure: an orphan's CPU, which the command never waited for, is the
# tree's and not the command's; and a 200 MiB allocation under 64 MiB is
# OOM-killed and reported as such. Not run where no cgroup can be had
# for it (the start error says so).
uvexec_demo_test(measure
  ARGS --memory 64M --pids 64 -- sh -c "echo hello; (yes >/dev/null &); sleep 0.3"
  PASS "^hello\n--\nFinished: success\nWall time: 0\\.[3-9][0-9]*s\nCPU time consumed: 0\\.0[0-9]*s \\(the command\\), 0\\.[1-9][0-9]*s \\(its whole tree\\)\nMemory peak: [0-9.]+M \\(largest process\\), [0-9.]+M \\(its whole tree\\)\nOOM kills: 0\n"
  SKIP "could not start")
add_test(NAME demo.measure.oom
  COMMAND $<TARGET_FILE:demo-measure> --memory 64M --meta --
          $<TARGET_FILE:uvexec-test-helper> alloc 200)
set_tests_properties(demo.measure.oom PROPERTIES
  PASS_REGULAR_EXPRESSION "\ncg-mem:[0-9]+\ncg-oom-killed:[1-9][0-9]*\nexitsig:9\nkilled:1\nmessage:killed: out of memory \\(limit 67108864 bytes\\)\n$"
  SKIP_REGULAR_EXPRESSION "could not start"
  FAIL_REGULAR_EXPRESSION "Sanitizer|runtime error:"
  TIMEOUT 30
  LABELS demo)

# The sandbox: pid 1 of its own pids, seeing only its own few processes
# and only a loopback, writing in its directory and nowhere else. Not
# run where the kernel has no Landlock (or, not as root, no user
# namespaces): the demo says so.
uvexec_demo_test(sandbox
  PASS "^running it with no network, its own pids, and write access to a new temporary directory only\nI am pid 1 and I see [1-9] processes\nnetwork interfaces: lo \nwrote a note in its directory\ncould not write /tmp/uvexec-sandbox-escape\ncould not list /root\nit ended: success\nseen from outside: the note is there; /tmp/uvexec-sandbox-escape does not exist\n$"
  SKIP "cannot be had here")
