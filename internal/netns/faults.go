package netns

import (
	"errors"
	"fmt"
	"strings"
)

// The faults are one nftables table in the bridge namespace, rewritten as
// a whole in one nft transaction at every change, so the rules in force
// are always exactly n.faults:
//
//	table bridge rillnet {
//		chain faults {
//			type filter hook forward priority 0; policy accept;
//			ip saddr 10.213.0.1 ip daddr 10.213.0.2 drop
//			ip saddr 10.213.0.2 ip daddr 10.213.0.1 drop
//			ip saddr 10.213.0.1 ip daddr 10.213.0.3 numgen random mod 100 < 20 drop
//			...
//		}
//	}
//
// Link delay is not offered: it needs the netem qdisc, which the kernels
// these tests run on lack (tc reports "Specified qdisc kind is unknown").

// Cut drops all traffic between a and b, both ways. Either may be the
// Client.
func (n *Net) Cut(a, b *Host) error {
	if a == b {
		return fmt.Errorf("netns: cut %v from itself", a)
	}
	return n.add(drop(a, b, 100), drop(b, a, 100))
}

// Isolate cuts a from every other host and, with fromClient, from the
// client (the test process) too.
func (n *Net) Isolate(a *Host, fromClient bool) error {
	var rules []string
	for _, h := range n.hosts {
		if h != a {
			rules = append(rules, drop(a, h, 100), drop(h, a, 100))
		}
	}
	if fromClient {
		rules = append(rules, drop(a, n.client, 100), drop(n.client, a, 100))
	}
	return n.add(rules...)
}

// Lossy drops percent (1 to 100) of the packets between a and b, each
// way, at random. TCP on such a link is slow as well as lossy: every lost
// segment waits for a retransmission timeout (200 ms at least).
func (n *Net) Lossy(a, b *Host, percent int) error {
	if percent < 1 || percent > 100 {
		return fmt.Errorf("netns: loss of %d%%, want 1 to 100", percent)
	}
	if a == b {
		return fmt.Errorf("netns: lossy link from %v to itself", a)
	}
	return n.add(drop(a, b, percent), drop(b, a, percent))
}

// HealAll removes every fault.
func (n *Net) HealAll() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.apply(nil); err != nil {
		return err
	}
	n.faults = nil
	return nil
}

// Faults returns the nft rules in force, for logs.
func (n *Net) Faults() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.faults...)
}

// drop is the rule dropping percent of the packets from a to b.
func drop(from, to *Host, percent int) string {
	r := fmt.Sprintf("ip saddr %s ip daddr %s", from.Addr, to.Addr)
	if percent < 100 {
		r += fmt.Sprintf(" numgen random mod 100 < %d", percent)
	}
	return r + " drop"
}

func (n *Net) add(rules ...string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	next := append(append([]string(nil), n.faults...), rules...)
	if err := n.apply(next); err != nil {
		return err
	}
	n.faults = next
	return nil
}

// apply replaces the bridge namespace's fault table with rules. The
// add-then-delete idiom makes the delete succeed whether or not the table
// exists, all in one transaction.
func (n *Net) apply(rules []string) error {
	if n.closed {
		return errors.New("netns: network closed")
	}
	var s strings.Builder
	s.WriteString("add table bridge rillnet\ndelete table bridge rillnet\n")
	s.WriteString("table bridge rillnet {\n\tchain faults {\n\t\ttype filter hook forward priority 0; policy accept;\n")
	for _, r := range rules {
		s.WriteString("\t\t" + r + "\n")
	}
	s.WriteString("\t}\n}\n")
	_, err := runInput([]byte(s.String()), "ip", "netns", "exec", n.bridge, "nft", "-f", "-")
	return err
}
