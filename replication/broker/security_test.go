package broker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/internal/logging/logtest"
	"github.com/rillmq/rill/internal/signal"
	"github.com/rillmq/rill/replication/controller"
)

// aclSink is an ACLSink that refuses what an authorizer refuses: an id
// added twice, or removed when absent.
type aclSink struct {
	mu   sync.Mutex
	acls map[controller.ACLID]controller.ACLBinding
	errs []error
}

func newACLSink() *aclSink { return &aclSink{acls: map[controller.ACLID]controller.ACLBinding{}} }

func (s *aclSink) AddACL(id controller.ACLID, b controller.ACLBinding) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.acls[id]; ok {
		err := fmt.Errorf("acl %s added twice", id)
		s.errs = append(s.errs, err)
		return err
	}
	s.acls[id] = b
	return nil
}

func (s *aclSink) RemoveACL(id controller.ACLID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.acls[id]; !ok {
		err := fmt.Errorf("acl %s removed but absent", id)
		s.errs = append(s.errs, err)
		return err
	}
	delete(s.acls, id)
	return nil
}

// names are the resource names of the ACLs held; errs what went wrong.
func (s *aclSink) names() (map[string]bool, []error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]bool{}
	for _, b := range s.acls {
		out[b.ResourceName] = true
	}
	return out, s.errs
}

func readACL(name string) controller.ACLBinding {
	return controller.ACLBinding{ResourceType: 2, ResourceName: name, PatternType: controller.ACLPatternLiteral, Principal: "User:alice",
		Host: "*", Operation: 3, Permission: controller.ACLPermissionAllow}
}

// Through the in-process controller: the authorizer (sink) and the SCRAM
// credentials have every change when the request returns, and a
// restarted broker has them all again before it is ready.
func TestSecurityAppliedBeforeAnswerAndRestart(t *testing.T) {
	fs := vfs.NewMemFS()
	s := startSingle(t, fs, false)
	ctx := context.Background()
	bad := readACL("")
	errs, err := s.rt.CreateACLs(ctx, []controller.ACLBinding{readACL("a"), readACL("b"), bad})
	if err != nil || errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], kerr.InvalidRequest) {
		t.Fatalf("create: %v %v", err, errs)
	}
	if names, errs := s.acls.names(); !maps.Equal(names, map[string]bool{"a": true, "b": true}) || errs != nil {
		t.Fatalf("authorizer holds %v (%v) when CreateACLs returned", names, errs)
	}
	a := "a"
	matched, errs, err := s.rt.DeleteACLs(ctx, []controller.ACLFilter{{ResourceType: controller.ACLResourceAny, ResourceName: &a,
		PatternType: controller.ACLPatternAny, Operation: controller.ACLOperationAny, Permission: controller.ACLPermissionAny}})
	if err != nil || errs[0] != nil || len(matched[0]) != 1 || matched[0][0] != readACL("a") {
		t.Fatalf("delete: %v %v %v", err, errs, matched)
	}
	if names, _ := s.acls.names(); !maps.Equal(names, map[string]bool{"b": true}) {
		t.Fatalf("authorizer holds %v after the delete returned", names)
	}
	up := controller.ScramUpsertion{User: "alice", Mechanism: controller.ScramSHA512, Iterations: 8192, Salt: []byte("salt"),
		SaltedPassword: []byte("salted")}
	res, err := s.rt.AlterScramCredentials(ctx, []controller.ScramDeletion{{User: "bob", Mechanism: controller.ScramSHA256}},
		[]controller.ScramUpsertion{up})
	if err != nil || len(res) != 2 || res[0].User != "alice" || res[0].Err != nil || !errors.Is(res[1].Err, kerr.ResourceNotFound) {
		t.Fatalf("alter: %v %+v", err, res)
	}
	want := controller.ScramFromSaltedPassword(up)
	if c, ok := s.rt.ScramCredential("SCRAM-SHA-512", "alice"); !ok || string(c.StoredKey) != string(want.StoredKey) || c.Iterations != 8192 {
		t.Fatalf("alice's credential %+v %v", c, ok)
	}
	if _, ok := s.rt.ScramCredential("SCRAM-SHA-256", "alice"); ok {
		t.Fatal("a SCRAM-SHA-256 credential nobody created")
	}
	s.close()

	s = startSingle(t, fs, false) // Ready: replayed and applied
	if names, errs := s.acls.names(); !maps.Equal(names, map[string]bool{"b": true}) || errs != nil {
		t.Fatalf("after a restart the authorizer holds %v (%v)", names, errs)
	}
	if c, ok := s.rt.ScramCredential("SCRAM-SHA-512", "alice"); !ok || c.Iterations != 8192 {
		t.Fatalf("after a restart alice's credential %+v %v", c, ok)
	}
	if creds := s.rt.ScramCredentials(); len(creds) != 1 || len(creds["alice"]) != 1 {
		t.Fatalf("credentials %v", creds)
	}
}

