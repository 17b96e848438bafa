// SPDX-License-Identifier: MIT
/*
 * The analysis's vocabulary as every report spells it: the categories of the main
 * thread's time and the states of data-loader workers (an_core.h's enums, in order).
 * Nothing else lives here, so that a report that names a category depends on these
 * words only, not on the pass that computes them.
 */
#include "an_core.h"

const char *const cat_names[NCAT] = {
	"compute", "dataloader_wait", "io_wait", "gpu_wait", "cpu_contention", "lock_wait",
	"other_wait", "collective_wait",
};
const char *const wst_names[NWS] = { "prep", "fetch", "network", "starved", "sleep", "idle" };
