/* SPDX-License-Identifier: MIT */
#ifndef ST_PALETTE_H
#define ST_PALETTE_H

/*
 * One colour per category in every gnuplot chart, analyze's and --compare's:
 * linetype N is category N-1 in the order of cat_names (compute, dataloader_wait,
 * io_wait, gpu_wait, cpu_contention, lock_wait, other_wait, collective_wait).  Paul
 * Tol's "bright" scheme, readable for colour-blind eyes, and the orange of his
 * "vibrant" one.
 */
static const char cat_colours[] =
	"set linetype 1 lc rgb '#4477aa'  # compute\n"
	"set linetype 2 lc rgb '#ee6677'  # dataloader_wait\n"
	"set linetype 3 lc rgb '#228833'  # io_wait\n"
	"set linetype 4 lc rgb '#ccbb44'  # gpu_wait\n"
	"set linetype 5 lc rgb '#66ccee'  # cpu_contention\n"
	"set linetype 6 lc rgb '#aa3377'  # lock_wait\n"
	"set linetype 7 lc rgb '#bbbbbb'  # other_wait\n"
	"set linetype 8 lc rgb '#ee7733'  # collective_wait\n";

#endif
