/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just enough of the kernel API for the runtime's core files
 * (lt_pool.c, lt_table.c, lt_tracker.c, lt_ring.c) to compile and run in
 * user space for the stress and model tests: atomics via GCC __atomic
 * builtins (kernel ordering: RMW ops that return values and cmpxchg are
 * fully ordered), per-CPU data as an array indexed by a per-thread CPU
 * number, time from clock_gettime(CLOCK_MONOTONIC). The fake <linux/...>
 * headers next to it all include this file.
 */
#ifndef LT_SHIM_H
#define LT_SHIM_H

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;

#ifndef KBUILD_MODNAME
#define KBUILD_MODNAME "lt_user"
#endif

#define U64_MAX UINT64_MAX
#define U32_MAX UINT32_MAX
#define __percpu
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define max(a, b) ((a) > (b) ? (a) : (b))
#define min(a, b) ((a) < (b) ? (a) : (b))

#define pr_warn(fmt, ...) fprintf(stderr, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_err(fmt, ...) fprintf(stderr, pr_fmt(fmt), ##__VA_ARGS__)

/* errors */
#define MAX_ERRNO 4095
static inline void *ERR_PTR(long error) { return (void *)error; }
static inline long PTR_ERR(const void *ptr) { return (long)ptr; }
static inline bool IS_ERR(const void *ptr)
{
	return (unsigned long)ptr >= (unsigned long)-MAX_ERRNO;
}
static inline bool IS_ERR_OR_NULL(const void *ptr) { return !ptr || IS_ERR(ptr); }

/* memory */
#define GFP_KERNEL 0
static inline void *kzalloc(size_t size, int gfp) { (void)gfp; return calloc(1, size); }
static inline void *kvcalloc(size_t n, size_t size, int gfp) { (void)gfp; return calloc(n, size); }
static inline void kfree(const void *p) { free((void *)p); }
static inline void kvfree(const void *p) { free((void *)p); }
static inline size_t strscpy(char *dst, const char *src, size_t size)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
	return n;
}

/* bits */
static inline int fls64(u64 x) { return x ? 64 - __builtin_clzll(x) : 0; }
static inline u32 roundup_pow_of_two(u32 n)
{
	return n <= 1 ? 1 : 1U << (32 - __builtin_clz(n - 1));
}

/*
 * Atomics with the kernel's ordering: value-returning RMW and successful
 * cmpxchg are fully ordered (a failed one is an acquire load here).
 */
#define READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)	/* full */
#define smp_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)	/* loads */
#define smp_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)	/* stores */

typedef struct { s64 counter; } atomic64_t;
typedef struct { int counter; } atomic_t;

static inline s64 atomic64_read(const atomic64_t *v)
{
	return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);
}

static inline s64 atomic64_read_acquire(const atomic64_t *v)
{
	return __atomic_load_n(&v->counter, __ATOMIC_ACQUIRE);
}

static inline void atomic64_set(atomic64_t *v, s64 i)
{
	__atomic_store_n(&v->counter, i, __ATOMIC_RELAXED);
}

static inline void atomic64_set_release(atomic64_t *v, s64 i)
{
	__atomic_store_n(&v->counter, i, __ATOMIC_RELEASE);
}

static inline void atomic64_add(s64 i, atomic64_t *v)
{
	__atomic_fetch_add(&v->counter, i, __ATOMIC_RELAXED);
}

static inline void atomic64_inc(atomic64_t *v)
{
	atomic64_add(1, v);
}

static inline void atomic64_dec(atomic64_t *v)
{
	atomic64_add(-1, v);
}

static inline s64 atomic64_add_return(s64 i, atomic64_t *v)
{
	return __atomic_add_fetch(&v->counter, i, __ATOMIC_SEQ_CST);
}

static inline bool atomic64_try_cmpxchg(atomic64_t *v, s64 *old, s64 new)
{
	return __atomic_compare_exchange_n(&v->counter, old, new, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE);
}

static inline int atomic_read(const atomic_t *v)
{
	return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);
}

static inline int atomic_read_acquire(const atomic_t *v)
{
	return __atomic_load_n(&v->counter, __ATOMIC_ACQUIRE);
}

static inline void atomic_set(atomic_t *v, int i)
{
	__atomic_store_n(&v->counter, i, __ATOMIC_RELAXED);
}

