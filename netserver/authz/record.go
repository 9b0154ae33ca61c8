package authz

// The metadata records of ACLs. kmsg (v1.15) has no metadata records, so
// these follow Kafka's AccessControlEntryRecord (metadata api key 18) and
// RemoveAccessControlEntryRecord (19) byte for byte, with kbin primitives,
// framed as Kafka's MetadataRecordSerde frames a record:
//
//	frame version  uvarint  1
//	api key        uvarint  18 | 19
//	version        uvarint  0
//	-- AccessControlEntryRecord v0 (flexible) --
//	id             uuid     16 bytes
//	resource type  int8
//	resource name  compact string (uvarint len+1, bytes)
//	pattern type   int8
//	principal      compact string
//	host           compact string
//	operation      int8
//	permission     int8
//	tagged fields  uvarint count, then (uvarint tag, uvarint size, bytes)*
//	-- RemoveAccessControlEntryRecord v0 (flexible) --
//	id             uuid
//	tagged fields
//
// Unknown tagged fields are skipped; trailing bytes are an error.

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kbin"
)

// Metadata record api keys (Kafka's MetadataRecordType).
const (
	RecordKeyAccessControlEntry       = 18
	RecordKeyRemoveAccessControlEntry = 19
)

// ErrCorruptRecord marks a record DecodeRecord cannot read.
var ErrCorruptRecord = errors.New("authz: corrupt acl record")

// Record is an ACL's metadata record: an AccessControlEntryRecord (Remove
// false: Binding is added as ID) or a RemoveAccessControlEntryRecord.
type Record struct {
	Remove  bool
	ID      ID
	Binding Binding // unused when Remove
}

// AppendTo appends r's encoding to dst.
func (r Record) AppendTo(dst []byte) []byte {
	key := uint32(RecordKeyAccessControlEntry)
	if r.Remove {
		key = RecordKeyRemoveAccessControlEntry
	}
	dst = kbin.AppendUvarint(dst, 1)
	dst = kbin.AppendUvarint(dst, key)
	dst = kbin.AppendUvarint(dst, 0)
	dst = kbin.AppendUuid(dst, r.ID)
	if !r.Remove {
		b := r.Binding
		dst = kbin.AppendInt8(dst, int8(b.Pattern.Type))
		dst = kbin.AppendCompactString(dst, b.Pattern.Name)
		dst = kbin.AppendInt8(dst, int8(b.Pattern.PatternType))
		dst = kbin.AppendCompactString(dst, b.Entry.Principal)
		dst = kbin.AppendCompactString(dst, b.Entry.Host)
		dst = kbin.AppendInt8(dst, int8(b.Entry.Operation))
		dst = kbin.AppendInt8(dst, int8(b.Entry.Permission))
	}
	return kbin.AppendUvarint(dst, 0) // no tagged fields
}

// DecodeRecord reads one record that fills b exactly. It never panics; a
// record it cannot read is ErrCorruptRecord. It does not validate the
// binding (Authorizer.Add does).
func DecodeRecord(b []byte) (Record, error) {
	r := kbin.Reader{Src: b}
	var rec Record
	if frame := r.Uvarint(); r.Ok() && frame != 1 {
		return rec, fmt.Errorf("%w: frame version %d", ErrCorruptRecord, frame)
	}
	key := r.Uvarint()
	if version := r.Uvarint(); r.Ok() && version != 0 {
		return rec, fmt.Errorf("%w: version %d", ErrCorruptRecord, version)
	}
	if !r.Ok() {
		return rec, fmt.Errorf("%w: truncated header", ErrCorruptRecord)
	}
	switch key {
	case RecordKeyAccessControlEntry:
	case RecordKeyRemoveAccessControlEntry:
		rec.Remove = true
	default:
		return rec, fmt.Errorf("%w: api key %d is no acl record", ErrCorruptRecord, key)
	}
	rec.ID = r.Uuid()
	if !rec.Remove {
		p, e := &rec.Binding.Pattern, &rec.Binding.Entry
		p.Type = ResourceType(r.Int8())
		p.Name = compactString(&r)
		p.PatternType = PatternType(r.Int8())
		e.Principal = compactString(&r)
		e.Host = compactString(&r)
		e.Operation = Operation(r.Int8())
		e.Permission = Permission(r.Int8())
	}
	for n := r.Uvarint(); n > 0 && r.Ok(); n-- {
		r.Uvarint()              // tag
		r.Span(int(r.Uvarint())) // value
	}
	if err := r.Complete(); err != nil {
		return Record{}, fmt.Errorf("%w: %v", ErrCorruptRecord, err)
	}
	if len(r.Src) != 0 {
		return Record{}, fmt.Errorf("%w: %d trailing bytes", ErrCorruptRecord, len(r.Src))
	}
	return rec, nil
}

// compactString reads a non-null compact string (null marks the reader
// bad: Span(-1)).
func compactString(r *kbin.Reader) string {
	return string(r.Span(int(r.Uvarint()) - 1))
}
