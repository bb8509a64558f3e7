/* SPDX-License-Identifier: GPL-2.0 */
/* Test access to the user-space output's ring. */
#ifndef LT_OUTPUT_USER_H
#define LT_OUTPUT_USER_H

#include "../lt_tracker.h"

/* Takes the oldest hit record; single consumer. Returns false when empty. */
bool lt_output_user_pop(struct lt_output *out, struct lt_hit *hit);

#endif
