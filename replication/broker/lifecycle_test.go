package broker

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/logging/logtest"
	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/node"
)

func TestSessionRules(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := NewSession(9 * time.Second)
	if s.Alive(t0) || s.MayLead(t0, 100) {
		t.Fatal("alive before any answer")
	}
	s.Answered(t0, 7)
	if !s.MayLead(t0.Add(8*time.Second), 7) {
		t.Fatal("not leading inside the session")
	}
	if s.MayLead(t0.Add(8*time.Second), 6) {
		t.Fatal("leading from metadata older than the controller's answer")
	}
	if s.Alive(t0.Add(9 * time.Second)) {
		t.Fatal("alive a session timeout after the answered heartbeat was sent")
	}
	// An answer to an older heartbeat arriving late does not extend it.
	s.Answered(t0.Add(-time.Second), 3)
	if got := s.Expires(); !got.Equal(t0.Add(9 * time.Second)) {
		t.Fatalf("expires %v", got)
	}
	s.Answered(t0.Add(10*time.Second), 5) // the index never goes back
	if s.MayLead(t0.Add(11*time.Second), 6) || !s.MayLead(t0.Add(11*time.Second), 7) {
		t.Fatal("index went back")
	}
}

// fakeControllers answers broker requests like controller nodes: the
// address in active answers (with index), others NOT_CONTROLLER, and
// addresses in hung never answer (an unreachable host). With untagged it
// answers as a controller that does not send node.MetadataOffsetTag.
type fakeControllers struct {
	mu       sync.Mutex
	active   string
	hung     map[string]bool
	index    uint64
	untagged bool
	calls    atomic.Int64
}

