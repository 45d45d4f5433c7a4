/* SPDX-License-Identifier: MIT */
/*
 * The adaptive precision window's estimator (spin_auto.h).  O(buckets) per
 * wake-up with a fixed 89-entry array: cheap next to the kernel wake-up it
 * measures, and no allocation on the hot path.
 */
#include "spin_auto.h"

void rv_spin_est_init(struct rv_spin_est *e, int64_t max_ns)
{
	*e = (struct rv_spin_est){ .max_ns = max_ns, .window_ns = max_ns };
}

unsigned int rv_spin_est_bucket(int64_t ns)
{
	unsigned int lg, idx;

	if (ns < 256)
		return 0;
	lg = (unsigned int)(63 - __builtin_clzll((unsigned long long)ns));
	/* octave lg - 8, quarter: the two bits after the leading one */
	idx = 1 + (lg - 8) * 4 + (unsigned int)((ns >> (lg - 2)) & 3);
	return idx < RV_SPIN_BUCKETS ? idx : RV_SPIN_BUCKETS - 1;
}

int64_t rv_spin_est_bucket_end(unsigned int i)
{
	unsigned int o, q;

	if (i == 0)
		return 256;
	o = (i - 1) / 4;
	q = (i - 1) % 4;
	return (int64_t)(5 + q) << (o + 6);
}

int64_t rv_spin_est_tail(const struct rv_spin_est *e)
{
	uint64_t tail = 0;
	unsigned int i = RV_SPIN_BUCKETS;

	if (!e->total)
		return 0;
	/* the highest bucket whose tail holds more than 0.5% of the weight */
	while (i-- > 0) {
		tail += e->counts[i];
		if (tail * RV_SPIN_PCT_TAIL > e->total)
			return rv_spin_est_bucket_end(i);
	}
	return rv_spin_est_bucket_end(0);
}

static void decay(struct rv_spin_est *e)
{
	uint32_t total = 0;

	for (unsigned int i = 0; i < RV_SPIN_BUCKETS; i++) {
		e->counts[i] -= e->counts[i] / 4;
		total += e->counts[i];
	}
	e->total = total;
}

void rv_spin_est_add(struct rv_spin_est *e, int64_t late_ns)
{
	int64_t w;

	if (late_ns < 0)
		late_ns = 0;
	e->counts[rv_spin_est_bucket(late_ns)] += RV_SPIN_W;
	e->total += RV_SPIN_W;
	if (++e->samples % RV_SPIN_DECAY_EVERY == 0)
		decay(e);
	if (e->samples < RV_SPIN_WARMUP)
		return;
	w = rv_spin_est_tail(e) + RV_SPIN_MARGIN_NS;
	e->window_ns = w < e->max_ns ? w : e->max_ns;
}
