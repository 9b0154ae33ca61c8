package fuzz

import (
	"encoding/binary"
	"io"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver"
)

// saslFrame is a request frame as a connection delivers it (header and
// body, no size prefix).
func saslFrame(req kmsg.Request, version int16, corr int32) []byte {
	req.SetVersion(version)
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID("fuzz")).AppendRequest(nil, req, corr)[4:]
}

// FuzzSASLConnection: arbitrary request frames, cut from the input by
// 2-byte lengths, through a connection's SASL state (the exchange the
// SASL listeners and the controller listener run): never a panic, every
// answer a whole response, and an exchange reported complete only after a
// successful SaslAuthenticate answer.
func FuzzSASLConnection(f *testing.F) {
	auth := saslAuthenticator(f)
	join := func(frames ...[]byte) []byte {
		var out []byte
		for _, fr := range frames {
			out = binary.BigEndian.AppendUint16(out, uint16(len(fr)))
			out = append(out, fr...)
		}
		return out
	}
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Mechanism = "PLAIN"
	au := kmsg.NewPtrSASLAuthenticateRequest()
	au.SASLAuthBytes = []byte("\x00alice\x00alice-secret")
	f.Add(join(saslFrame(hs, 1, 1), saslFrame(au, 2, 2)))
	f.Add(join(saslFrame(hs, 0, 1), []byte("\x00alice\x00alice-secret")))
	f.Add(join(saslFrame(au, 1, 1)))
	f.Add(join(saslFrame(kmsg.NewPtrMetadataRequest(), 12, 1)))
	f.Add(join(saslFrame(hs, 1, 1)[:5]))
	f.Fuzz(func(t *testing.T, data []byte) {
		var frames [][]byte
		for len(data) >= 2 {
			n := int(binary.BigEndian.Uint16(data))
			data = data[2:]
			if n > len(data) {
				n = len(data)
			}
			frames = append(frames, data[:n])
			data = data[n:]
		}
		var answers [][]byte
		next := func() ([]byte, error) {
			if len(frames) == 0 {
				return nil, io.EOF
			}
			fr := frames[0]
			frames = frames[1:]
			return fr, nil
		}
		reply := func(b []byte) error {
			if len(b) < 4 {
				t.Fatalf("answer of %d bytes: no correlation id", len(b))
			}
			answers = append(answers, b)
			return nil
		}
		if _, err := netserver.SASLExchange(auth, 0)(next, reply); err == nil {
			if len(answers) == 0 {
				t.Fatal("authenticated without an answer")
			}
			last := kmsg.NewPtrSASLAuthenticateResponse()
			last.SetVersion(1)
			if last.ReadFrom(answers[len(answers)-1][4:]) != nil || last.ErrorCode != 0 {
				// v2 answers have a tagged header: accept a clean v2 decode too.
				last.SetVersion(2)
				if b := answers[len(answers)-1][4:]; len(b) == 0 || last.ReadFrom(b[1:]) != nil || last.ErrorCode != 0 {
					t.Fatalf("authenticated, but the last answer is no successful SaslAuthenticate: %x", answers[len(answers)-1])
				}
			}
		}
	})
}
