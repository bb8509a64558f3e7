/* SPDX-License-Identifier: GPL-2.0 */
/* user-space stand-in for <linux/errno.h>: the error numbers and ../lt_shim.h */
#include <asm/errno.h>
#include "../lt_shim.h"
