package handler

import (
	"context"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/replication/metadata"
)

// withBrokers is a cluster whose broker list is replaced.
type withBrokers struct {
	Cluster
	brokers []metadata.Broker
}

func (c withBrokers) Brokers() []metadata.Broker { return c.brokers }

// Clients are answered with the addresses of the listener they connected
// to; a broker without it is left out, one registered before listeners
// were (no Listeners) is at Host:Port on every listener, and a
// coordinator without it is COORDINATOR_NOT_AVAILABLE.
func TestAnswersPerListener(t *testing.T) {
	b, closeAll, err := NewInMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	b.cfg.Listeners = []metadata.Endpoint{{Name: "INTERNAL", Host: "127.0.0.1", Port: 9092}, {Name: "EXTERNAL", Host: "ext.example", Port: 19092}}
	b.AdvertiseListener("INTERNAL", "127.0.0.1", 9092)
	b.AdvertiseListener("EXTERNAL", "ext.example", 19092)
	b.SetCluster(withBrokers{Cluster: b.cluster, brokers: []metadata.Broker{
		{ID: 1, Host: "127.0.0.1", Port: 9092, Listeners: []metadata.Endpoint{{Name: "INTERNAL", Host: "127.0.0.1", Port: 9092}, {Name: "EXTERNAL", Host: "stale", Port: 1}}},
		{ID: 2, Host: "10.0.0.2", Port: 9092, Listeners: []metadata.Endpoint{{Name: "INTERNAL", Host: "10.0.0.2", Port: 9092}}},
		{ID: 3, Host: "10.0.0.3", Port: 9092},
	}})
	render := func(ids []int32, hosts []string, ports []int32) string {
		s := ""
		for i := range ids {
			s += fmt.Sprintf("%d=%s:%d ", ids[i], hosts[i], ports[i])
		}
		return s
	}
	for listener, want := range map[string]string{
		"":         "1=127.0.0.1:9092 2=10.0.0.2:9092 3=10.0.0.3:9092 ",
		"INTERNAL": "1=127.0.0.1:9092 2=10.0.0.2:9092 3=10.0.0.3:9092 ",
		"EXTERNAL": "1=ext.example:19092 3=10.0.0.3:9092 ",
	} {
		ctx := WithListener(context.Background(), listener)
		m := b.metadata(ctx, kmsg.NewPtrMetadataRequest()).(*kmsg.MetadataResponse)
		var ids, ports []int32
		var hosts []string
		for _, br := range m.Brokers {
			ids, hosts, ports = append(ids, br.NodeID), append(hosts, br.Host), append(ports, br.Port)
		}
		if got := render(ids, hosts, ports); got != want {
			t.Errorf("metadata on %q: %s, want %s", listener, got, want)
		}
		d := b.describeCluster(ctx, kmsg.NewPtrDescribeClusterRequest()).(*kmsg.DescribeClusterResponse)
		ids, hosts, ports = nil, nil, nil
		for _, br := range d.Brokers {
			ids, hosts, ports = append(ids, br.NodeID), append(hosts, br.Host), append(ports, br.Port)
		}
		if got := render(ids, hosts, ports); got != want {
			t.Errorf("describe cluster on %q: %s, want %s", listener, got, want)
		}
	}
	find := func(listener string) *kmsg.FindCoordinatorResponse {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.Version, req.CoordinatorKey = 3, "g"
		return b.findCoordinator(WithListener(context.Background(), listener), req).(*kmsg.FindCoordinatorResponse)
	}
	if r := find("EXTERNAL"); r.ErrorCode != 0 || r.Host != "ext.example" || r.Port != 19092 {
		t.Fatalf("coordinator on EXTERNAL: %+v", r)
	}
	if r := find("OTHER"); r.ErrorCode != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("coordinator on a listener it lacks: %+v", r)
	}
}
