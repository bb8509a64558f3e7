/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User-space probes of a generated module: uprobes, uretprobes and USDT
 * probes, registered with the kernel's uprobe API on a file and an offset
 * in it. The generated file lists them, one entry per probe site, in a
 * table that LT_MODULE_UPROBES() hands to lt_module.c:
 *
 *	static struct lt_uprobe lt_uprobes[] = {
 *		LT_UPROBE("/usr/bin/app", 0x1139, 0, lt_NAME_on_site),
 *		LT_URETPROBE("/usr/bin/app", 0x1139, lt_NAME_on_return),
 *	};
 *
 * A probe function runs in the traced task, at its breakpoint trap (or at
 * the return trampoline); it reads the registers the task trapped with and
 * its memory through the helpers below, which never fault.
 */
#ifndef LT_UPROBE_H
#define LT_UPROBE_H

#include <linux/path.h>
#include <linux/ptrace.h>
#include <linux/types.h>
#include <linux/uprobes.h>

/* The most bytes a user string is read into, NUL included (str() in .lt). */
#define LT_USER_STRING_SIZE 64

/**
 * struct lt_uprobe - one probe site in a user-space file
 * @path: the file, as the compiler resolved it (absolute, no symlink)
 * @offset: the probe's offset in the file (a virtual address translated
 *	through the program headers, as the uprobe PMU's probe_offset)
 * @ref_ctr_offset: file offset of a USDT probe's semaphore, which the
 *	kernel raises in every process mapping the file while the probe is
 *	registered (so guarded probes fire); 0 for none
 * @consumer: its handler (entry) or ret_handler (return) is the probe
 *	function; the kernel calls it in the traced task
 * @file: held from registration to unregistration
 * @registered: @consumer is registered
 */
struct lt_uprobe {
	const char *path;
	loff_t offset;
	loff_t ref_ctr_offset;
	struct uprobe_consumer consumer;
	struct path file;
	bool registered;
};

#define LT_UPROBE(file_path, file_offset, ref_ctr, func)			\
	{ .path = file_path, .offset = file_offset,			\
	  .ref_ctr_offset = ref_ctr, .consumer = { .handler = func } }

#define LT_URETPROBE(file_path, file_offset, func)			\
	{ .path = file_path, .offset = file_offset,			\
	  .consumer = { .ret_handler = func } }

/**
 * lt_uprobes_register() - register probe sites
 * @probes: the sites
 * @count: entries in @probes
 *
 * Looks each file up and registers the site's consumer; on an error, the
 * sites registered so far are unregistered again.
 *
 * Return: 0; -ENOENT (no such file), -EINVAL (not a regular file, or an
 * offset beyond it), or what uprobe_register_refctr() returned.
 */
int lt_uprobes_register(struct lt_uprobe *probes, unsigned int count);

/**
 * lt_uprobes_unregister() - unregister probe sites
 * @probes: the sites
 * @count: entries in @probes
 *
 * Unregisters every registered site (lowering USDT semaphores) and drops
 * its file. When it returns, no probe function of these sites is running,
 * nor will one run: uprobe_unregister() waits for running consumers.
 */
void lt_uprobes_unregister(struct lt_uprobe *probes, unsigned int count);

/**
 * lt_user_read() - read an integer from the current task's memory
 * @addr: user address
 * @size: bytes to read, 1 to 8
 *
 * Never faults a page in, as bpf_probe_read_user(): a value not in memory
 * reads as 0, as the eBPF backend reads it.
 *
 * Return: the @size bytes at @addr, zero-extended (little-endian).
 */
u64 lt_user_read(unsigned long addr, unsigned int size);

/**
 * lt_user_string() - read a NUL-terminated string of the current task
 * @buf: LT_USER_STRING_SIZE bytes
 * @addr: user address
 *
 * Reads at most LT_USER_STRING_SIZE - 1 characters and never faults a page
 * in; the rest of @buf is zeroed (an unreadable string is empty), so keys
 * and comparisons see no leftover bytes.
 *
 * Return: @buf.
 */
char *lt_user_string(char *buf, unsigned long addr);

#endif /* LT_UPROBE_H */
