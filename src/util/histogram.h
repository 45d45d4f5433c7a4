/* SPDX-License-Identifier: MIT */
/*
 * Fixed-bucket latency histograms for the metrics (Prometheus "histogram"
 * type: cumulative buckets by upper bound "le", plus sum and count).
 * Recording is O(buckets) with no allocation: safe on the hot path.
 */
#ifndef RV_HISTOGRAM_H
#define RV_HISTOGRAM_H

#include <stdint.h>
#include <stdio.h>

#define RV_HIST_BUCKETS 20

struct rv_histogram {
	uint64_t count[RV_HIST_BUCKETS + 1];	/* last: +Inf */
	uint64_t total;
	double sum_s;
};

/* Bucket bounds in seconds, 1 us .. 10 s. */
extern const double rv_hist_bounds[RV_HIST_BUCKETS];

void rv_histogram_add(struct rv_histogram *h, int64_t ns);
/* Writes name_bucket/_sum/_count lines, with labels ("" or "a=\"b\""). */
void rv_histogram_write(const struct rv_histogram *h, FILE *f,
			const char *name, const char *labels);

#endif
