// SPDX-License-Identifier: GPL-2.0
/*
 * Registering a generated module's user-space probe sites with the kernel's
 * uprobe API, and reading the traced task's memory from its probe
 * functions without faulting (lt_uprobe.h).
 *
 * The file is looked up once, at registration, and held until the site is
 * unregistered: the kernel's uprobe is keyed by the inode, and a file
 * replaced on disk afterwards (a new inode) is simply not probed, as with
 * the uprobe PMU of the eBPF backend.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dcache.h>
#include <linux/fs.h>
#include <linux/namei.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include "lt_uprobe.h"

static int lt_uprobe_register(struct lt_uprobe *probe)
{
	struct inode *inode;
	int ret;

	ret = kern_path(probe->path, LOOKUP_FOLLOW, &probe->file);
	if (ret) {
		pr_err("cannot find %s: %d\n", probe->path, ret);
		return ret;
	}
	if (!d_is_reg(probe->file.dentry)) {
		pr_err("%s is not a regular file\n", probe->path);
		ret = -EINVAL;
		goto err_put_path;
	}
	inode = d_real_inode(probe->file.dentry);
	ret = uprobe_register_refctr(inode, probe->offset,
				     probe->ref_ctr_offset, &probe->consumer);
	if (ret) {
		pr_err("cannot probe %s at offset %#llx: %d\n", probe->path,
		       (unsigned long long)probe->offset, ret);
		goto err_put_path;
	}
	probe->registered = true;
	return 0;

err_put_path:
	path_put(&probe->file);
	return ret;
}

int lt_uprobes_register(struct lt_uprobe *probes, unsigned int count)
{
	unsigned int i;
	int ret;

	for (i = 0; i < count; i++) {
		ret = lt_uprobe_register(&probes[i]);
		if (ret)
			goto err_unregister;
	}
	return 0;

err_unregister:
	lt_uprobes_unregister(probes, i);
	return ret;
}

void lt_uprobes_unregister(struct lt_uprobe *probes, unsigned int count)
{
	struct lt_uprobe *probe;

	while (count--) {
		probe = &probes[count];
		if (!probe->registered)
			continue;
		uprobe_unregister(d_real_inode(probe->file.dentry),
				  probe->offset, &probe->consumer);
		path_put(&probe->file);
		probe->registered = false;
	}
}

u64 lt_user_read(unsigned long addr, unsigned int size)
{
	u64 value = 0;

	if (size > sizeof(value) ||
	    copy_from_user_nofault(&value, (const void __user *)addr, size))
		return 0;
	return value;
}

char *lt_user_string(char *buf, unsigned long addr)
{
	long len;

	/*
	 * strncpy_from_user_nofault() is not exported to modules; this is
	 * what it does: no page is faulted in while page faults are off.
	 */
	pagefault_disable();
	len = strncpy_from_user(buf, (const char __user *)addr,
				LT_USER_STRING_SIZE);
	pagefault_enable();
	if (len < 0)
		len = 0;
	else if (len >= LT_USER_STRING_SIZE)
		len = LT_USER_STRING_SIZE - 1;
	memset(buf + len, 0, LT_USER_STRING_SIZE - len);
	return buf;
}
