package quota

// Kafka's two measurable stats of quotas, on millisecond timestamps as
// Kafka's are: the windowed Rate (SampledStat and Rate) and the
// TokenBucket. Neither is safe for concurrent use.

import "math"

// Rate is a windowed sum over samples windows of window milliseconds,
// divided by the span it covers (Kafka's Rate over a WindowedSum).
type Rate struct {
	samples []sample
	current int
}

type sample struct {
	start     int64 // when the window started (its first record)
	lastEvent int64 // its last record
	value     float64
}

func (s *sample) reset(now int64) { *s = sample{start: now, lastEvent: now} }

// currentSample is the window records go to, made at now if none is.
func (r *Rate) currentSample(now int64) *sample {
	if len(r.samples) == 0 {
		r.samples = append(r.samples, sample{start: now, lastEvent: now})
	}
	return &r.samples[r.current]
}

// Record adds v at now. A window that has lasted window ms is done: the
// next starts at now. samples+1 windows are kept (one may overlap the
// measured span's start).
func (r *Rate) Record(samples int, window int64, v float64, now int64) {
	s := r.currentSample(now)
	if now-s.start >= window {
		r.current = (r.current + 1) % (samples + 1)
		if r.current >= len(r.samples) {
			r.samples = append(r.samples, sample{start: now})
		} else {
			r.samples[r.current].reset(now)
		}
		s = &r.samples[r.current]
	}
	s.value += v
	s.lastEvent = now
}

// purge resets windows with no record for samples windows.
func (r *Rate) purge(samples int, window int64, now int64) {
	expire := int64(samples) * window
	for i := range r.samples {
		if now-r.samples[i].lastEvent >= expire {
			r.samples[i].reset(now)
		}
	}
}

// WindowSize is the span the rate divides by, in ms: since the oldest
// window started, and at least samples-1 whole windows.
func (r *Rate) WindowSize(samples int, window int64, now int64) int64 {
	r.purge(samples, window, now)
	r.currentSample(now)
	oldest := r.samples[0].start
	for _, s := range r.samples[1:] {
		oldest = min(oldest, s.start)
	}
	total := now - oldest
	if full, least := total/window, int64(samples-1); full < least {
		total += (least - full) * window
	}
	return max(total, 1)
}

// Measure is the rate per second at now.
func (r *Rate) Measure(samples int, window int64, now int64) float64 {
	size := r.WindowSize(samples, window, now) // purges
	sum := 0.0
	for _, s := range r.samples {
		sum += s.value
	}
	return sum / (float64(size) / 1000)
}

// Throttle is how long (ms) a client whose rate is now above limit must
// wait for it to come back to limit (Kafka's QuotaUtils.throttleTime); 0
// within the limit.
func (r *Rate) Throttle(samples int, window int64, limit float64, now int64) int64 {
	rate := r.Measure(samples, window, now)
	if rate <= limit {
		return 0
	}
	return int64(math.Round((rate - limit) / limit * float64(r.WindowSize(samples, window, now))))
}

// TokenBucket holds tokens refilled at a rate per second up to a burst;
// recording spends them, down below zero. It starts full.
type TokenBucket struct {
	tokens  float64
	last    int64
	started bool
}

func (b *TokenBucket) refill(rate, burst float64, now int64) {
	if !b.started {
		b.tokens, b.started = burst, true
	} else if now > b.last {
		b.tokens = min(burst, b.tokens+rate*float64(now-b.last)/1000)
	}
	b.last = max(b.last, now)
}

// Tokens are the tokens at now.
func (b *TokenBucket) Tokens(rate, burst float64, now int64) float64 {
	b.refill(rate, burst, now)
	return b.tokens
}

// Record spends v tokens at now.
func (b *TokenBucket) Record(rate, burst, v float64, now int64) {
	b.refill(rate, burst, now)
	b.tokens = min(burst, b.tokens-v)
}
