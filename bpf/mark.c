// SPDX-License-Identifier: MIT
/*
 * libstalltrace_mark: the function a training job calls to mark its steps.  It does
 * nothing; its address is what `tracer --steps` probes.  It is not inlined and
 * starts with an ordinary instruction so a uprobe can sit on it.
 */
#include "stalltrace_mark.h"

__attribute__((noinline, visibility("default"))) void stalltrace_step(void)
{
	__asm__ __volatile__("" ::: "memory");
}
