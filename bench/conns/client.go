package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// conn is one raw Kafka connection: requests out, whole response frames
// in, nothing parsed but the correlation ID. A kgo client per connection
// would cost the tool more than the broker for 10,000 of them.
type conn struct {
	c    net.Conn
	r    *bufio.Reader
	fmt  *kmsg.RequestFormatter
	corr int32
	buf  []byte
}

func dial(addr string) (*conn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	return &conn{c: c, r: bufio.NewReaderSize(c, 4<<10), fmt: kmsg.NewRequestFormatter(kmsg.FormatterClientID("rill-conns"))}, nil
}

// send writes req without waiting for its answer.
func (c *conn) send(req kmsg.Request) error {
	c.corr++
	c.buf = c.fmt.AppendRequest(c.buf[:0], req, c.corr)
	_, err := c.c.Write(c.buf)
	return err
}

// recv reads one response frame and checks it answers the oldest request
// sent (the broker answers in order).
func (c *conn) recv(want int32) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(c.r, size[:]); err != nil {
		return nil, err
	}
	frame := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c.r, frame); err != nil {
		return nil, err
	}
	if len(frame) < 4 || int32(binary.BigEndian.Uint32(frame)) != want {
		return nil, fmt.Errorf("answer out of order: want correlation ID %d", want)
	}
	return frame[4:], nil
}

// roundTrip sends req and reads its answer into resp (the body after the
// response header).
func (c *conn) roundTrip(req kmsg.Request, resp kmsg.Response) error {
	if err := c.send(req); err != nil {
		return err
	}
	body, err := c.recv(c.corr)
	if err != nil {
		return err
	}
	resp.SetVersion(req.GetVersion())
	if resp.IsFlexible() && resp.Key() != 18 { // ApiVersions answers with a v0 header
		if len(body) == 0 {
			return fmt.Errorf("empty response")
		}
		body = body[1:] // no header tags in Rill's answers
	}
	return resp.ReadFrom(body)
}

// hello is what every client does on connecting: ApiVersions, then
// Metadata for topic (all topics when empty).
func (c *conn) hello(topic string) error {
	av := kmsg.NewPtrApiVersionsRequest()
	av.Version = 3
	av.ClientSoftwareName, av.ClientSoftwareVersion = "rill-conns", "1"
	if err := c.roundTrip(av, kmsg.NewPtrApiVersionsResponse()); err != nil {
		return fmt.Errorf("ApiVersions: %w", err)
	}
	md := kmsg.NewPtrMetadataRequest()
	md.Version = 12
	if topic != "" {
		t := kmsg.NewMetadataRequestTopic()
		t.Topic = kmsg.StringPtr(topic)
		md.Topics = append(md.Topics, t)
	}
	mresp := kmsg.NewPtrMetadataResponse()
	if err := c.roundTrip(md, mresp); err != nil {
		return fmt.Errorf("Metadata: %w", err)
	}
	for _, t := range mresp.Topics {
		if t.ErrorCode != 0 {
			return fmt.Errorf("Metadata: topic %v: error code %d", t.Topic, t.ErrorCode)
		}
	}
	return nil
}

func (c *conn) close() { c.c.Close() }
