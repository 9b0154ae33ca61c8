package brokerconf

import (
	"sort"
	"strings"
)

const listenerPrefix = "listener.name."

// mechanisms are the SASL mechanisms whose lower-cased names may prefix a
// per-listener sasl.jaas.config or connections.max.reauth.ms.
var mechanisms = []string{"plain", "scram-sha-256", "scram-sha-512", "oauthbearer", "gssapi"}

// listenerKey splits listener.name.<l>.<rest>, returning rest.
func listenerKey(name string) (string, bool) {
	rest, ok := cutPrefix(name, listenerPrefix)
	if !ok {
		return "", false
	}
	l, rest, ok := strings.Cut(rest, ".")
	if !ok || l == "" || rest == "" {
		return "", false
	}
	return rest, true
}

// cutMechanism splits "<mechanism>.<key>".
func cutMechanism(rest string) (mech, key string, ok bool) {
	for _, m := range mechanisms {
		if k, ok := cutPrefix(rest, m+"."); ok {
			return m, k, true
		}
	}
	return "", rest, false
}

func cutPrefix(s, p string) (string, bool) { return strings.CutPrefix(s, p) }

func validComponent(c string) bool {
	if c == "" {
		return false
	}
	for _, r := range c {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// Suggest returns the known key nearest to an unknown name (by edit
// distance, at most a third of the name's length), or "".
func Suggest(name string) string {
	prefix, target := "", name
	if rest, ok := listenerKey(name); ok {
		// Suggest within the listener's keys, keeping its prefix.
		prefix, target = name[:len(name)-len(rest)], rest
	}
	best, bestD := "", len(target)/3+1
	var candidates []string
	for _, k := range Keys {
		if prefix == "" || k.PerListener {
			candidates = append(candidates, k.Name)
		}
	}
	sort.Strings(candidates)
	for _, c := range candidates {
		if d := distance(target, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return prefix + best
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