// imageSource is a Source whose image a test replaces whole, as a Remote
// copy is.
type imageSource struct {
	mu    sync.Mutex
	image *controller.Image
	index uint64
}

func (s *imageSource) View(fn func(*controller.Image)) { s.mu.Lock(); defer s.mu.Unlock(); fn(s.image) }
func (s *imageSource) Leader() uint64                  { return 1 }
func (s *imageSource) Changed() <-chan struct{}        { return make(chan struct{}) }
func (s *imageSource) Replayed() bool                  { return true }
func (s *imageSource) Applied() uint64                 { s.mu.Lock(); defer s.mu.Unlock(); return s.index }

func (s *imageSource) set(index uint64, acls map[controller.ACLID]controller.ACLBinding, users ...string) {
	im := controller.NewImage()
	im.ACLs = acls
	for _, u := range users {
		im.Scram = map[string]map[int8]controller.ScramCredential{u: {controller.ScramSHA256: {User: u, Mechanism: controller.ScramSHA256, Iterations: 4096}}}
	}
	s.mu.Lock()
	s.image, s.index = im, index
	s.mu.Unlock()
}

// Whole images replacing each other (a broker-only node's copies) feed the
// sink the differences: new ids added, missing ones removed, an id whose
// binding changed replaced; an unchanged index is not read again.
func TestSyncSecurityDiffsImages(t *testing.T) {
	src := &imageSource{}
	sink := newACLSink()
	r := &Runtime{source: src, cfg: Config{ACLs: sink, Logger: logtest.Logger(t)}, passes: signal.New()}
	src.set(5, map[controller.ACLID]controller.ACLBinding{{1}: readACL("a"), {2}: readACL("b")}, "alice")
	r.syncSecurity()
	if names, _ := sink.names(); !maps.Equal(names, map[string]bool{"a": true, "b": true}) {
		t.Fatalf("first image: %v", names)
	}
	if _, ok := r.ScramCredential("SCRAM-SHA-256", "alice"); !ok {
		t.Fatal("no credential for alice")
	}
	src.set(5, map[controller.ACLID]controller.ACLBinding{}) // same index: not read
	r.syncSecurity()
	if names, _ := sink.names(); len(names) != 2 {
		t.Fatalf("an image at the same index was read: %v", names)
	}
	src.set(9, map[controller.ACLID]controller.ACLBinding{{2}: readACL("b2"), {3}: readACL("c")}, "bob")
	r.syncSecurity()
	names, errs := sink.names()
	if !maps.Equal(names, map[string]bool{"b2": true, "c": true}) || errs != nil {
		t.Fatalf("second image: %v %v", names, errs)
	}
	if _, ok := r.ScramCredential("SCRAM-SHA-256", "alice"); ok {
		t.Fatal("alice's credential outlived its image")
	}
	if _, ok := r.ScramCredential("SCRAM-SHA-256", "bob"); !ok || r.security.applied.Load() != 9 {
		t.Fatalf("bob's credential missing, or applied %d", r.security.applied.Load())
	}
}
