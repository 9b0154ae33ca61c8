package fetchsession

import "time"

// tryEvictLocked frees a slot for a new session (privileged: a
// follower's; size: its partition count), reporting whether it did.
//
// A stale session (unused for longer than EvictionAfter) goes first, the
// least recently used. Otherwise the least valuable evictable session
// goes if the newcomer is worth at least as much: value orders by
// privileged, then size, then id, and the newcomer counts as id 0, so a
// tie in privilege and size keeps the incumbent. A privileged newcomer
// may evict a consumer's session or any aged one (older than
// EvictionAfter at its last use); a consumer only an aged one.
//
// The scan is linear: it runs only when every slot is taken and a full
// fetch asks for a session, and slots number about a thousand.
func (c *Cache) tryEvictLocked(privileged bool, size int, now time.Time) bool {
	var lru, victim *session
	for _, s := range c.mu.sessions {
		if lru == nil || s.lastUsed.Before(lru.lastUsed) || (s.lastUsed.Equal(lru.lastUsed) && s.id < lru.id) {
			lru = s
		}
		if (s.aged || (privileged && !s.privileged)) && (victim == nil || lessValuable(s, victim)) {
			victim = s
		}
	}
	switch {
	case lru == nil:
		return false
	case now.Sub(lru.lastUsed) > c.cfg.EvictionAfter:
		victim = lru
	case victim == nil:
		return false
	case compareValue(privileged, size, 0, victim.privileged, victim.size, victim.id) < 0:
		return false
	}
	c.removeLocked(victim)
	c.mu.evictions++
	return true
}

func lessValuable(a, b *session) bool {
	return compareValue(a.privileged, a.size, a.id, b.privileged, b.size, b.id) < 0
}

// compareValue orders (privileged, size, id) lexicographically, false
// before true.
func compareValue(ap bool, as int, aid int32, bp bool, bs int, bid int32) int {
	switch {
	case ap != bp:
		if bp {
			return -1
		}
		return 1
	case as != bs:
		if as < bs {
			return -1
		}
		return 1
	case aid != bid:
		if aid < bid {
			return -1
		}
		return 1
	}
	return 0
}
