package broker

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

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
// addresses in hung never answer (an unreachable host).
type fakeControllers struct {
	mu     sync.Mutex
	active string
	hung   map[string]bool
	index  uint64
	calls  atomic.Int64
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
	var r node.BrokerRequest
	if err := json.Unmarshal(req, &r); err != nil {
		return nil, err
	}
	if !active {
		return json.Marshal(node.BrokerReply{ErrorCode: kerr.NotController.Code})
	}
	return json.Marshal(node.BrokerReply{MetadataIndex: index})
}

func (f *fakeControllers) set(active string, index uint64, hung ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.active, f.index, f.hung = active, index, map[string]bool{}
	for _, h := range hung {
		f.hung[h] = true
	}
}

func startLifecycle(t *testing.T, f *fakeControllers, heartbeat, session time.Duration) *Lifecycle {
	l := NewLifecycle(LifecycleConfig{Info: controller.BrokerInfo{ID: 1}, Controllers: []string{"a", "b", "c"},
		Heartbeat: heartbeat, Session: session, Call: f.call, Logf: t.Logf})
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
