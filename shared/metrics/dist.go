package metrics

import "math"

// Dist is a distribution of values (latencies, lags, batch sizes) gathered
// over an invocation and written as one EMF value array, from which
// CloudWatch computes percentiles (p50, p99 …).
//
// An array holds at most MaxValues numbers. Up to that many values are
// written exactly. Past it, the values are counted in a fixed histogram
// (log-linear buckets, about 1.6 % wide: 32 per power of two) and the
// array holds MaxValues quantiles of it, each standing for an equal share
// of the values: the percentiles CloudWatch computes from them are the
// distribution's to within one percentile's rank and one bucket, while the
// metric's SampleCount and Sum
// are the array's, not the events' (the Count metrics beside it count
// those). Negative values count as 0.
//
// Adding a value allocates nothing; the histogram (7 KB) is allocated once,
// by the value that overflows the exact array. The zero Dist is empty and ready.
// A Dist is not safe for concurrent use: each goroutine keeps its own and
// they are merged (Merge) when it is done.
type Dist struct {
	n        int
	min, max float64
	exact    [MaxValues]float64
	hist     *[histBuckets]uint32
}

// The histogram: bucket 0 holds values ≤ 0; then, for each power of two
// from 2^histMinExp to 2^histMaxExp (about half a microsecond to a
// thousand years, in milliseconds), histSub buckets of equal width. Values
// beyond either end are counted in the first or last.
const (
	histSub     = 32
	histMinExp  = -10
	histMaxExp  = 45
	histBuckets = 1 + (histMaxExp-histMinExp+1)*histSub
)

// Len is how many values were added.
func (d *Dist) Len() int { return d.n }

// Add adds one value.
func (d *Dist) Add(v float64) { d.AddN(v, 1) }

// AddN adds the value v k times: the lag of the k events of one message,
// which share its enqueue time.
func (d *Dist) AddN(v float64, k int) {
	if k <= 0 {
		return
	}
	if math.IsNaN(v) || v < 0 {
		v = 0
	}
	if d.n == 0 || v < d.min {
		d.min = v
	}
	if d.n == 0 || v > d.max {
		d.max = v
	}
	if d.hist == nil && d.n+k <= MaxValues {
		for i := range k {
			d.exact[d.n+i] = v
		}
		d.n += k
		return
	}
	d.spill()
	d.hist[bucket(v)] += uint32(k)
	d.n += k
}

// Merge adds o's values to d.
func (d *Dist) Merge(o *Dist) {
	if o == nil || o.n == 0 {
		return
	}
	if o.hist == nil {
		for _, v := range o.exact[:o.n] {
			d.Add(v)
		}
		return
	}
	if d.n == 0 || o.min < d.min {
		d.min = o.min
	}
	if d.n == 0 || o.max > d.max {
		d.max = o.max
	}
	d.spill()
	for i, c := range o.hist {
		d.hist[i] += c
	}
	d.n += o.n
}

// spill moves the exact values into the histogram, once.
func (d *Dist) spill() {
	if d.hist != nil {
		return
	}
	d.hist = new([histBuckets]uint32)
	for _, v := range d.exact[:d.n] {
		d.hist[bucket(v)]++
	}
}

// bucket is v's histogram bucket.
func bucket(v float64) int {
	if v <= 0 {
		return 0
	}
	frac, exp := math.Frexp(v) // v = frac × 2^exp, frac in [0.5, 1)
	switch {
	case exp < histMinExp:
		return 1
	case exp > histMaxExp:
		return histBuckets - 1
	}
	sub := min(int((frac-0.5)*2*histSub), histSub-1)
	return 1 + (exp-histMinExp)*histSub + sub
}

// middle is the value that stands for bucket i: its midpoint.
func middle(i int) float64 {
	if i == 0 {
		return 0
	}
	exp, sub := (i-1)/histSub+histMinExp, (i-1)%histSub
	lo := math.Ldexp(0.5+float64(sub)/(2*histSub), exp)
	hi := math.Ldexp(0.5+float64(sub+1)/(2*histSub), exp)
	return (lo + hi) / 2
}

// appendValues writes the JSON array of d's values: all of them, or
// MaxValues quantiles (the (2i+1)/200-th, i = 0 … 99), each its bucket's
// midpoint within the exact minimum and maximum.
func (d *Dist) appendValues(b []byte) []byte {
	b = append(b, '[')
	if d.hist == nil {
		for i, v := range d.exact[:d.n] {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendNumber(b, v)
		}
		return append(b, ']')
	}
	bi, below := 0, uint64(0) // the bucket reached, and how many values lie before it
	for i := range MaxValues {
		rank := uint64((2*i + 1) * d.n / (2 * MaxValues)) // 0-based
		for below+uint64(d.hist[bi]) <= rank {
			below += uint64(d.hist[bi])
			bi++
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendNumber(b, min(max(middle(bi), d.min), d.max))
	}
	return append(b, ']')
}
