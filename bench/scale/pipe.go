package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// pipe is one raw Kafka connection: kmsg-encoded requests out, whole
// response frames in. A kgo client per connection, group or producer would
// cost the tool more than the broker at 10,000 of them.
type pipe struct {
	c    net.Conn
	r    *bufio.Reader
	fmt  *kmsg.RequestFormatter
	corr int32
	wbuf []byte
	rbuf []byte
}

func dialPipe(addr string) (*pipe, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	return &pipe{c: c, r: bufio.NewReaderSize(c, 4<<10), fmt: kmsg.NewRequestFormatter(kmsg.FormatterClientID("rill-scale"))}, nil
}

func dialPipes(addr string, n int) ([]*pipe, error) {
	ps := make([]*pipe, 0, n)
	for range n {
		p, err := dialPipe(addr)
		if err != nil {
			closePipes(ps)
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

func closePipes(ps []*pipe) {
	for _, p := range ps {
		p.c.Close()
	}
}

// send writes req and returns its correlation id.
func (p *pipe) send(req kmsg.Request) (int32, error) {
	p.corr++
	p.wbuf = p.fmt.AppendRequest(p.wbuf[:0], req, p.corr)
	_, err := p.c.Write(p.wbuf)
	return p.corr, err
}

// recv reads the next response frame into resp, which must answer the
// request with correlation id want (the broker answers in order). It
// returns the frame's size.
func (p *pipe) recv(want int32, resp kmsg.Response) (int, error) {
	var size [4]byte
	if _, err := io.ReadFull(p.r, size[:]); err != nil {
		return 0, err
	}
	n := int(binary.BigEndian.Uint32(size[:]))
	if n < 4 || n > 1<<30 {
		return 0, fmt.Errorf("response of %d bytes", n)
	}
	if cap(p.rbuf) < n {
		p.rbuf = make([]byte, n)
	}
	frame := p.rbuf[:n]
	if _, err := io.ReadFull(p.r, frame); err != nil {
		return 0, err
	}
	if got := int32(binary.BigEndian.Uint32(frame)); got != want {
		return 0, fmt.Errorf("answer %d out of order: want correlation id %d", got, want)
	}
	body := frame[4:]
	if resp.IsFlexible() && resp.Key() != 18 { // ApiVersions answers with a v0 header
		if len(body) == 0 || body[0] != 0 {
			return 0, errors.New("response header with tags")
		}
		body = body[1:]
	}
	return 4 + n, resp.ReadFrom(body)
}

// roundTrip sends req and reads its answer.
func (p *pipe) roundTrip(req kmsg.Request, resp kmsg.Response) (int, error) {
	corr, err := p.send(req)
	if err != nil {
		return 0, err
	}
	resp.SetVersion(req.GetVersion())
	return p.recv(corr, resp)
}

// op is one request of a pipelined run and what to do with its answer
// (d: send to answer).
type op struct {
	req  kmsg.Request
	done func(resp kmsg.Response, d time.Duration)
}

// pipeline runs each connection with up to window requests in flight:
// next(c, i) is connection c's i-th request, or ok=false to stop it. New
// requests stop at deadline; the answers to those in flight are still
// read, for at most drain more.
func pipeline(ctx context.Context, ps []*pipe, window int, deadline time.Time, drain time.Duration, next func(c, i int) (op, bool)) error {
	type sent struct {
		at   time.Time
		corr int32
		op   op
	}
	hard, cancel := context.WithDeadline(ctx, deadline.Add(drain))
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil && hard.Err() == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	go func() { // a stuck connection ends with the hard deadline
		<-hard.Done()
		if ctx.Err() != nil || time.Now().After(deadline.Add(drain)) {
			closePipes(ps)
		}
	}()
	for c, p := range ps {
		pending := make(chan sent, window)
		wg.Add(2)
		go func() {
			defer wg.Done()
			defer close(pending)
			for i := 0; time.Now().Before(deadline) && hard.Err() == nil; i++ {
				o, ok := next(c, i)
				if !ok {
					return
				}
				at := time.Now()
				corr, err := p.send(o.req)
				if err != nil {
					fail(fmt.Errorf("send: %w", err))
					return
				}
				select { // blocks while window requests are in flight
				case pending <- sent{at: at, corr: corr, op: o}:
				case <-hard.Done():
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for s := range pending {
				resp := s.op.req.ResponseKind()
				if _, err := p.recv(s.corr, resp); err != nil {
					fail(fmt.Errorf("%T: %w", resp, err))
					for range pending {
					}
					return
				}
				s.op.done(resp, time.Since(s.at))
			}
		}()
	}
	wg.Wait()
	return firstErr
}
