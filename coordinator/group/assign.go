package group

import (
	"bytes"
	"slices"
	"sort"
)

// Server-side assignors of KIP-848 consumer groups. They are pure: members'
// subscriptions, the subscribed topics' partition counts and the previous
// target assignment in, the next target assignment out.

// idPartition is a partition named by topic id, as KIP-848 names them.
type idPartition struct {
	Topic     [16]byte
	Partition int32
}

// partitionSet is a set of partitions.
type partitionSet map[idPartition]bool

func (s partitionSet) clone() partitionSet {
	out := make(partitionSet, len(s))
	for p := range s {
		out[p] = true
	}
	return out
}

func (s partitionSet) equal(o partitionSet) bool {
	if len(s) != len(o) {
		return false
	}
	for p := range s {
		if !o[p] {
			return false
		}
	}
	return true
}

// byTopic groups a set by topic id with sorted partitions.
func (s partitionSet) byTopic() map[[16]byte][]int32 {
	out := map[[16]byte][]int32{}
	for p := range s {
		out[p.Topic] = append(out[p.Topic], p.Partition)
	}
	for _, ps := range out {
		sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	}
	return out
}

func setOf(byTopic map[[16]byte][]int32) partitionSet {
	s := partitionSet{}
	for id, ps := range byTopic {
		for _, p := range ps {
			s[idPartition{id, p}] = true
		}
	}
	return s
}

// assignInput is what an assignor sees.
type assignInput struct {
	// members are the member ids, sorted.
	members []string
	// subscribed is each member's subscribed topic ids.
	subscribed map[string][][16]byte
	// partitions is each subscribed topic's partition count.
	partitions map[[16]byte]int32
	// previous is the last target assignment, for stickiness.
	previous map[string]partitionSet
	// memberRack is each member's rack (client.rack), absent when it
	// has none; partitionRacks is, per subscribed topic, the racks of
	// each partition's replicas (broker.rack), absent when unknown. Both
	// are set only when some member has a rack.
	memberRack     map[string]string
	partitionRacks map[[16]byte][][]string
}

// racksOf is the racks of p's replicas, nil when unknown.
func (in *assignInput) racksOf(p idPartition) []string {
	racks := in.partitionRacks[p.Topic]
	if int(p.Partition) >= len(racks) {
		return nil
	}
	return racks[p.Partition]
}

// rackMatch reports whether member m has a rack and a replica of p is on
// it.
func (in *assignInput) rackMatch(m string, p idPartition) bool {
	rack := in.memberRack[m]
	return rack != "" && slices.Contains(in.racksOf(p), rack)
}

// rackMismatch reports whether both m's rack and p's racks are known and
// no replica of p is on m's rack (KIP-881's test: with either unknown,
// any member suits any partition).
func (in *assignInput) rackMismatch(m string, p idPartition) bool {
	rack, racks := in.memberRack[m], in.racksOf(p)
	return rack != "" && len(racks) > 0 && !slices.Contains(racks, rack)
}

// Assignors are the server-side assignors by name (group.consumer.assignors).
var assignors = map[string]func(assignInput) map[string]partitionSet{
	"uniform": assignUniform,
	"range":   assignRange,
}

// defaultAssignor is used when no member names one.
const defaultAssignor = "uniform"

func sortedIDs(ids map[[16]byte]bool) [][16]byte {
	out := make([][16]byte, 0, len(ids))
	for id := range ids {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i][:], out[j][:]) < 0 })
	return out
}

// assignRange gives each topic's partitions to its subscribers in
// contiguous ranges, members in id order, the first ones taking one extra
// when the count does not divide: the classic range assignor, per topic.
// When members and partitions have racks (KIP-881), each member first
// takes, up to its share, the partitions with a replica on its rack, and
// the rest are dealt in order.
func assignRange(in assignInput) map[string]partitionSet {
	out := map[string]partitionSet{}
	subscribers := map[[16]byte][]string{}
	topics := map[[16]byte]bool{}
	for _, m := range in.members {
		out[m] = partitionSet{}
		for _, t := range in.subscribed[m] {
			if _, ok := in.partitions[t]; ok {
				subscribers[t] = append(subscribers[t], m)
				topics[t] = true
			}
		}
	}
	for _, t := range sortedIDs(topics) {
		ms := subscribers[t]
		n := int(in.partitions[t])
		per, extra := n/len(ms), n%len(ms)
		share := func(i int) int {
			if i < extra {
				return per + 1
			}
			return per
		}
		taken := make([]bool, n)
		count := make([]int, len(ms))
		if len(in.partitionRacks[t]) > 0 {
			for i, m := range ms {
				for p := 0; p < n && count[i] < share(i); p++ {
					if !taken[p] && in.rackMatch(m, idPartition{t, int32(p)}) {
						taken[p] = true
						count[i]++
						out[m][idPartition{t, int32(p)}] = true
					}
				}
			}
		}
		p := 0
		for i, m := range ms {
			for ; count[i] < share(i); count[i]++ {
				for taken[p] {
					p++
				}
				taken[p] = true
				out[m][idPartition{t, int32(p)}] = true
			}
		}
	}
	return out
}

