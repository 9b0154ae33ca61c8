package index

import (
	"container/list"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rillmq/rill/engine/vfs"
)

// Cache bounds how many index files are mapped at once (see the package
// doc, "Mappings"). A nil *Cache bounds nothing.
type Cache struct {
	max       int
	evictions atomic.Uint64
	remaps    atomic.Uint64
	// over is set while more than max are mapped, so that callers know to
	// evict without taking mu.
	over atomic.Bool

	mu struct {
		sync.Mutex
		mapped int
		lru    *list.List // of *file, most recent at the front
	}
}

// CacheStats is what a Cache holds now.
type CacheStats struct {
	Mapped    int    // index files mapped
	Max       int    // the cap
	Evictions uint64 // mappings dropped to stay under the cap
	Remaps    uint64 // mappings made again after an eviction
}

// NewCache returns a cache that keeps at most max index files mapped; max
// <= 0 means DefaultMaxMapped().
func NewCache(max int) *Cache {
	if max <= 0 {
		max = DefaultMaxMapped()
	}
	c := &Cache{max: max}
	c.mu.lru = list.New()
	return c
}

// DefaultMaxMapped is half the kernel's per-process mapping limit
// (/proc/sys/vm/max_map_count, 65,530 by default, so 32,765): the other
// half is left to the Go heap, thread stacks, shared libraries and
// everything else that maps memory. Where the limit cannot be read it
// assumes the default.
func DefaultMaxMapped() int {
	n := 65530
	if b, err := os.ReadFile("/proc/sys/vm/max_map_count"); err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && v > 1 {
			n = v
		}
	}
	return n / 2
}

// Stats reports the cache's counters.
func (c *Cache) Stats() CacheStats {
	if c == nil {
		return CacheStats{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Mapped: c.mu.mapped, Max: c.max, Evictions: c.evictions.Load(), Remaps: c.remaps.Load()}
}

// WithCache returns fs carrying c: the indexes opened by path on it (or
// on an FS that unwraps to it, see cacheOf) count their mappings against
// c. Everything else passes through.
func WithCache(fs vfs.FS, c *Cache) vfs.FS { return &cacheFS{FS: fs, cache: c} }

type cacheFS struct {
	vfs.FS
	cache *Cache
}

func (f *cacheFS) Unwrap() vfs.FS { return f.FS }

// cacheOf finds the Cache that fs carries, looking through wrappers that
// have an Unwrap method (fdcache.FS); nil when there is none.
func cacheOf(fs vfs.FS) *Cache {
	for fs != nil {
		if c, ok := fs.(*cacheFS); ok {
			return c.cache
		}
		u, ok := fs.(interface{ Unwrap() vfs.FS })
		if !ok {
			return nil
		}
		fs = u.Unwrap()
	}
	return nil
}

// list records that f is mapped (again) and makes it the most recent. The
// caller holds f.mu for writing.
func (c *Cache) list(f *file) {
	if c == nil {
		return
	}
	f.referenced.Store(true)
	c.mu.Lock()
	if f.elem == nil {
		f.elem = c.mu.lru.PushFront(f)
		c.mu.mapped++
	} else {
		c.mu.lru.MoveToFront(f.elem)
	}
	c.over.Store(c.mu.mapped > c.max)
	c.mu.Unlock()
}

// unlist records that f is no longer mapped. The caller holds f.mu for
// writing.
func (c *Cache) unlist(f *file) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if f.elem != nil {
		c.mu.lru.Remove(f.elem)
		f.elem = nil
		c.mu.mapped--
	}
	c.over.Store(c.mu.mapped > c.max)
	c.mu.Unlock()
}

// evictOverCap unmaps least recently used indexes until at most max are
// mapped (or no candidate is left). The victims are chosen under mu; the
// unmapping happens outside it, under each victim's own lock, taken only
// if free (TryLock): a victim in use stays mapped, so the cap is exceeded
// by the indexes in use at the moment, and the next call that maps one
// evicts again. The caller holds no index lock.
func (c *Cache) evictOverCap() {
	if c == nil || !c.over.Load() {
		return
	}
	c.mu.Lock()
	excess := c.mu.mapped - c.max
	var victims []*file
	// Two sweeps clear every referenced bit (CLOCK: a hit sets the bit
	// without taking mu), so a victim is found if one is listed.
	for e, n := c.mu.lru.Back(), 2*c.mu.lru.Len(); e != nil && len(victims) < excess && n > 0; n-- {
		f := e.Value.(*file)
		prev := e.Prev()
		switch {
		case f.referenced.Swap(false):
			c.mu.lru.MoveToFront(e) // second chance
		default:
			victims = append(victims, f)
		}
		e = prev
		if e == nil {
			e = c.mu.lru.Back()
		}
	}
	c.mu.Unlock()
	for _, f := range victims {
		f.evict()
	}
}
