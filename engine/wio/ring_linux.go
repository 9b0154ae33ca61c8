//go:build linux

package wio

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Kernel ABI constants (include/uapi/linux/io_uring.h).
const (
	sysIOUringSetup = 425
	sysIOUringEnter = 426

	opFsync = 3
	opWrite = 23

	sqeIOLink        = 1 << 2
	fsyncDatasync    = 1
	enterGetEvents   = 1
	offSQRing        = 0
	offCQRing        = 0x8000000
	offSQEs          = 0x10000000
	featSingleMmap   = 1 << 0
	sqeSize          = 64
	cqeSize          = 16
	defaultRingDepth = 256
)

type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqringOffsets
	cqOff                                                                  cqringOffsets
}

type sqe struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64
	addr        uint64
	len         uint32
	opFlags     uint32
	userData    uint64
	bufIndex    uint16
	personality uint16
	spliceFdIn  int32
	addr3       uint64
	pad         uint64
}

type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

// ring is one io_uring instance. It is not safe for concurrent use.
type ring struct {
	fd      int
	sqMem   []byte
	cqMem   []byte
	sqeMem  []byte
	sqHead  *uint32
	sqTail  *uint32
	sqMask  uint32
	sqArray []uint32
	sqes    []sqe
	cqHead  *uint32
	cqTail  *uint32
	cqMask  uint32
	cqes    []cqe
	depth   uint32
}

func newRing(depth uint32) (*ring, error) {
	var p uringParams
	fd, _, errno := unix.Syscall(sysIOUringSetup, uintptr(depth), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("wio: io_uring_setup: %w", errno)
	}
	r := &ring{fd: int(fd), depth: p.sqEntries}
	sqSize := int(p.sqOff.array + p.sqEntries*4)
	cqSize := int(p.cqOff.cqes + p.cqEntries*cqeSize)
	single := p.features&featSingleMmap != 0
	if single {
		sqSize = max(sqSize, cqSize)
	}
	var err error
	r.sqMem, err = unix.Mmap(r.fd, offSQRing, sqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		r.close()
		return nil, fmt.Errorf("wio: mmap sq ring: %w", err)
	}
	if single {
		r.cqMem = r.sqMem
	} else if r.cqMem, err = unix.Mmap(r.fd, offCQRing, cqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		r.close()
		return nil, fmt.Errorf("wio: mmap cq ring: %w", err)
	}
	r.sqeMem, err = unix.Mmap(r.fd, offSQEs, int(p.sqEntries)*sqeSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		r.close()
		return nil, fmt.Errorf("wio: mmap sqes: %w", err)
	}
	r.sqHead = (*uint32)(unsafe.Pointer(&r.sqMem[p.sqOff.head]))
	r.sqTail = (*uint32)(unsafe.Pointer(&r.sqMem[p.sqOff.tail]))
	r.sqMask = *(*uint32)(unsafe.Pointer(&r.sqMem[p.sqOff.ringMask]))
	r.sqArray = unsafe.Slice((*uint32)(unsafe.Pointer(&r.sqMem[p.sqOff.array])), p.sqEntries)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&r.sqeMem[0])), p.sqEntries)
	r.cqHead = (*uint32)(unsafe.Pointer(&r.cqMem[p.cqOff.head]))
	r.cqTail = (*uint32)(unsafe.Pointer(&r.cqMem[p.cqOff.tail]))
	r.cqMask = *(*uint32)(unsafe.Pointer(&r.cqMem[p.cqOff.ringMask]))
	r.cqes = unsafe.Slice((*cqe)(unsafe.Pointer(&r.cqMem[p.cqOff.cqes])), p.cqEntries)
	return r, nil
}

func (r *ring) close() {
	if r.sqeMem != nil {
		unix.Munmap(r.sqeMem)
	}
	if r.cqMem != nil && len(r.cqMem) > 0 && &r.cqMem[0] != &r.sqMem[0] {
		unix.Munmap(r.cqMem)
	}
	if r.sqMem != nil {
		unix.Munmap(r.sqMem)
	}
	unix.Close(r.fd)
}

// rawOp is one prepared submission.
type rawOp struct {
	opcode uint8
	link   bool
	fd     int32
	buf    []byte
	off    uint64
}

// run submits ops (at most depth) in one io_uring_enter and waits for all
// completions, returning each op's result (negative errno on failure). The
// buffers stay reachable through ops until every completion is reaped.
func (r *ring) run(ops []rawOp) ([]int32, error) {
	if uint32(len(ops)) > r.depth {
		return nil, fmt.Errorf("wio: %d ops exceed ring depth %d", len(ops), r.depth)
	}
	tail := atomic.LoadUint32(r.sqTail)
	for i, op := range ops {
		idx := (tail + uint32(i)) & r.sqMask
		e := &r.sqes[idx]
		*e = sqe{opcode: op.opcode, fd: op.fd, off: op.off, userData: uint64(i)}
		if op.link {
			e.flags = sqeIOLink
		}
		switch op.opcode {
		case opWrite:
			if len(op.buf) > 0 {
				e.addr = uint64(uintptr(unsafe.Pointer(&op.buf[0])))
			}
			e.len = uint32(len(op.buf))
		case opFsync:
			e.opFlags = fsyncDatasync
		}
		r.sqArray[idx] = idx
	}
	atomic.StoreUint32(r.sqTail, tail+uint32(len(ops)))
	results := make([]int32, len(ops))
	pending := len(ops)
	toSubmit := uint32(len(ops))
	for pending > 0 {
		submitted, _, errno := unix.Syscall6(sysIOUringEnter, uintptr(r.fd), uintptr(toSubmit), 1, enterGetEvents, 0, 0)
		if errno != 0 && errno != unix.EINTR && errno != unix.EAGAIN && errno != unix.EBUSY {
			// The submitted SQEs may still complete and touch buffers:
			// a ring in this state is unusable, and the caller drops it.
			runtime.KeepAlive(ops)
			return nil, fmt.Errorf("wio: io_uring_enter: %w", errno)
		}
		if errno == 0 {
			toSubmit -= min(uint32(submitted), toSubmit)
		}
		head := atomic.LoadUint32(r.cqHead)
		ctail := atomic.LoadUint32(r.cqTail)
		for ; head != ctail; head++ {
			c := r.cqes[head&r.cqMask]
			if c.userData < uint64(len(results)) {
				results[c.userData] = c.res
				pending--
			}
		}
		atomic.StoreUint32(r.cqHead, head)
	}
	runtime.KeepAlive(ops)
	return results, nil
}
