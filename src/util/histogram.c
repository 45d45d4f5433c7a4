/* SPDX-License-Identifier: MIT */
#include "util/histogram.h"

const double rv_hist_bounds[RV_HIST_BUCKETS] = {
	1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3,
	2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1.0, 10.0,
};

void rv_histogram_add(struct rv_histogram *h, int64_t ns)
{
	double s = ns < 0 ? 0 : (double)ns / 1e9;
	int i;

	for (i = 0; i < RV_HIST_BUCKETS && s > rv_hist_bounds[i]; i++)
		;
	h->count[i]++;
	h->total++;
	h->sum_s += s;
}

void rv_histogram_write(const struct rv_histogram *h, FILE *f,
			const char *name, const char *labels)
{
	const char *sep = *labels ? "," : "";
	uint64_t cum = 0;

	for (int i = 0; i < RV_HIST_BUCKETS; i++) {
		cum += h->count[i];
		fprintf(f, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels,
			sep, rv_hist_bounds[i], (unsigned long long)cum);
	}
	fprintf(f, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
		(unsigned long long)h->total);
	if (*labels) {
		fprintf(f, "%s_sum{%s} %.9f\n", name, labels, h->sum_s);
		fprintf(f, "%s_count{%s} %llu\n", name, labels,
			(unsigned long long)h->total);
	} else {
		fprintf(f, "%s_sum %.9f\n", name, h->sum_s);
		fprintf(f, "%s_count %llu\n", name,
			(unsigned long long)h->total);
	}
}
