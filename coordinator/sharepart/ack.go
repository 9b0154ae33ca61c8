package sharepart

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// AckBatch is one acknowledgement batch: Types holds one type for every
// offset of [First, Last], or one per offset.
type AckBatch struct {
	First, Last int64
	Types       []AckType
}

// Acknowledge applies one acknowledgement batch of member. It changes
// every offset or none: offsets below StartOffset are skipped, and every
// other one must be in the window and Acquired by member. The errors are
// the *kerr.Error values themselves: kerr.InvalidRequest for a malformed
// batch (first > last, no types, a types list neither one long nor one per
// offset, an unknown type) or offsets past the window's end (Kafka's
// "offsets past acquired records"), kerr.InvalidRecordState for an offset
// of the window not Acquired by member.
func (p *Partition) Acknowledge(member string, first, last int64, types []AckType, now time.Time) error {
	b := AckBatch{First: first, Last: last, Types: types}
	if err := p.checkAck(member, &b); err != nil {
		return err
	}
	p.applyAck(&b, now)
	p.advance()
	return nil
}

// AcknowledgeBatches applies the acknowledgement batches of one partition
// in a ShareFetch or ShareAcknowledge request all or none, as Kafka (which
// rolls back the partition's batches when one fails): each is checked as
// Acknowledge does, and they must be in offset order without overlapping
// (else kerr.InvalidRequest).
func (p *Partition) AcknowledgeBatches(member string, batches []AckBatch, now time.Time) error {
	for i := range batches {
		if i > 0 && batches[i].First <= batches[i-1].Last {
			return kerr.InvalidRequest
		}
		if err := p.checkAck(member, &batches[i]); err != nil {
			return err
		}
	}
	for i := range batches {
		p.applyAck(&batches[i], now)
	}
	p.advance()
	return nil
}

// checkAck checks an acknowledgement batch of member against the window.
func (p *Partition) checkAck(member string, b *AckBatch) error {
	switch {
	case b.First > b.Last:
		return kerr.InvalidRequest
	case len(b.Types) == 0:
		return kerr.InvalidRequest
	case len(b.Types) > 1 && int64(len(b.Types)) != b.Last-b.First+1:
		return kerr.InvalidRequest
	}
	for _, t := range b.Types {
		if t < AckGap || t > AckRenew {
			return kerr.InvalidRequest
		}
	}
	if b.Last < p.start {
		return nil // done already, or the log start moved past them
	}
	if b.Last >= p.end {
		return kerr.InvalidRequest
	}
	for i := p.find(max(b.First, p.start)); i < len(p.runs) && p.runs[i].first <= b.Last; i++ {
		if r := &p.runs[i]; r.state != StateAcquired || r.member != member {
			return kerr.InvalidRecordState
		}
	}
	return nil
}

// applyAck applies a checked acknowledgement batch; the caller advances
// the start offset.
func (p *Partition) applyAck(b *AckBatch, now time.Time) {
	if b.Last < p.start {
		return
	}
	deadline := now.Add(p.cfg.LockDuration)
	typeAt := func(o int64) AckType {
		if len(b.Types) == 1 {
			return b.Types[0]
		}
		return b.Types[o-b.First]
	}
	p.apply(max(b.First, p.start), b.Last, func(piece run, out []run) []run {
		for o := piece.first; o <= piece.last; {
			seg := piece
			seg.first = o
			t := typeAt(o)
			if len(b.Types) > 1 {
				for seg.last = o; seg.last < piece.last && typeAt(seg.last+1) == t; seg.last++ {
				}
			}
			o = seg.last + 1
			switch t {
			case AckAccept:
				seg.state = StateAcknowledged
			case AckReject, AckGap:
				seg.state = StateArchived
			case AckRelease:
				p.release(&seg)
			case AckRenew:
				seg.deadline = deadline
			}
			if t != AckRenew {
				seg.member, seg.deadline = "", time.Time{}
				p.changed = true
			}
			out = append(out, seg)
		}
		return out
	})
}

// ReleaseMember gives back every record member holds, because it left the
// group or closed its share session: they become Available with their
// delivery count one lower, as Kafka 4.2 (they were fetched, but the
// member did not get to process them), so this never archives them.
func (p *Partition) ReleaseMember(member string, now time.Time) {
	p.releaseWhere(func(r *run) bool { return r.member == member }, func(r *run) {
		r.member, r.deadline = "", time.Time{}
		r.state = StateAvailable
		if r.count > 0 {
			r.count--
		}
	})
}

// Expire ends the acquisitions whose lock deadline is at or before now:
// the records become Available, or Archived when they were delivered
// DeliveryLimit times.
func (p *Partition) Expire(now time.Time) {
	p.releaseWhere(func(r *run) bool { return !r.deadline.After(now) }, p.release)
}

// releaseWhere applies f to the Acquired runs match selects.
func (p *Partition) releaseWhere(match func(*run) bool, f func(*run)) {
	released := false
	for i := range p.runs {
		r := &p.runs[i]
		if r.state != StateAcquired || !match(r) {
			continue
		}
		before := *r
		f(r)
		released = true
		// An Acquired record is persisted as Available with its count.
		if r.state != StateAvailable || r.count != before.count {
			p.changed = true
		}
	}
	if !released {
		return
	}
	p.runs = normalize(p.runs)
	if p.advance() {
		p.changed = true
	}
}

// MoveStartOffset moves the start offset up to o, because the log start
// moved past it (retention, DeleteRecords): the records below o leave the
// window whatever their state (acknowledgements of them are then skipped);
// past the end, the window becomes empty at o. An o at or below the start
// offset changes nothing: to reset a group's offset backwards (after
// AlterShareGroupOffsets), build the partition anew with
// New(cfg, Persisted{StartOffset: o}).
func (p *Partition) MoveStartOffset(o int64, now time.Time) {
	if o <= p.start {
		return
	}
	p.changed = true
	if o >= p.end {
		p.start, p.end = o, o
		clear(p.runs)
		p.runs = p.runs[:0]
		return
	}
	p.dropHead(p.find(o))
	p.runs[0].first = o
	p.start = o
	p.advance()
}
