package group

import (
	"sort"
	"strings"
)

// The "simple" assignor of share groups (KIP-932), as Kafka's
// SimpleAssignor behaves: records of a share partition are handed out to
// any member that fetches it, so a partition may go to several members.
// The partitions of the topics that the same members subscribe to are
// assigned together, as one pool among those members (with every member
// subscribed to the same topics, the usual case, that is every partition
// of the group, as Kafka's homogeneous assignment builder does):
//
//   - with no more members than partitions in the pool, every partition
//     goes to one member, and members get partitions in counts that differ
//     by at most one;
//   - with more members than partitions, every partition is shared by
//     ceil(members/partitions) members, and every member gets at least
//     one partition.
//
// It is sticky: a member keeps the partitions it had as far as the
// balance allows, so members coming and going move few partitions. The
// assignor is pure: members' subscriptions, the partition counts and the
// previous target in, the next target out.

// shareAssignInput is what the assignor works from.
type shareAssignInput struct {
	// members is every member id, sorted.
	members []string
	// subscribed is each member's subscribed topics (existing ones).
	subscribed map[string][][16]byte
	partitions map[[16]byte]int32
	previous   map[string]partitionSet
}

// assignShare computes a share group's target assignment.
func assignShare(in shareAssignInput) map[string]partitionSet {
	out := make(map[string]partitionSet, len(in.members))
	for _, m := range in.members {
		out[m] = partitionSet{}
	}
	byTopic := map[[16]byte][]string{}
	for _, m := range in.members {
		for _, t := range in.subscribed[m] {
			byTopic[t] = append(byTopic[t], m)
		}
	}
	// Pools: the partitions of the topics with the same subscribers, in
	// topic id and partition order.
	type pool struct {
		members []string
		parts   []idPartition
	}
	pools := map[string]*pool{}
	var order []string
	for _, t := range sortedIDs(keysOf(in.partitions)) {
		n := in.partitions[t]
		if len(byTopic[t]) == 0 || n <= 0 {
			continue
		}
		members := byTopic[t]
		sort.Strings(members)
		members = dedupe(members)
		key := strings.Join(members, "\x00")
		pl := pools[key]
		if pl == nil {
			pl = &pool{members: members}
			pools[key] = pl
			order = append(order, key)
		}
		for p := range n {
			pl.parts = append(pl.parts, idPartition{t, p})
		}
	}
	for _, key := range order {
		assignSharePool(pools[key].parts, pools[key].members, in.previous, out)
	}
	return out
}

func dedupe(sorted []string) []string {
	out := sorted[:0:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// assignSharePool assigns the partitions of a pool among members (sorted),
// adding to out.
func assignSharePool(pool []idPartition, members []string, previous map[string]partitionSet, out map[string]partitionSet) {
	parts := len(pool)
	sharing := (len(members) + parts - 1) / parts // members per partition
	slots := sharing * parts
	// Every member takes base partitions, extra of them one more.
	base, extra := slots/len(members), slots%len(members)
	load := map[string]int{}
	holders := make([][]string, parts)
	holds := func(p int, m string) bool {
		for _, h := range holders[p] {
			if h == m {
				return true
			}
		}
		return false
	}
	give := func(p int, m string) {
		holders[p] = append(holders[p], m)
		load[m]++
		out[m][pool[p]] = true
	}
	// Keep what members had, up to base each, so that members with
	// nothing (new ones) still find partitions free.
	for _, m := range members {
		for p := 0; p < parts && load[m] < base; p++ {
			if previous[m][pool[p]] && len(holders[p]) < sharing {
				give(p, m)
			}
		}
	}
	// Fill the remaining slots, partition by partition, with the least
	// loaded member that may take one more (one that had the partition
	// first, then in member order).
	for p := 0; p < parts; p++ {
		for len(holders[p]) < sharing {
			best := ""
			for _, m := range members {
				if holds(p, m) || load[m] > base || (load[m] == base && extra == 0) {
					continue
				}
				if best == "" || load[m] < load[best] ||
					(load[m] == load[best] && previous[m][pool[p]] && !previous[best][pool[p]]) {
					best = m
				}
			}
			if best == "" {
				break
			}
			if load[best] == base {
				extra--
			}
			give(p, best)
		}
	}
	// The counts add up, so every partition has a member; should the
	// greedy fill have left one without, the least loaded takes it.
	for p := 0; p < parts; p++ {
		if len(holders[p]) > 0 {
			continue
		}
		best := members[0]
		for _, m := range members[1:] {
			if load[m] < load[best] {
				best = m
			}
		}
		give(p, best)
	}
}
