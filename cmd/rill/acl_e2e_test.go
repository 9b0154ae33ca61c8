package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// authorizerArgs configure Kafka's StandardAuthorizer with the test
// clients (PLAINTEXT: User:ANONYMOUS) as super users.
var authorizerArgs = []string{"--set", "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
	"--set", "super.users=User:ANONYMOUS"}

// describeACLsAt lists every ACL as the broker at addr answers
// DescribeAcls itself (no other broker asked), one line per ACL, sorted.
func describeACLsAt(t *testing.T, ctx context.Context, addr string) ([]string, error) {
	t.Helper()
	req := kmsg.NewPtrDescribeACLsRequest()
	req.ResourceType, req.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
	req.Operation, req.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	resp, err := client(t, addr).SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		return nil, err
	}
	r := resp.(*kmsg.DescribeACLsResponse)
	if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
		return nil, err
	}
	var out []string
	for _, res := range r.Resources {
		for _, a := range res.ACLs {
			out = append(out, fmt.Sprintf("%s:%s:%s %s %s %s %s", res.ResourceType, res.ResourcePatternType, res.ResourceName,
				a.Principal, a.Host, a.Operation, a.PermissionType))
		}
	}
	sort.Strings(out)
	return out, nil
}

// ACLs created with kadm and with `rill acl` are kept in the metadata log:
// listed (also by MATCH), kept across a restart, deleted by filter; a
// broker without an authorizer answers SECURITY_DISABLED.
func TestACLsSingleNode(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir, authorizerArgs...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(client(t, b.addr))
	res, err := adm.CreateACLs(ctx, kadm.NewACLs().Topics("orders").Allow("User:alice").Operations(kadm.OpRead, kadm.OpWrite))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("kadm create: %v %s", r.Err, r.ErrMessage)
		}
	}
	bs := "--bootstrap=" + b.addr
	if out := rill(t, "", "acl", "create", bs, "--allow-principal", "bob", "--operation", "Read", "--group", "g1"); !strings.Contains(out,
		"created (principal=User:bob, host=*, operation=READ, permissionType=ALLOW) on ResourcePattern(resourceType=GROUP, name=g1, patternType=LITERAL)") {
		t.Fatalf("acl create: %s", out)
	}
	rill(t, "", "acl", "create", bs, "--deny-principal", "User:mallory", "--deny-host", "10.0.0.9", "--operation", "All", "--topic", "ord",
		"--resource-pattern-type", "prefixed")
	want := []string{
		"GROUP:LITERAL:g1 User:bob * READ ALLOW",
		"TOPIC:LITERAL:orders User:alice * READ ALLOW",
		"TOPIC:LITERAL:orders User:alice * WRITE ALLOW",
		"TOPIC:PREFIXED:ord User:mallory 10.0.0.9 ALL DENY",
	}
	if got, err := describeACLsAt(t, ctx, b.addr); err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("acls %v (%v), want %v", got, err, want)
	}
	list := rill(t, "", "acl", "list", bs)
	for _, s := range []string{"Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=ord, patternType=PREFIXED)`:",
		"\t(principal=User:mallory, host=10.0.0.9, operation=ALL, permissionType=DENY)",
		"\t(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)"} {
		if !strings.Contains(list, s) {
			t.Fatalf("acl list lacks %q:\n%s", s, list)
		}
	}
	// MATCH: the ACLs that apply to topic orders-eu (the prefix only).
	if out := rill(t, "", "acl", "list", bs, "--topic", "orders-eu", "--resource-pattern-type", "match"); !strings.Contains(out, "mallory") ||
		strings.Contains(out, "alice") {
		t.Fatalf("acl list MATCH orders-eu:\n%s", out)
	}

	b.stop()
	b = startBroker(t, dir, authorizerArgs...)
	if got, err := describeACLsAt(t, ctx, b.addr); err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after a restart: acls %v (%v), want %v", got, err, want)
	}
	bs = "--bootstrap=" + b.addr
	out := rill(t, "", "acl", "delete", bs, "--allow-principal", "User:alice", "--operation", "Read", "--topic", "orders")
	if !strings.Contains(out, "deleted (principal=User:alice, host=*, operation=READ, permissionType=ALLOW)") {
		t.Fatalf("acl delete: %s", out)
	}
	if out := rill(t, "", "acl", "delete", bs, "--allow-principal", "User:alice", "--operation", "Read", "--topic", "orders"); !strings.Contains(out, "no ACL matched") {
		t.Fatalf("acl delete again: %s", out)
	}
	if got, _ := describeACLsAt(t, ctx, b.addr); len(got) != 3 || strings.Contains(fmt.Sprint(got), "alice * READ") {
		t.Fatalf("after the delete: %v", got)
	}
	b.stop()

	plain := startBroker(t, t.TempDir())
	if _, err := describeACLsAt(t, ctx, plain.addr); !errors.Is(err, kerr.SecurityDisabled) {
		t.Fatalf("without an authorizer: %v, want SECURITY_DISABLED", err)
	}
	plain.stop()
}

