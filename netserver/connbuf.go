package netserver

// Buffers of the netconn transport's connections. A broker with 10,000
// client connections has most of them idle at any moment (issue 16), and a
// connection that kept its own 64 KiB reader and writer, its last encoded
// answer and its Produce frame would hold 130 KiB or more while it waits:
// heap the GC paces by, and resident memory once the pages are reused.
// So a connection holds buffers only while it has requests in hand: when
// nothing it sent is left unread, the buffers go back to process-wide
// pools and the goroutine waits for the next request's 4-byte size prefix
// on the socket itself; the pools hand buffers back when that arrives.
// Active connections keep theirs across pipelined requests; a connection
// with one request at a time pays a pool round trip and one more read
// call (the prefix's) per request, measured in BENCHMARKS.md
// ("Connections").

import (
	"bufio"
	"io"
	"math/bits"
	"net"
	"sync"
)

// connBufferSize is the reader's and the writer's size. Reads and writes
// larger than it bypass it (bufio), so it bounds the copies of small
// pipelined requests and answers, not the largest frame.
const connBufferSize = 64 << 10

// maxPooledOut bounds an encoding buffer the pool keeps: one that grew
// for a large Fetch answer is dropped rather than pinned.
const maxPooledOut = 1 << 20

var (
	readerPool  = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, connBufferSize) }}
	writerPool  = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, connBufferSize) }}
	outPool     sync.Pool // *[]byte: encoded answers
	producePool sync.Pool // *[]byte: Produce frames (see serve)
)

// connBuffers are one connection's buffers, owned by its serving
// goroutine. r and w are nil while the connection is idle.
type connBuffers struct {
	c       net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	out     []byte // the answer being encoded
	produce []byte // the Produce frame being handled
}

// readSize reads the next request's size prefix into p. With nothing
// buffered the connection is idle: its buffers go back to the pools
// (after sending what w still holds) and the prefix is read from the
// socket; it has buffers again on return.
func (b *connBuffers) readSize(p *[4]byte) error {
	if b.r != nil && b.r.Buffered() > 0 {
		_, err := io.ReadFull(b.r, p[:])
		return err
	}
	if err := b.release(true); err != nil {
		return err
	}
	if _, err := io.ReadFull(b.c, p[:]); err != nil {
		return err
	}
	b.r = readerPool.Get().(*bufio.Reader)
	b.r.Reset(b.c)
	b.w = writerPool.Get().(*bufio.Writer)
	b.w.Reset(b.c)
	return nil
}

// frame is a buffer of size bytes for a request frame. Produce frames
// (reuse) come from a pool: nothing keeps their bytes past the request,
// so the next Produce of any connection may take the buffer. Other frames
// are fresh: kmsg's []byte fields alias the frame and the group
// coordinator keeps some (member metadata, assignments).
func (b *connBuffers) frame(size int, reuse bool) []byte {
	if !reuse || size > maxReusedFrame {
		return make([]byte, size)
	}
	if b.produce == nil {
		if p, ok := producePool.Get().(*[]byte); ok {
			b.produce = *p
		}
	}
	if cap(b.produce) < size {
		// A power of two: frames of similar sizes then fit the buffers
		// the pool holds, which an exact size would not (each a few
		// bytes short of the next frame, dropped and allocated again).
		b.produce = make([]byte, 1<<bits.Len(uint(size-1)))
	}
	return b.produce[:size]
}

// encodeBuffer is the empty buffer to encode an answer into; the caller
// hands the grown one back with keepEncoded.
func (b *connBuffers) encodeBuffer() []byte {
	if b.out == nil {
		if p, ok := outPool.Get().(*[]byte); ok {
			b.out = *p
		}
	}
	return b.out[:0]
}

func (b *connBuffers) keepEncoded(out []byte) { b.out = out }

// release puts the buffers back in their pools. flush first sends what
// the writer holds (an acks=0 Produce after pipelined answers leaves the
// loop without flushing); a closing connection passes false.
func (b *connBuffers) release(flush bool) error {
	if b.w != nil {
		if flush && b.w.Buffered() > 0 {
			if err := b.w.Flush(); err != nil {
				return err
			}
		}
		b.w.Reset(nil)
		writerPool.Put(b.w)
		b.w = nil
	}
	if b.r != nil {
		b.r.Reset(nil)
		readerPool.Put(b.r)
		b.r = nil
	}
	if b.out != nil {
		if cap(b.out) <= maxPooledOut {
			out := b.out[:0]
			outPool.Put(&out)
		}
		b.out = nil
	}
	if b.produce != nil {
		p := b.produce[:0]
		producePool.Put(&p)
		b.produce = nil
	}
	return nil
}
