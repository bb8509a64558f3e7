// SPDX-License-Identifier: GPL-2.0
/*
 * The user-space shim's state: the calling thread's CPU number
 * and task, and the monotonic clock.
 */
#include <time.h>
#include "lt_shim.h"

__thread int lt_shim_cpu;
__thread struct task_struct lt_shim_task = { 1, 1, "lt_test" };

u64 ktime_get_mono_fast_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}
