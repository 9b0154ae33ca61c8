package node

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/internal/logging/logtest"
	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/quorum"
)

func aclCreation(name, principal string) kmsg.CreateACLsRequestCreation {
	c := kmsg.NewCreateACLsRequestCreation()
	c.ResourceType, c.ResourceName, c.ResourcePatternType = kmsg.ACLResourceTypeTopic, name, kmsg.ACLResourcePatternTypeLiteral
	c.Principal, c.Host, c.Operation, c.PermissionType = principal, "*", kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow
	return c
}

// CreateAcls, DeleteAcls and AlterUserScramCredentials as a broker sends
// them: per-item outcomes, and the metadata offset that holds them.
func TestSecurityRPCs(t *testing.T) {
	n := startSingle(t)
	create := kmsg.NewPtrCreateACLsRequest()
	bad := aclCreation("", "User:x") // empty name
	create.Creations = []kmsg.CreateACLsRequestCreation{aclCreation("a", "User:alice"), aclCreation("b", "User:bob"), bad}
	resp, err := rpc[*kmsg.CreateACLsResponse](t, n, create)
	wantCode(t, "CreateAcls", err, nil)
	if resp.Results[0].ErrorCode != 0 || resp.Results[1].ErrorCode != 0 || resp.Results[2].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("results %+v", resp.Results)
	}
	offset, ok := MetadataOffset(resp)
	if !ok || offset < 1 || offset > n.Applied() {
		t.Fatalf("metadata offset %d %v (applied %d)", offset, ok, n.Applied())
	}
	var acls map[controller.ACLID]controller.ACLBinding
	n.View(func(im *controller.Image) { acls = im.ACLs })
	if len(acls) != 2 {
		t.Fatalf("image acls %v", acls)
	}
	// Again: nothing new (Kafka answers success).
	applied := n.Applied()
	resp, err = rpc[*kmsg.CreateACLsResponse](t, n, create)
	wantCode(t, "CreateAcls again", err, nil)
	if resp.Results[0].ErrorCode != 0 || n.Applied() != applied {
		t.Fatalf("a repeated creation: %+v, applied %d → %d", resp.Results, applied, n.Applied())
	}

	del := kmsg.NewPtrDeleteACLsRequest()
	f := kmsg.NewDeleteACLsRequestFilter()
	f.ResourceType, f.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
	f.Principal = kmsg.StringPtr("User:alice")
	f.Operation, f.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	unknown := f
	unknown.Operation = kmsg.ACLOperationUnknown
	del.Filters = []kmsg.DeleteACLsRequestFilter{f, unknown}
	dresp, err := rpc[*kmsg.DeleteACLsResponse](t, n, del)
	wantCode(t, "DeleteAcls", err, nil)
	if r := dresp.Results[0]; r.ErrorCode != 0 || len(r.MatchingACLs) != 1 || r.MatchingACLs[0].ResourceName != "a" {
		t.Fatalf("deleted %+v", r)
	}
	if dresp.Results[1].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("unknown filter: %+v", dresp.Results[1])
	}
	n.View(func(im *controller.Image) { acls = im.ACLs })
	if len(acls) != 1 {
		t.Fatalf("image acls after delete %v", acls)
	}

	alter := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	up := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
	up.Name, up.Mechanism, up.Iterations, up.Salt, up.SaltedPassword = "alice", controller.ScramSHA512, 8192, []byte("salt"), []byte("salted")
	few := up
	few.Name, few.Iterations = "bob", 100
	gone := kmsg.NewAlterUserSCRAMCredentialsRequestDeletion()
	gone.Name, gone.Mechanism = "carol", controller.ScramSHA256
	alter.Upsertions, alter.Deletions = []kmsg.AlterUserSCRAMCredentialsRequestUpsertion{up, few}, []kmsg.AlterUserSCRAMCredentialsRequestDeletion{gone}
	aresp, err := rpc[*kmsg.AlterUserSCRAMCredentialsResponse](t, n, alter)
	wantCode(t, "AlterUserScramCredentials", err, nil)
	codes := map[string]int16{}
	for _, r := range aresp.Results {
		codes[r.User] = r.ErrorCode
	}
	if codes["alice"] != 0 || codes["bob"] != kerr.UnacceptableCredential.Code || codes["carol"] != kerr.ResourceNotFound.Code || len(codes) != 3 {
		t.Fatalf("results %+v", aresp.Results)
	}
	if _, ok := MetadataOffset(aresp); !ok {
		t.Fatal("no metadata offset")
	}
	var cred controller.ScramCredential
	n.View(func(im *controller.Image) { cred = im.Scram["alice"][controller.ScramSHA512] })
	if cred.Iterations != 8192 || len(cred.StoredKey) != 64 {
		t.Fatalf("alice's credential %+v", cred)
	}
}

