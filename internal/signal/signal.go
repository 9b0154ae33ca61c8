// Package signal is a broadcast for "something changed": Wait returns a
// channel that closes at the next Notify. Take the channel before looking
// at the state it guards, so no change between the look and the wait is
// missed. Safe for concurrent use.
package signal

import "sync"

// Signal is a broadcast; use New.
type Signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// New returns a Signal.
func New() *Signal { return &Signal{ch: make(chan struct{})} }

// Wait returns a channel closed at the next Notify.
func (s *Signal) Wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

// Notify wakes every waiter.
func (s *Signal) Notify() {
	s.mu.Lock()
	close(s.ch)
	s.ch = make(chan struct{})
	s.mu.Unlock()
}
