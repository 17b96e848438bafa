# make bench chart: traced/untraced wall-time ratio per workload and tool, median bars
# with min-max error bars, from the chart.dat that scripts/bench_lib.py writes.
#   gnuplot -e "dat='build/bench/chart.dat'; svg='build/bench/chart.svg'" scripts/bench_chart.gp
# chart.dat: a quoted workload label, then median/min/max for stalltrace, perf,
# trace-cmd and bpftrace (NaN where a tool could not run).
set terminal svg size 900,480 dynamic noenhanced font "sans,12" background rgb "white"
set output svg
set title "Tracing overhead: traced / untraced wall time (median, min-max)"
set ylabel "ratio (log scale; 1 = no overhead)"
set logscale y
set yrange [0.8:*]
set grid ytics
set key top left
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set datafile missing "NaN"
plot dat using 2:3:4:xtic(1) title "stalltrace" lc rgb "#1b9e77", \
     ''  using 5:6:7 title "perf" lc rgb "#d95f02", \
     ''  using 8:9:10 title "trace-cmd" lc rgb "#7570b3", \
     ''  using 11:12:13 title "bpftrace" lc rgb "#e7298a"