// assignUniform spreads all partitions evenly over the members that can
// take them, keeping each partition where the previous target put it while
// that member is still subscribed and not over its share: a rebalance moves
// as few partitions as balance allows.
func assignUniform(in assignInput) map[string]partitionSet {
	out := map[string]partitionSet{}
	canTake := map[string]map[[16]byte]bool{}
	topics := map[[16]byte]bool{}
	for _, m := range in.members {
		out[m] = partitionSet{}
		canTake[m] = map[[16]byte]bool{}
		for _, t := range in.subscribed[m] {
			if _, ok := in.partitions[t]; ok {
				canTake[m][t] = true
				topics[t] = true
			}
		}
	}
	var all []idPartition
	for _, t := range sortedIDs(topics) {
		for p := int32(0); p < in.partitions[t]; p++ {
			all = append(all, idPartition{t, p})
		}
	}
	// Balance is base partitions per member, and base+1 for extra of
	// them: with identical subscriptions ceil(partitions/members) for some
	// and floor for the rest (a member that can take fewer topics simply
	// holds less).
	eligible := 0
	for _, m := range in.members {
		if len(canTake[m]) > 0 {
			eligible++
		}
	}
	if eligible == 0 {
		return out
	}
	base, extra := len(all)/eligible, len(all)%eligible
	owner := map[idPartition]string{}
	// room reports whether m is under its share; take gives it p (the
	// first to go over the base uses up one of the extra places).
	room := func(m string) bool {
		return len(out[m]) < base || (len(out[m]) == base && extra > 0)
	}
	take := func(m string, p idPartition) {
		if len(out[m]) == base {
			extra--
		}
		owner[p] = m
		out[m][p] = true
	}
	// keep keeps members' previous partitions, as far as their shares
	// go, those accepted by ok.
	keep := func(ok func(m string, p idPartition) bool) {
		for _, m := range in.members {
			prev := in.previous[m]
			kept := make([]idPartition, 0, len(prev))
			for p := range prev {
				if canTake[m][p.Topic] && p.Partition < in.partitions[p.Topic] && ok(m, p) {
					kept = append(kept, p)
				}
			}
			sort.Slice(kept, func(i, j int) bool { return lessPartition(kept[i], kept[j]) })
			for _, p := range kept {
				if !room(m) {
					break
				}
				if _, taken := owner[p]; !taken {
					take(m, p)
				}
			}
		}
	}
	// Stickiness first, except for a partition whose replicas are all off
	// its member's rack; then each partition with racks goes to the least
	// loaded member on one of its racks with room; then the previous
	// owners keep what is left of theirs; then the least loaded take the
	// rest.
	keep(func(m string, p idPartition) bool { return !in.rackMismatch(m, p) })
	if len(in.partitionRacks) > 0 {
		for _, p := range all {
			if _, ok := owner[p]; ok {
				continue
			}
			best := ""
			for _, m := range in.members {
				if canTake[m][p.Topic] && room(m) && in.rackMatch(m, p) && (best == "" || len(out[m]) < len(out[best])) {
					best = m
				}
			}
			if best != "" {
				take(best, p)
			}
		}
		keep(func(string, idPartition) bool { return true })
	}
	for _, p := range all {
		if _, ok := owner[p]; ok {
			continue
		}
		best := ""
		for _, m := range in.members {
			if canTake[m][p.Topic] && (best == "" || len(out[m]) < len(out[best])) {
				best = m
			}
		}
		if best != "" {
			owner[p] = best
			out[best][p] = true
		}
	}
	return out
}

func lessPartition(a, b idPartition) bool {
	if c := bytes.Compare(a.Topic[:], b.Topic[:]); c != 0 {
		return c < 0
	}
	return a.Partition < b.Partition
}
