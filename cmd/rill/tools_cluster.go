package main

// rill cluster health: the overview rpk cluster health prints, from
// Metadata alone (any broker answers it): the controller, the brokers,
// the brokers that hold replicas but are not live, and the partitions
// without a leader or with fewer in-sync replicas than replicas.
//
// As rpk, the command reports and exits 0 whatever the health;
// --fail-unhealthy makes an unhealthy cluster exit 1, for scripts and
// readiness checks.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
)

func newClusterCmd() *cobra.Command {
	c := groupCmd(&cobra.Command{Use: "cluster", Short: "cluster-wide views (rpk cluster)"})
	var tf toolFlags
	var out outputFlag
	var fail bool
	health := &cobra.Command{
		Use:   "health",
		Short: "controller, brokers, brokers down, leaderless and under-replicated partitions",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			adm, ctx, done, err := tf.admin(c.Context())
			if err != nil {
				return err
			}
			defer done()
			h, err := clusterHealth(ctx, adm)
			if err != nil {
				return err
			}
			if out.json() {
				err = writeJSON(c.OutOrStdout(), h)
			} else {
				err = h.print(c.OutOrStdout())
			}
			if err == nil && fail && !h.Healthy {
				return errUnhealthy
			}
			return err
		},
	}
	tf.register(health.Flags())
	out.register(health)
	health.Flags().BoolVar(&fail, "fail-unhealthy", false, "exit 1 when the cluster is unhealthy")
	c.AddCommand(health)
	return c
}

var errUnhealthy = errors.New("cluster is unhealthy")

// health is the overview; partitions are "topic/partition" as rpk prints
// them.
type health struct {
	Healthy          bool     `json:"is_healthy"`
	Reasons          []string `json:"unhealthy_reasons"`
	Controller       int32    `json:"controller_id"`
	Nodes            []int32  `json:"all_nodes"`
	NodesDown        []int32  `json:"nodes_down"`
	Leaderless       []string `json:"leaderless_partitions"`
	UnderReplicated  []string `json:"under_replicated_partitions"`
	LeaderlessCount  int      `json:"leaderless_count"`
	UnderReplicCount int      `json:"under_replicated_count"`
}

func clusterHealth(ctx context.Context, adm *kadm.Client) (health, error) {
	m, err := adm.Metadata(ctx)
	if err != nil {
		return health{}, err
	}
	return healthOf(m), nil
}

// healthOf judges a metadata snapshot. A broker is down when a partition
// names it as a replica but it is not among the live brokers Metadata
// lists (a fenced or dead broker drops out of the list).
func healthOf(m kadm.Metadata) health {
	h := health{Controller: m.Controller, Reasons: []string{}, NodesDown: []int32{}, Leaderless: []string{}, UnderReplicated: []string{}}
	live := map[int32]bool{}
	for _, b := range m.Brokers {
		live[b.NodeID] = true
		h.Nodes = append(h.Nodes, b.NodeID)
	}
	down := map[int32]bool{}
	for _, td := range m.Topics.Sorted() {
		for _, p := range td.Partitions.Sorted() {
			name := fmt.Sprintf("%s/%d", td.Topic, p.Partition)
			if p.Leader < 0 {
				h.Leaderless = append(h.Leaderless, name)
			} else if len(p.ISR) < len(p.Replicas) {
				h.UnderReplicated = append(h.UnderReplicated, name)
			}
			for _, r := range p.Replicas {
				if !live[r] {
					down[r] = true
				}
			}
		}
	}
	for id := range down {
		h.NodesDown = append(h.NodesDown, id)
		h.Nodes = append(h.Nodes, id)
	}
	slices.Sort(h.Nodes)
	slices.Sort(h.NodesDown)
	h.LeaderlessCount, h.UnderReplicCount = len(h.Leaderless), len(h.UnderReplicated)
	if h.Controller < 0 {
		h.Reasons = append(h.Reasons, "no_elected_controller")
	}
	if len(h.NodesDown) > 0 {
		h.Reasons = append(h.Reasons, "nodes_down")
	}
	if len(h.Leaderless) > 0 {
		h.Reasons = append(h.Reasons, "leaderless_partitions")
	}
	if len(h.UnderReplicated) > 0 {
		h.Reasons = append(h.Reasons, "under_replicated_partitions")
	}
	h.Healthy = len(h.Reasons) == 0
	return h
}

func (h health) print(w io.Writer) error {
	_, err := fmt.Fprintf(w, `CLUSTER HEALTH OVERVIEW
=======================
Healthy:                          %v
Unhealthy reasons:                [%s]
Controller ID:                    %d
All nodes:                        %v
Nodes down:                       %v
Leaderless partitions (%d):        [%s]
Under-replicated partitions (%d):  [%s]
`, h.Healthy, strings.Join(h.Reasons, " "), h.Controller, h.Nodes, h.NodesDown,
		len(h.Leaderless), strings.Join(h.Leaderless, " "), len(h.UnderReplicated), strings.Join(h.UnderReplicated, " "))
	return err
}
