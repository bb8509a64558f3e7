// SPDX-License-Identifier: GPL-2.0
/*
 * The user-space shim's state: the calling thread's CPU number
 * and task, and the monotonic clock.
 */
#include <time.h>
#include "lt_shim.h"

__thread int lt_shim_cpu;
__thread struct task_struct lt_shim_task = { 1, 1, "lt_test" };

static const char *lt_shim_race_at;
static void (*lt_shim_race_hook)(void);

/* The next time the race point @name is reached, @hook runs there once. */
void lt_shim_race_arm(const char *name, void (*hook)(void))
{
	lt_shim_race_at = name;
	lt_shim_race_hook = hook;
}

/* Runs the armed hook once, not recursively (like one nested NMI). */
void lt_shim_race_point(const char *name)
{
	void (*hook)(void) = lt_shim_race_hook;

	if (!hook || strcmp(name, lt_shim_race_at))
		return;
	lt_shim_race_hook = NULL;
	hook();
}

u64 ktime_get_mono_fast_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}
