package signal

import "testing"

func TestNotifyWakesEarlierWaitersOnly(t *testing.T) {
	s := New()
	before := s.Wait()
	s.Notify()
	select {
	case <-before:
	default:
		t.Fatal("a waiter from before Notify was not woken")
	}
	select {
	case <-s.Wait():
		t.Fatal("a waiter from after Notify was woken")
	default:
	}
}
