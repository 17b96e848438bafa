/* SPDX-License-Identifier: MIT */
/*
 * Step markers for C and C++ trainers.  Call stalltrace_step() once per training
 * step; `tracer --steps` (a uprobe on this function) turns every call into a step
 * boundary in the trace, and `analyze` then uses the marks instead of guessing
 * steps from batch arrivals.  Untraced, a call costs a few nanoseconds.
 *
 *   #include <stalltrace_mark.h>      link with -lstalltrace_mark
 *
 * Python needs no build step: see scripts/stalltrace_mark.py (ctypes).
 */
#ifndef STALLTRACE_MARK_H
#define STALLTRACE_MARK_H

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the start of a training step (call it at the top of each iteration). */
void stalltrace_step(void);

#ifdef __cplusplus
}
#endif

#endif
