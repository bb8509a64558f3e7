# Wakeup pairing of ftrace text, written independently of ltsh as its yardstick (bench/replay.ts)
# and cross-check (test/replay/fixtures.test.ts): sched_wakeup pid= → sched_switch next_pid=,
# keep the first begin, a hit when latency > threshold ns (-v threshold=200000); as
# examples/wakeup.lt, a switch-out (prev_pid=) forgets its task's pending wakeup, after the
# switch-in's pairing (-v cancel=0 turns that off).
# Prints "hit <begin ns> <end ns> <pid> <latency ns>" per hit, then
# "pairs N hits M pending P cancelled C".
{
  if (!match($0, /[0-9]+\.[0-9]+: /)) next
  stamp = substr($0, RSTART, RLENGTH - 2)
  dot = index(stamp, ".")
  frac = substr(stamp, dot + 1)
  ns = substr(stamp, 1, dot - 1) * 1000000000 + substr(frac "000000000", 1, 9)
  rest = substr($0, RSTART + RLENGTH)
  if (substr(rest, 1, 14) == "sched_wakeup: ") {
    if (match(rest, / pid=[0-9]+/)) {
      pid = substr(rest, RSTART + 5, RLENGTH - 5)
      if (!(pid in begin)) { begin[pid] = ns; pending++ }
    }
  } else if (substr(rest, 1, 14) == "sched_switch: ") {
    if (match(rest, /next_pid=[0-9]+/)) {
      pid = substr(rest, RSTART + 9, RLENGTH - 9)
      if (pid in begin) {
        latency = ns - begin[pid]
        pairs++
        pending--
        if (latency > threshold) { hits++; printf "hit %.0f %.0f %s %.0f\n", begin[pid], ns, pid, latency }
        delete begin[pid]
      }
    }
    if (cancel != "0" && match(rest, /prev_pid=[0-9]+/)) {
      pid = substr(rest, RSTART + 9, RLENGTH - 9)
      if (pid in begin) { delete begin[pid]; pending--; cancelled++ }
    }
  }
}
END { printf "pairs %d hits %d pending %d cancelled %d\n", pairs, hits, pending, cancelled }
