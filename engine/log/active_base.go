package log

// OnOlderSegment reports whether offset lies on an older segment than end
// (offset < end, and a segment starts after offset at or below end). A
// long-polling fetch at such an offset completes at once, as Kafka's
// DelayedFetch ("Case F": the fetch fell behind the segment that holds the
// end it may read up to, or a segment just rolled): what it can read there
// is all of that segment it will ever get, and waiting for MinBytes could
// only wait out MaxWait.
func (l *Log) OnOlderSegment(offset, end int64) bool {
	if offset >= end {
		return false
	}
	l.mu.RLock()
	segs := l.mu.segments
	l.mu.RUnlock()
	return segmentFor(segs, offset) < segmentFor(segs, end)
}