// Three combined nodes and a broker-only one (which copies the metadata
// from the controllers): ACLs and SCRAM credentials created through one
// broker are answered by every broker, from its own metadata.
func TestACLsAndUsersOnEveryBroker(t *testing.T) {
	c := startCluster(t, append([]string{"--set", "broker.heartbeat.interval.ms=200"}, authorizerArgs...)...)
	var voters string
	for _, a := range c.extra {
		if strings.HasPrefix(a, "controller.quorum.voters=") {
			voters = a
		}
	}
	b4 := startBroker(t, t.TempDir(), append([]string{"--set", "process.roles=broker", "--set", "node.id=4", "--set", voters,
		"--set", "broker.heartbeat.interval.ms=200"}, authorizerArgs...)...)
	addrs := append(append([]string{}, c.addrs...), b4.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c.waitFor("four brokers", func() bool {
		m, err := c.admin(0).BrokerMetadata(ctx)
		return err == nil && len(m.Brokers) == 4
	})
	res, err := c.admin(1).CreateACLs(ctx, kadm.NewACLs().Topics("orders").Groups("g").Allow("User:alice").Operations(kadm.OpRead))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("create: %v %s", r.Err, r.ErrMessage)
		}
	}
	rill(t, "", "acl", "create", "--bootstrap="+addrs[3], "--deny-principal", "User:mallory", "--operation", "Write", "--topic", "*")
	rill(t, "", "user", "create", "--bootstrap="+addrs[2], "--user", "alice", "--password", "alice-secret", "--mechanism", "SCRAM-SHA-512")
	want := []string{
		"GROUP:LITERAL:g User:alice * READ ALLOW",
		"TOPIC:LITERAL:* User:mallory * WRITE DENY",
		"TOPIC:LITERAL:orders User:alice * READ ALLOW",
	}
	for i, addr := range addrs {
		c.waitFor(fmt.Sprintf("broker %d's ACLs and users", i+1), func() bool {
			got, err := describeACLsAt(t, ctx, addr)
			if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
				return false
			}
			req := kmsg.NewPtrDescribeUserSCRAMCredentialsRequest()
			resp, err := client(t, addr).SeedBrokers()[0].Request(ctx, req)
			if err != nil {
				return false
			}
			r := resp.(*kmsg.DescribeUserSCRAMCredentialsResponse)
			return r.ErrorCode == 0 && len(r.Results) == 1 && r.Results[0].User == "alice" && len(r.Results[0].CredentialInfos) == 1 &&
				r.Results[0].CredentialInfos[0].Mechanism == int8(kadm.ScramSha512)
		})
	}
	// Deleted through the broker-only node: gone everywhere.
	rill(t, "", "acl", "delete", "--bootstrap="+addrs[3], "--principal", "User:alice")
	for i, addr := range addrs {
		c.waitFor(fmt.Sprintf("broker %d without alice's ACLs", i+1), func() bool {
			got, err := describeACLsAt(t, ctx, addr)
			return err == nil && fmt.Sprint(got) == fmt.Sprint(want[1:2])
		})
	}
	b4.stop()
	for _, b := range c.bs {
		b.stop()
	}
}
