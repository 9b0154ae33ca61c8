package index

import "github.com/rillmq/rill/engine/format"

// offsetEntries views n offset-index entries in b.
type offsetEntries []byte

func (e offsetEntries) len() int { return len(e) / format.OffsetEntrySize }
func (e offsetEntries) at(i int) (rel, pos int32) {
	return format.OffsetEntry(e[i*format.OffsetEntrySize:])
}

// floor returns the index of the last entry whose relative offset is <= rel,
// or -1 when every entry is greater.
func (e offsetEntries) floor(rel int32) int {
	lo, hi := 0, e.len()-1
	ans := -1
	for lo <= hi {
		mid := int(uint(lo+hi) >> 1)
		if r, _ := e.at(mid); r <= rel {
			ans, lo = mid, mid+1
		} else {
			hi = mid - 1
		}
	}
	return ans
}

// validOffsetPrefix counts the leading entries that are strictly increasing
// in both offset and position, the invariant a correct index holds.
func validOffsetPrefix(b []byte) int {
	e := offsetEntries(b[:len(b)/format.OffsetEntrySize*format.OffsetEntrySize])
	n := 0
	var prevRel, prevPos int32
	for i := 0; i < e.len(); i++ {
		rel, pos := e.at(i)
		if rel < 0 || pos < 0 || (i > 0 && (rel <= prevRel || pos <= prevPos)) {
			break
		}
		prevRel, prevPos = rel, pos
		n++
	}
	return n
}

type timeEntries []byte

func (e timeEntries) len() int { return len(e) / format.TimeEntrySize }
func (e timeEntries) at(i int) (ts int64, rel int32) {
	return format.TimeEntry(e[i*format.TimeEntrySize:])
}

// floor returns the index of the last entry with timestamp <= ts, or -1.
func (e timeEntries) floor(ts int64) int {
	lo, hi := 0, e.len()-1
	ans := -1
	for lo <= hi {
		mid := int(uint(lo+hi) >> 1)
		if t, _ := e.at(mid); t <= ts {
			ans, lo = mid, mid+1
		} else {
			hi = mid - 1
		}
	}
	return ans
}

// validTimePrefix counts leading entries with increasing timestamps and
// non-decreasing offsets. A zero entry after the first marks preallocated,
// never-written space.
func validTimePrefix(b []byte) int {
	e := timeEntries(b[:len(b)/format.TimeEntrySize*format.TimeEntrySize])
	n := 0
	var prevTS int64
	var prevRel int32
	for i := 0; i < e.len(); i++ {
		ts, rel := e.at(i)
		if rel < 0 || (i > 0 && (ts <= prevTS || rel < prevRel)) || (ts == 0 && rel == 0 && i > 0) {
			break
		}
		prevTS, prevRel = ts, rel
		n++
	}
	return n
}
