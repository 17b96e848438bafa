/* SPDX-License-Identifier: MIT */
#ifndef ST_PALETTE_H
#define ST_PALETTE_H

/*
 * One colour per category, in the order of cat_names (compute, dataloader_wait,
 * io_wait, gpu_wait, cpu_contention, lock_wait, other_wait, collective_wait): Paul
 * Tol's "bright" scheme, readable for colour-blind eyes, and the orange of his
 * "vibrant" one.  Every gnuplot chart (analyze's and --compare's) uses them as
 * linetype N for category N-1.  The Perfetto export's state slices carry, as "cname",
 * the closest of the fixed colours chrome://tracing accepts (trace-viewer's reserved
 * names; the JSON format has no other colour, and ui.perfetto.dev colours a slice by
 * its name, so there each category keeps one colour of its own).
 */
#define CAT_PALETTE(X) \
	X(1, "#4477aa", "compute", "rail_response") \
	X(2, "#ee6677", "dataloader_wait", "cq_build_failed") \
	X(3, "#228833", "io_wait", "good") \
	X(4, "#ccbb44", "gpu_wait", "cq_build_attempt_runnig") \
	X(5, "#66ccee", "cpu_contention", "thread_state_runnable") \
	X(6, "#aa3377", "lock_wait", "detailed_memory_dump") \
	X(7, "#bbbbbb", "other_wait", "cq_build_abandoned") \
	X(8, "#ee7733", "collective_wait", "rail_idle")

#define CAT_GNUPLOT_(n, rgb, name, cname) "set linetype " #n " lc rgb '" rgb "'  # " name "\n"
#define CAT_CNAME_(n, rgb, name, cname) cname,

static const char cat_colours[] __attribute__((unused)) = CAT_PALETTE(CAT_GNUPLOT_);
static const char *const cat_cnames[] __attribute__((unused)) = { CAT_PALETTE(CAT_CNAME_) };

#endif
