package wire

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestParseRoundTrip(t *testing.T) {
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("t")}}
	for _, v := range []int16{0, 8, 9, 12} {
		req.SetVersion(v)
		frame := binary.BigEndian.AppendUint16(nil, 3)
		frame = binary.BigEndian.AppendUint16(frame, uint16(v))
		frame = binary.BigEndian.AppendUint32(frame, 99)
		frame = append(frame, 0, 2, 'i', 'd')
		if req.IsFlexible() {
			frame = append(frame, 0)
		}
		frame = req.AppendTo(frame)
		got, err := Parse(frame)
		if err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		m, ok := got.Msg.(*kmsg.MetadataRequest)
		if !ok || got.CorrelationID != 99 || got.ClientID != "id" || len(m.Topics) != 1 || *m.Topics[0].Topic != "t" {
			t.Fatalf("v%d: %+v", v, got)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, frame := range [][]byte{
		{0, 3},                                   // short header
		{0, 3, 0, 1, 0, 0, 0, 1, 0, 9, 'x'},      // client id overruns
		{0, 3, 0, 12, 0, 0, 0, 1, 0xff, 0xff, 5}, // flexible: bad tags
	} {
		if _, err := Parse(frame); !errors.Is(err, ErrMalformed) {
			t.Errorf("%x: got %v", frame, err)
		}
	}
	// Unknown versions parse the header and leave Msg nil.
	r, err := Parse([]byte{0, 3, 0, 99, 0, 0, 0, 1, 0xff, 0xff})
	if err != nil || r.Msg != nil {
		t.Fatalf("unknown version: %v %v", r, err)
	}
}

func TestAppendResponseHeaders(t *testing.T) {
	av := kmsg.NewPtrApiVersionsResponse()
	av.Version = 3 // flexible, but ApiVersions keeps header v0
	out := AppendResponse(nil, 5, av)
	if int(binary.BigEndian.Uint32(out)) != len(out)-4 || binary.BigEndian.Uint32(out[4:]) != 5 {
		t.Fatal("bad frame")
	}
	var back kmsg.ApiVersionsResponse
	back.Version = 3
	if err := back.ReadFrom(out[8:]); err != nil {
		t.Fatalf("ApiVersions must not carry header tags: %v", err)
	}
	md := kmsg.NewPtrMetadataResponse()
	md.Version = 12
	out = AppendResponse(nil, 6, md)
	if out[8] != 0 {
		t.Fatal("flexible response header lacks its empty tag section")
	}
}
