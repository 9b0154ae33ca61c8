package transport

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// setUserTimeout makes the kernel give up on a connection whose sent data
// stays unacknowledged for d (TCP_USER_TIMEOUT): a peer cut off by the
// network is then noticed by the next write, and the connection redialled
// as soon as the peer is reachable again, instead of the data waiting out
// TCP's retransmission backoff (seen: 6 s and more after a partition
// healed).
func setUserTimeout(d time.Duration) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(d.Milliseconds()))
		})
		if err != nil {
			return err
		}
		return serr
	}
}