// ACLs and SCRAM credentials survive a restart: the node loads its last
// snapshot of the image (taken every two entries here) and replays the
// entries after it.
func TestSecuritySurvivesSnapshotAndReplay(t *testing.T) {
	fs := vfs.NewMemFS()
	fs.MkdirAll("/m", 0o755)
	start := func() (*Node, *quorum.WAL) { return startSnapshotting(t, fs) }
	n, w := start()
	ctx := context.Background()
	for i := range 7 {
		b := controller.ACLBinding{ResourceType: 2, ResourceName: fmt.Sprint("t", i), PatternType: controller.ACLPatternLiteral,
			Principal: "User:u", Host: "*", Operation: 3, Permission: controller.ACLPermissionAllow}
		if errs, err := n.CreateACLs(ctx, []controller.ACLBinding{b}, []controller.ACLID{{byte(i + 1)}}); err != nil || errs[0] != nil {
			t.Fatal(err, errs)
		}
		up := controller.ScramUpsertion{User: fmt.Sprint("user", i), Mechanism: controller.ScramSHA256, Iterations: 4096,
			Salt: []byte("s"), SaltedPassword: []byte("p")}
		if res, err := n.AlterScramCredentials(ctx, nil, []controller.ScramUpsertion{up}); err != nil || res[0].Err != nil {
			t.Fatal(err, res)
		}
	}
	name := "t3"
	if _, errs, err := n.DeleteACLs(ctx, []controller.ACLFilter{{ResourceType: controller.ACLResourceAny, ResourceName: &name,
		PatternType: controller.ACLPatternAny, Operation: controller.ACLOperationAny, Permission: controller.ACLPermissionAny}}); err != nil || errs[0] != nil {
		t.Fatal(err, errs)
	}
	var before *controller.Image
	n.View(func(im *controller.Image) { before = im.Clone() })
	n.Stop()
	w.Close()
	n, w = start()
	defer func() { n.Stop(); w.Close() }()
	var after *controller.Image
	n.View(func(im *controller.Image) { after = im.Clone() })
	if len(before.ACLs) != 6 || len(before.Scram) != 7 || !reflect.DeepEqual(before.ACLs, after.ACLs) || !reflect.DeepEqual(before.Scram, after.Scram) {
		t.Fatalf("before the restart %d acls, %d users; after %v %v", len(before.ACLs), len(before.Scram), after.ACLs, after.Scram)
	}
}

// startSnapshotting starts a one-voter node on the WAL /m/1.wal of fs that
// snapshots every two entries, and waits until it is active and has
// replayed its log: the restart tests start it twice on the same fs.
func startSnapshotting(t *testing.T, fs vfs.FS) (*Node, *quorum.WAL) {
	t.Helper()
	w, restored, err := quorum.OpenWAL(fs, "/m/1.wal")
	if err != nil {
		t.Fatal(err)
	}
	n, err := Start(Config{ID: 1, Voters: []uint64{1}, Tick: 5 * time.Millisecond, SessionTimeout: time.Hour, SnapshotEvery: 2,
		Durable: w, Restore: restored, Send: func([]*pb.Message) {}, Logger: logtest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !n.IsActive() || !n.Replayed(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the node never became active")
		}
	}
	return n, w
}
