package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/internal/kafka"
	brokerrt "github.com/rillmq/rill/replication/broker"
)

// metaPropertiesFile is Kafka's name for the file that says whose data a
// log directory holds.
const metaPropertiesFile = "meta.properties"

// dataIdentity is what a data directory's meta.properties records: the
// node it belongs to and the cluster ("single" for a cluster of one, or
// the controller quorum's voter ids).
type dataIdentity struct {
	nodeID  int64
	cluster string
}

func (d dataIdentity) String() string {
	return fmt.Sprintf("node.id %d of cluster %q", d.nodeID, d.cluster)
}

// identityFor is the identity this start is configured with.
func identityFor(nodeID int64, voters map[uint64]string) dataIdentity {
	if len(voters) == 0 {
		return dataIdentity{nodeID: nodeID, cluster: "single"}
	}
	ids := make([]string, 0, len(voters))
	for id := range voters {
		ids = append(ids, strconv.FormatUint(id, 10))
	}
	sort.Strings(ids)
	return dataIdentity{nodeID: nodeID, cluster: "voters " + strings.Join(ids, ",")}
}

// checkDataIdentity refuses to start on a data directory that belongs to
// another node or cluster, before anything in it is opened: the broker
// deletes logs its metadata does not assign to it, so data of another
// cluster would be lost. It writes meta.properties on the first start.
//
//   - meta.properties present: node.id and cluster must match.
//   - absent, and the directory holds logs: a directory written before
//     meta.properties existed. A single node takes it (its catalog is
//     imported into the metadata log); a cluster node takes it only with
//     its metadata log (__cluster_metadata), i.e. a node of this cluster
//     from before. Topic logs without a metadata log are a single node's,
//     and joining them to a cluster would delete them: refused.
func checkDataIdentity(dir string, want dataIdentity, hasCatalog bool) error {
	path := filepath.Join(dir, metaPropertiesFile)
	if data, err := os.ReadFile(path); err == nil {
		have, err := parseIdentity(string(data))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if have != want {
			return fmt.Errorf("data directory %s belongs to %v (%s), but this broker is configured as %v: "+
				"starting would delete logs that are not its own; use the matching node.id and controller.quorum.voters, or another data directory",
				dir, have, path, want)
		}
		return nil
	} else if !os.IsNotExist(err) {
		return err
	}
	hasLogs := hasCatalog
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if _, ok := kafka.ParseDirName(e.Name()); ok && e.IsDir() {
				hasLogs = true
			}
		}
	}
	_, metaErr := os.Stat(filepath.Join(dir, brokerrt.MetadataDir))
	hasMetadataLog := metaErr == nil
	if hasLogs && want.cluster != "single" && !hasMetadataLog {
		return fmt.Errorf("data directory %s holds topic logs but no metadata log: it was written by a single-node broker; "+
			"joining it to a cluster (controller.quorum.voters) would delete them. Start it without controller.quorum.voters, or use an empty data directory",
			dir)
	}
	body := fmt.Sprintf("# Written by rill serve: whose data this directory holds.\nversion=1\nnode.id=%d\nrill.cluster=%s\n", want.nodeID, want.cluster)
	return vfs.WriteFileAtomic(vfs.Default, dir, path, []byte(body))
}

func parseIdentity(s string) (dataIdentity, error) {
	var d dataIdentity
	node, cluster := "", ""
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		switch strings.TrimSpace(k) {
		case "node.id":
			node = strings.TrimSpace(v)
		case "rill.cluster":
			cluster = strings.TrimSpace(v)
		}
	}
	n, err := strconv.ParseInt(node, 10, 64)
	if err != nil || cluster == "" {
		return d, fmt.Errorf("no node.id or rill.cluster in %q", s)
	}
	return dataIdentity{nodeID: n, cluster: cluster}, nil
}
