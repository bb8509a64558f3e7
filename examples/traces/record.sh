#!/bin/sh
# Re-records the shell's demo trace (what `npm start` replays when live tracing is not
# permitted) on the running kernel, as root: ten seconds of wakeups and switches
# while a task sleeps 5 ms in a loop and another one walks /usr/share now and then, so that
# examples/wakeup.lt (the demo's tracker) and offcpu.lt have something to show.
# Run from the repository root: sh examples/traces/record.sh
set -eu
ltsh() { node bin/ltsh.js "$@"; }
ltsh record -o /tmp/ltsh-demo.txt --for 10s --buffer 128MiB \
  --events sched:sched_wakeup,sched:sched_switch \
  -- sh -c 'for i in $(seq 5); do ls -R /usr/share > /dev/null; sleep 1; done & for i in $(seq 1000); do sleep 0.005; done; wait'
# Only the workload's own scheduling (its wakeups and its switches in and out):
# ten seconds of the demo that stay small in the repository.
grep -E '^#|comm=(sleep|ls|sh) |^ *(sleep|ls|sh)-[0-9]' /tmp/ltsh-demo.txt | gzip -9 > examples/traces/demo.txt.gz
rm -f /tmp/ltsh-demo.txt
