/* SPDX-License-Identifier: GPL-2.0 */
/* user-space stand-in for <linux/irqflags.h>: see ../lt_shim.h */
#include "../lt_shim.h"
