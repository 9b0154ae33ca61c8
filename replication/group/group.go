// Package group is where the group coordinator used to live. It replicates
// nothing, so it moved to coordinator/group. These aliases are the names
// netserver/handler/handler.go still imports from here; delete this
// package once that file imports github.com/rillmq/rill/coordinator/group.
//
// Deprecated: use github.com/rillmq/rill/coordinator/group.
package group

import cgroup "github.com/rillmq/rill/coordinator/group"

type (
	// Config is coordinator/group.Config.
	Config = cgroup.Config
	// Coordinator is coordinator/group.Coordinator.
	Coordinator = cgroup.Coordinator
)

// DefaultConfig is coordinator/group.DefaultConfig.
func DefaultConfig() Config { return cgroup.DefaultConfig() }

// New is coordinator/group.New.
func New(cfg Config, store cgroup.Store) *Coordinator { return cgroup.New(cfg, store) }