static inline void atomic_set_release(atomic_t *v, int i)
{
	__atomic_store_n(&v->counter, i, __ATOMIC_RELEASE);
}

static inline void atomic_add(int i, atomic_t *v)
{
	__atomic_fetch_add(&v->counter, i, __ATOMIC_RELAXED);
}

static inline void atomic_inc(atomic_t *v)
{
	atomic_add(1, v);
}

static inline void atomic_dec(atomic_t *v)
{
	atomic_add(-1, v);
}

static inline int atomic_add_return(int i, atomic_t *v)
{
	return __atomic_add_fetch(&v->counter, i, __ATOMIC_SEQ_CST);
}

static inline bool atomic_try_cmpxchg(atomic_t *v, int *old, int new)
{
	return __atomic_compare_exchange_n(&v->counter, old, new, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE);
}

/* per-CPU data: LT_SHIM_CPUS slots; lt_shim_set_cpu() picks a thread's */
#define LT_SHIM_CPUS 8
extern __thread int lt_shim_cpu;
#define nr_cpu_ids LT_SHIM_CPUS
#define for_each_possible_cpu(cpu) for ((cpu) = 0; (cpu) < LT_SHIM_CPUS; (cpu)++)
#define alloc_percpu(type) ((type *)calloc(LT_SHIM_CPUS, sizeof(type)))
#define free_percpu(p) free(p)
#define per_cpu_ptr(p, cpu) (&(p)[(cpu)])
#define raw_cpu_ptr(p) (&(p)[lt_shim_cpu])
#define this_cpu_ptr(p) raw_cpu_ptr(p)

/* interrupts and raw spinlocks: a mutex stands for both (chains' lock) */
struct lt_shim_spinlock { pthread_mutex_t m; };
#define raw_spinlock_t struct lt_shim_spinlock
#define raw_spin_lock_init(l) pthread_mutex_init(&(l)->m, NULL)
#define raw_spin_lock(l) pthread_mutex_lock(&(l)->m)
#define raw_spin_unlock(l) pthread_mutex_unlock(&(l)->m)
#define raw_spin_lock_irqsave(l, flags) ((void)(flags), raw_spin_lock(l))
#define raw_spin_unlock_irqrestore(l, flags) ((void)(flags), raw_spin_unlock(l))
#define local_irq_save(flags) ((flags) = 0)
#define local_irq_restore(flags) ((void)(flags))
#define BIT(n) (1UL << (n))
#define min_t(type, a, b) ((type)(a) < (type)(b) ? (type)(a) : (type)(b))
#define raw_smp_processor_id() lt_shim_cpu
static inline void lt_shim_set_cpu(int cpu)
{
	lt_shim_cpu = cpu % LT_SHIM_CPUS;
}

/* time */
u64 ktime_get_mono_fast_ns(void);

/* No kernel stack to walk here: one fake frame, so the tests see it copied. */
static inline unsigned int stack_trace_save(unsigned long *store, unsigned int size,
					    unsigned int skipnr)
{
	(void)skipnr;
	if (size)
		store[0] = 0xffffffff81000000UL;
	return size ? 1 : 0;
}

/* the current task */
struct task_struct {
	int pid;
	int tgid;
	char comm[16];
};
extern __thread struct task_struct lt_shim_task;
#define current (&lt_shim_task)

/* tests run nested operations at the runtime's race points */
void lt_shim_race_point(const char *name);
#define lt_race_point(name) lt_shim_race_point(name)
void lt_shim_race_arm(const char *name, void (*hook)(void));

/* delayed work: never runs by itself; tests call lt_tracker_expire() */
#define HZ 250
struct work_struct { void (*func)(struct work_struct *work); };
struct delayed_work { struct work_struct work; };
#define INIT_DELAYED_WORK(dw, fn) ((dw)->work.func = (fn))
#define to_delayed_work(w) container_of(w, struct delayed_work, work)
static inline bool schedule_delayed_work(struct delayed_work *dw, unsigned long delay)
{
	(void)dw;
	(void)delay;
	return true;
}
static inline bool cancel_delayed_work_sync(struct delayed_work *dw)
{
	(void)dw;
	return false;
}
static inline unsigned long nsecs_to_jiffies(u64 ns) { return ns / (1000000000 / HZ); }

#endif /* LT_SHIM_H */
