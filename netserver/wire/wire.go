// Package wire frames Kafka requests and responses: bytes in, bytes out.
//
// A request frame is a 4-byte big-endian size followed by that many bytes:
//
//	int16 api key, int16 api version, int32 correlation id,
//	nullable string client id (always non-compact, even in flexible versions),
//	[tagged fields when the request version is flexible], body
//
// A response frame is the size, the correlation id, [tagged fields when the
// response header is v1: flexible versions of every API except ApiVersions],
// then the body. Bodies are encoded and decoded by
// github.com/twmb/franz-go/pkg/kmsg; this package only does the headers.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ErrMalformed marks a frame that cannot be parsed; the connection that sent
// it is closed.
var ErrMalformed = errors.New("wire: malformed request")

// ApiVersionsKey is the key whose response header stays v0 even when flexible.
const ApiVersionsKey = 18

// Header is a parsed request header.
type Header struct {
	Key           int16
	Version       int16
	CorrelationID int32
	ClientID      string
}

// Request is a parsed request: its header and either a decoded kmsg request,
// or, when the version is not one kmsg (or we) can decode, Body alone.
type Request struct {
	Header
	Body []byte
	Msg  kmsg.Request
	// ClientHost is the peer's address as Kafka shows it ("/127.0.0.1"),
	// set by the server, not the frame.
	ClientHost string
}

// ParseHeader reads the header of a frame's payload and returns it and the
// rest (tagged fields skipped when flexible).
func ParseHeader(frame []byte) (Header, []byte, bool, error) {
	var h Header
	if len(frame) < 8 {
		return h, nil, false, fmt.Errorf("%w: %d-byte header", ErrMalformed, len(frame))
	}
	h.Key = int16(binary.BigEndian.Uint16(frame))
	h.Version = int16(binary.BigEndian.Uint16(frame[2:]))
	h.CorrelationID = int32(binary.BigEndian.Uint32(frame[4:]))
	rest := frame[8:]
	if len(rest) < 2 {
		return h, nil, false, fmt.Errorf("%w: no client id", ErrMalformed)
	}
	n := int16(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if n >= 0 {
		if int(n) > len(rest) {
			return h, nil, false, fmt.Errorf("%w: client id overruns", ErrMalformed)
		}
		h.ClientID = string(rest[:n])
		rest = rest[n:]
	} else if n != -1 {
		return h, nil, false, fmt.Errorf("%w: client id length %d", ErrMalformed, n)
	}
	msg := kmsg.RequestForKey(h.Key)
	if msg == nil {
		return h, rest, false, nil
	}
	msg.SetVersion(h.Version)
	flexible := msg.IsFlexible()
	if flexible {
		skipped, err := skipTags(rest)
		if err != nil {
			if h.Version > msg.MaxVersion() {
				// A version we cannot decode anyway: keep the header so
				// the caller can answer (ApiVersions) or close politely.
				return h, rest, flexible, nil
			}
			return h, nil, false, err
		}
		rest = skipped
	}
	return h, rest, flexible, nil
}

// Parse parses a whole request payload (after the size prefix). Msg is nil
// when the key is unknown or the version is outside [0, kmsg max]; callers
// answer UNSUPPORTED_VERSION (ApiVersions answers with its v0 fallback).
func Parse(frame []byte) (*Request, error) {
	h, body, _, err := ParseHeader(frame)
	if err != nil {
		return nil, err
	}
	req := &Request{Header: h, Body: body}
	msg := kmsg.RequestForKey(h.Key)
	if msg == nil || h.Version < 0 || h.Version > msg.MaxVersion() {
		return req, nil
	}
	msg.SetVersion(h.Version)
	if err := msg.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("%w: %s v%d body: %v", ErrMalformed, kmsg.NameForKey(h.Key), h.Version, err)
	}
	req.Msg = msg
	return req, nil
}

func uvarint(b []byte) (uint64, []byte, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, fmt.Errorf("%w: bad uvarint", ErrMalformed)
	}
	return v, b[n:], nil
}

func skipTags(b []byte) ([]byte, error) {
	n, b, err := uvarint(b)
	if err != nil {
		return nil, err
	}
	for i := uint64(0); i < n; i++ {
		if _, b, err = uvarint(b); err != nil {
			return nil, err
		}
		var size uint64
		if size, b, err = uvarint(b); err != nil {
			return nil, err
		}
		if size > uint64(len(b)) {
			return nil, fmt.Errorf("%w: tag overruns", ErrMalformed)
		}
		b = b[size:]
	}
	return b, nil
}

// AppendResponse appends a whole response frame (size prefix included).
func AppendResponse(dst []byte, correlationID int32, resp kmsg.Response) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(correlationID))
	if resp.IsFlexible() && resp.Key() != ApiVersionsKey {
		dst = append(dst, 0) // no tagged fields in the response header
	}
	dst = resp.AppendTo(dst)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}
