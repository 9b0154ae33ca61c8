package brokerconf

import (
	"slices"
	"strings"

	"github.com/rillmq/rill/internal/logging"
	"github.com/rillmq/rill/internal/textdist"
)

const listenerPrefix = "listener.name."

// mechanisms are the SASL mechanisms whose lower-cased names may prefix a
// per-listener sasl.jaas.config or connections.max.reauth.ms.
var mechanisms = []string{"plain", "scram-sha-256", "scram-sha-512", "oauthbearer", "gssapi"}

// Lookup returns the key named name, or the key a pattern name stands for
// (listener.name.<l>.<key> gives <key>; log.level.<component> gives
// log.level). ok is false for unknown names.
func Lookup(name string) (Key, bool) {
	if k, ok := byName[name]; ok {
		return k, true
	}
	if rest, ok := listenerKey(name); ok {
		if k, ok := byName[rest]; ok && k.PerListener {
			return k, true
		}
		if inner, ok := cutMechanism(rest); ok && perMechanism[inner] {
			return byName[inner], true
		}
		return Key{}, false
	}
	if comp, ok := strings.CutPrefix(name, "log.level."); ok && validComponent(comp) {
		return byName["log.level"], true
	}
	return Key{}, false
}

// perMechanism are the keys a listener may set for one SASL mechanism.
var perMechanism = map[string]bool{
	"sasl.jaas.config": true, "connections.max.reauth.ms": true,
	"sasl.server.callback.handler.class": true, "sasl.login.callback.handler.class": true,
}

// listenerKey splits listener.name.<l>.<rest>, returning rest.
func listenerKey(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, listenerPrefix)
	if !ok {
		return "", false
	}
	l, rest, ok := strings.Cut(rest, ".")
	if !ok || l == "" || rest == "" {
		return "", false
	}
	return rest, true
}

// cutMechanism strips a SASL mechanism prefix: "<mechanism>.<key>".
func cutMechanism(rest string) (key string, ok bool) {
	for _, m := range mechanisms {
		if k, ok := strings.CutPrefix(rest, m+"."); ok {
			return k, true
		}
	}
	return "", false
}

// validComponent reports whether c is a logging component: an override
// for any other name would never apply (the logger reads only these).
func validComponent(c string) bool { return slices.Contains(logging.Components, c) }

// Suggest returns the known key nearest to an unknown name (by edit
// distance, at most a third of the name's length), or "".
func Suggest(name string) string {
	prefix, target := "", name
	if rest, ok := listenerKey(name); ok {
		// Suggest within the listener's keys, keeping its prefix.
		prefix, target = name[:len(name)-len(rest)], rest
	}
	// Keys is sorted, so of equally near keys the first by name wins.
	best, bestD := "", len(target)/3+1
	for _, k := range Keys {
		if prefix != "" && !k.PerListener {
			continue
		}
		if d := textdist.Levenshtein(target, k.Name); d < bestD {
			best, bestD = k.Name, d
		}
	}
	if best == "" {
		return ""
	}
	return prefix + best
}
