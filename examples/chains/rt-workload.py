# The real-time workload of timer.txt.gz: a SCHED_FIFO thread named rt-sleeper sleeping
# 1 ms, 300 times. Recorded (as root) with:
#   ltsh record -o timer.txt --for-file examples/chains/timer.lt -- python3 examples/chains/rt-workload.py
# then cut around the workload and gzipped (see timer.lt).
import ctypes
import os
import time

ctypes.CDLL(None).prctl(15, b"rt-sleeper", 0, 0, 0)
os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))
for _ in range(300):
    time.sleep(0.001)
