package format

import (
	"encoding/binary"
)

// Header is a record header. A nil Value is a null header value.
type Header struct {
	Key   string
	Value []byte
}

// Record is one decoded record. Key or Value nil means null (a null Value
// is a tombstone on compacted topics). Byte slices alias the decoded buffer.
type Record struct {
	Attributes     int8
	TimestampDelta int64
	OffsetDelta    int32
	Key            []byte
	Value          []byte
	Headers        []Header
}

// reader is a sticky-error varint reader: after the first failure every
// read returns zero values and err stays set.
type reader struct {
	buf []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = corruptf("record: bad %s", what)
	}
	r.buf = nil
}

func (r *reader) varint(what string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.buf)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

func (r *reader) int8(what string) int8 {
	if r.err != nil || len(r.buf) < 1 {
		r.fail(what)
		return 0
	}
	v := int8(r.buf[0])
	r.buf = r.buf[1:]
	return v
}

// bytes reads a varint length and that many bytes; -1 is null.
func (r *reader) bytes(what string) []byte {
	n := r.varint(what)
	if r.err != nil {
		return nil
	}
	if n == -1 {
		return nil
	}
	if n < -1 || n > int64(len(r.buf)) {
		r.fail(what)
		return nil
	}
	b := r.buf[:n:n]
	r.buf = r.buf[n:]
	return b
}

// DecodeRecords decodes count records from raw (uncompressed) record bytes
// and calls fn for each. It never reads past raw and fails with ErrCorrupt
// on malformed input or trailing bytes.
func DecodeRecords(raw []byte, count int32, fn func(Record) error) error {
	r := &reader{buf: raw}
	for i := int32(0); i < count; i++ {
		length := r.varint("length")
		if r.err != nil {
			return r.err
		}
		if length < 0 || length > int64(len(r.buf)) {
			return corruptf("record %d: length %d exceeds %d remaining bytes", i, length, len(r.buf))
		}
		rest := r.buf[length:]
		rec := reader{buf: r.buf[:length]}
		var out Record
		out.Attributes = rec.int8("attributes")
		out.TimestampDelta = rec.varint("timestamp delta")
		out.OffsetDelta = int32(rec.varint("offset delta"))
		out.Key = rec.bytes("key")
		out.Value = rec.bytes("value")
		nh := rec.varint("header count")
		if rec.err == nil && (nh < 0 || nh > int64(len(rec.buf))) {
			rec.fail("header count")
		}
		for h := int64(0); h < nh && rec.err == nil; h++ {
			k := rec.bytes("header key")
			if k == nil {
				rec.fail("header key")
			}
			v := rec.bytes("header value")
			out.Headers = append(out.Headers, Header{Key: string(k), Value: v})
		}
		if rec.err != nil {
			return rec.err
		}
		if len(rec.buf) != 0 {
			return corruptf("record %d: %d trailing bytes", i, len(rec.buf))
		}
		if err := fn(out); err != nil {
			return err
		}
		r.buf = rest
	}
	if len(r.buf) != 0 {
		return corruptf("%d bytes after last record", len(r.buf))
	}
	return nil
}

// ForEachRecord decompresses the batch's records when needed and calls fn
// for each.
func (b Batch) ForEachRecord(fn func(Record) error) error {
	raw, err := Decompress(b.Codec(), b.Records())
	if err != nil {
		return err
	}
	return DecodeRecords(raw, b.RecordCount(), fn)
}

func appendVarint(dst []byte, v int64) []byte { return binary.AppendVarint(dst, v) }

func appendVarBytes(dst, b []byte) []byte {
	if b == nil {
		return appendVarint(dst, -1)
	}
	dst = appendVarint(dst, int64(len(b)))
	return append(dst, b...)
}

// AppendRecord encodes r in Kafka's record format.
func AppendRecord(dst []byte, r Record) []byte {
	var body []byte
	body = append(body, byte(r.Attributes))
	body = appendVarint(body, r.TimestampDelta)
	body = appendVarint(body, int64(r.OffsetDelta))
	body = appendVarBytes(body, r.Key)
	body = appendVarBytes(body, r.Value)
	body = appendVarint(body, int64(len(r.Headers)))
	for _, h := range r.Headers {
		body = appendVarBytes(body, []byte(h.Key))
		body = appendVarBytes(body, h.Value)
	}
	dst = appendVarint(dst, int64(len(body)))
	return append(dst, body...)
}
