package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The versions the loader speaks: the newest ones that are not flexible, so
// a request header is always v1 and a response header v0 (a correlation id
// alone), and that every broker with RecordBatch v2 and zstd (Produce v7,
// Kafka 2.1) answers.
const (
	loadProduceVersion = 7
	loadFetchVersion   = 11
	loadClientID       = "rill-load"
)

// rawConn is a Kafka connection without a client: requests are a header
// and a prebuilt body written in one writev, responses are read whole into
// one buffer that the next read reuses. One goroutine writes and another
// reads; the correlation ids let the reader check that responses come in
// request order.
type rawConn struct {
	conn *net.TCPConn
	r    *bufio.Reader
	buf  []byte
	hdr  []byte
	corr int32
}

func dialRaw(ctx context.Context, addr string) (*rawConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &rawConn{conn: c.(*net.TCPConn), r: bufio.NewReaderSize(c, 1<<20)}, nil
}

// write sends one request and returns its correlation id.
func (rc *rawConn) write(key, version int16, body []byte) (int32, error) {
	rc.corr++
	h := rc.hdr[:0]
	h = binary.BigEndian.AppendUint32(h, uint32(2+2+4+2+len(loadClientID)+len(body)))
	h = binary.BigEndian.AppendUint16(h, uint16(key))
	h = binary.BigEndian.AppendUint16(h, uint16(version))
	h = binary.BigEndian.AppendUint32(h, uint32(rc.corr))
	h = binary.BigEndian.AppendUint16(h, uint16(len(loadClientID)))
	h = append(h, loadClientID...)
	rc.hdr = h
	bufs := net.Buffers{h, body}
	_, err := bufs.WriteTo(rc.conn)
	return rc.corr, err
}

// read returns the next response's correlation id and body; the body is
// valid until the next read.
func (rc *rawConn) read() (int32, []byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(rc.r, size[:]); err != nil {
		return 0, nil, err
	}
	n := int(binary.BigEndian.Uint32(size[:]))
	if n < 4 || n > 1<<30 {
		return 0, nil, fmt.Errorf("bench: response of %d bytes", n)
	}
	if cap(rc.buf) < n {
		rc.buf = make([]byte, n)
	}
	b := rc.buf[:n]
	if _, err := io.ReadFull(rc.r, b); err != nil {
		return 0, nil, err
	}
	return int32(binary.BigEndian.Uint32(b)), b[4:], nil
}

// readResponse reads the next response into resp (of version v): its
// correlation id must be the one after *corr, which it becomes. what names
// the request kind in errors.
func (rc *rawConn) readResponse(corr *int32, resp kmsg.Response, v int16, what string) error {
	got, body, err := rc.read()
	if err != nil {
		return fmt.Errorf("bench: %s response: %w", what, err)
	}
	*corr++
	if got != *corr {
		return fmt.Errorf("bench: %s response %d, want %d", what, got, *corr)
	}
	resp.SetVersion(v)
	if err := resp.ReadFrom(body); err != nil {
		return fmt.Errorf("bench: %s response: %w", what, err)
	}
	return nil
}

// leader creates the topic if missing and returns the address of the one
// broker that leads all its partitions, and how many it has.
func (c LoadConfig) leader(ctx context.Context) (string, int32, error) {
	bc := Config{Brokers: []string{c.Broker}, Topic: c.Topic, Partitions: c.Partitions, ReplicationFactor: c.ReplicationFactor}
	if err := EnsureTopic(ctx, bc); err != nil {
		return "", 0, err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Broker))
	if err != nil {
		return "", 0, err
	}
	defer cl.Close()
	md, err := kadm.NewClient(cl).Metadata(ctx, c.Topic)
	if err != nil {
		return "", 0, err
	}
	t, ok := md.Topics[c.Topic]
	if !ok || t.Err != nil {
		return "", 0, fmt.Errorf("bench: metadata of %s: %v", c.Topic, t.Err)
	}
	leader := int32(-1)
	for _, p := range t.Partitions {
		if p.Err != nil {
			return "", 0, fmt.Errorf("bench: %s/%d: %w", c.Topic, p.Partition, p.Err)
		}
		if leader >= 0 && p.Leader != leader {
			return "", 0, errors.New("bench: load needs one broker leading every partition of the topic")
		}
		leader = p.Leader
	}
	for _, b := range md.Brokers {
		if b.NodeID == leader {
			return net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))), int32(len(t.Partitions)), nil
		}
	}
	return "", 0, fmt.Errorf("bench: leader %d of %s is not among the brokers", leader, c.Topic)
}

// firstError keeps the first error of many goroutines and cancels the run
// on it.
type firstError struct {
	once   sync.Once
	err    error
	cancel context.CancelFunc
}

func (f *firstError) set(err error) {
	if err == nil {
		return
	}
	f.once.Do(func() { f.err = err; f.cancel() })
}

// closeOnDone closes the connections when ctx ends, which unblocks their
// reads and writes; the returned stop ends the watch.
func closeOnDone(ctx context.Context, conns []*rawConn) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
		}
		for _, c := range conns {
			c.conn.Close()
		}
	}()
	return func() { close(done) }
}

func dialAll(ctx context.Context, addr string, n int) ([]*rawConn, error) {
	conns := make([]*rawConn, 0, n)
	for range n {
		c, err := dialRaw(ctx, addr)
		if err != nil {
			for _, c := range conns {
				c.conn.Close()
			}
			return nil, err
		}
		conns = append(conns, c)
	}
	return conns, nil
}