func (f *fakeControllers) call(ctx context.Context, addr string, req []byte) ([]byte, error) {
	f.calls.Add(1)
	f.mu.Lock()
	hung, active, index := f.hung[addr], f.active == addr, f.index
	f.mu.Unlock()
	if hung {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	correlationID, r, err := node.ParseRequest(req)
	if err != nil {
		return nil, err
	}
	var resp kmsg.Response
	switch r := r.(type) {
	case *kmsg.BrokerRegistrationRequest:
		a := r.ResponseKind().(*kmsg.BrokerRegistrationResponse)
		if a.BrokerEpoch = int64(index); !active {
			a.ErrorCode = kerr.NotController.Code
		}
		resp = a
	case *kmsg.BrokerHeartbeatRequest:
		a := r.ResponseKind().(*kmsg.BrokerHeartbeatResponse)
		if !active {
			a.ErrorCode = kerr.NotController.Code
		}
		a.IsCaughtUp = r.CurrentMetadataOffset >= int64(index)
		resp = a
	default:
		return nil, fmt.Errorf("unexpected %T", r)
	}
	if !f.untagged { // Rill's nodes carry their offset
		switch a := resp.(type) {
		case *kmsg.BrokerRegistrationResponse:
			node.SetMetadataOffset(&a.UnknownTags, index)
		case *kmsg.BrokerHeartbeatResponse:
			node.SetMetadataOffset(&a.UnknownTags, index)
		}
	}
	return node.AppendResponse(nil, correlationID, resp), nil
}

func (f *fakeControllers) set(active string, index uint64, hung ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.active, f.index, f.hung = active, index, map[string]bool{}
	for _, h := range hung {
		f.hung[h] = true
	}
}

func startLifecycle(t *testing.T, f *fakeControllers, heartbeat, session time.Duration, applied ...func() uint64) *Lifecycle {
	cfg := LifecycleConfig{Info: controller.BrokerInfo{ID: 1}, Controllers: []string{"a", "b", "c"},
		Heartbeat: heartbeat, Session: session, Call: f.call, Logger: logtest.Logger(t)}
	if len(applied) > 0 {
		cfg.Applied = applied[0]
	}
	l := NewLifecycle(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return l
}

// waitLead waits, on the lifecycle's signal, until MayLead(applied) is want.
func waitLead(t *testing.T, l *Lifecycle, applied uint64, want bool, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		ch := l.Changed()
		if l.MayLead(applied) == want {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("MayLead(%d) still %v after %v", applied, !want, within)
		}
	}
}

// The active controller becomes unreachable (its host hangs, it does not
// refuse) and another takes over: the broker finds the new one well within
// a session timeout shorter than the old fixed 5 s attempt, and never
// loses its session.
func TestLifecycleSurvivesControllerFailover(t *testing.T) {
	f := &fakeControllers{}
	f.set("a", 1)
	heartbeat, session := 100*time.Millisecond, 800*time.Millisecond
	l := startLifecycle(t, f, heartbeat, session)
	waitLead(t, l, 1, true, 5*time.Second)

	f.set("c", 2, "a") // a unreachable; c active after an election
	lost := l.Changed()
	deadline := time.Now().Add(3 * session)
	for time.Now().Before(deadline) {
		select {
		case <-lost:
			if !l.MayLead(2) {
				t.Fatal("the broker lost its session during a controller failover")
			}
			lost = l.Changed()
		case <-time.After(50 * time.Millisecond):
		}
	}
	if !l.MayLead(2) {
		t.Fatal("not in session after the failover")
	}
}

// With every controller unreachable the broker steps down within its
// session timeout, and leads again only once the quorum answered and its
// metadata reached the index the controller had.
func TestLifecycleStepsDownWithoutQuorum(t *testing.T) {
	f := &fakeControllers{}
	f.set("b", 4)
	heartbeat, session := 50*time.Millisecond, 400*time.Millisecond
	l := startLifecycle(t, f, heartbeat, session)
	waitLead(t, l, 4, true, 5*time.Second)

	cut := time.Now()
	f.set("", 4, "a", "b", "c")
	waitLead(t, l, 4, false, 5*time.Second)
	if took := time.Since(cut); took > session+200*time.Millisecond {
		t.Fatalf("stepped down %v after the cut, session timeout %v", took, session)
	}

	f.set("c", 9) // healed; the quorum moved on to index 9
	waitLead(t, l, 9, true, 5*time.Second)
	if l.MayLead(8) {
		t.Fatal("leads again from metadata older than the controller's")
	}
}

// The metadata offset a controller's answer gives the session: the one
// node.MetadataOffsetTag carries; from a controller that does not send it,
// a registration's broker epoch, or for a heartbeat the offset the broker
// sent when IsCaughtUp says it had the controller's metadata, else one
// past it.
func TestAnswerOffset(t *testing.T) {
	hb := kmsg.NewPtrBrokerHeartbeatRequest()
	hb.CurrentMetadataOffset = 7
	tagged := kmsg.NewPtrBrokerHeartbeatResponse()
	node.SetMetadataOffset(&tagged.UnknownTags, 12)
	caughtUp, behind := kmsg.NewPtrBrokerHeartbeatResponse(), kmsg.NewPtrBrokerHeartbeatResponse()
	caughtUp.IsCaughtUp = true
	reg := kmsg.NewPtrBrokerRegistrationResponse()
	reg.BrokerEpoch = 9
	for _, c := range []struct {
		req  kmsg.Request
		resp kmsg.Response
		want uint64
	}{
		{hb, tagged, 12},
		{hb, caughtUp, 7},
		{hb, behind, 8},
		{kmsg.NewPtrBrokerRegistrationRequest(), reg, 9},
	} {
		// Through the wire, as a broker receives it.
		got, err := node.ParseResponse(node.AppendResponse(nil, 1, c.resp), 1, c.req)
		if err != nil {
			t.Fatal(err)
		}
		if off := answerOffset(c.req, got); off != c.want {
			t.Errorf("%T: offset %d, want %d", c.resp, off, c.want)
		}
	}
}
