package quota

import (
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Kind is a kind of client quota.
type Kind uint8

const (
	Produce            Kind = iota // producer_byte_rate: bytes/s produced
	Fetch                          // consumer_byte_rate: bytes/s fetched
	Request                        // request_percentage: percent of one request handler's time
	ControllerMutation             // controller_mutation_rate: partitions mutated per second
	kinds
)

var kindNames = [kinds]string{"produce", "fetch", "request", "controller mutation"}

func (k Kind) String() string {
	if k < kinds {
		return kindNames[k]
	}
	return "unknown"
}

// Config is the broker's quota windows.
type Config struct {
	// Samples and Window are quota.window.num and
	// quota.window.size.seconds: the byte and request rates' windows.
	Samples int
	Window  time.Duration
	// MutationSamples and MutationWindow are controller.quota.window.num
	// and controller.quota.window.size.seconds: the controller mutation
	// bucket's burst is rate * MutationSamples * MutationWindow.
	MutationSamples int
	MutationWindow  time.Duration
}

// DefaultConfig is Kafka's defaults: 11 windows of a second.
func DefaultConfig() Config {
	return Config{Samples: 11, Window: time.Second, MutationSamples: 11, MutationWindow: time.Second}
}

// Name is one component of an entity: absent, a name, or the default.
type Name struct {
	Set, Default bool
	Name         string
}

// Named is the component of that name; Default the default.
func Named(name string) Name { return Name{Set: true, Name: name} }

// Default is the default component.
var Default = Name{Set: true, Default: true}

// Entity is who a quota is set on: a user, a client id, or both. (Kafka's
// ip entities hold connection_creation_rate, which this package does not
// enforce.)
type Entity struct {
	User, Client Name
}

// Limits are an entity's quotas by kind; 0 is none (Kafka's quotas are
// above zero).
type Limits [kinds]float64

// ErrThrottled is a strict controller mutation refused: its quota is
// exceeded (THROTTLING_QUOTA_EXCEEDED).
var ErrThrottled = errors.New("quota: throttling quota exceeded")

// key names a sensor: a kind and Kafka's metric tags (user, client id;
// "" where the quota's level does not distinguish them).
type key struct {
	kind         Kind
	user, client string
}

// sensor is the usage of one key.
type sensor struct {
	mu     sync.Mutex
	rate   Rate
	bucket TokenBucket
	last   int64 // ms of the last record, for expiry
}

// table is one snapshot of the quotas, per kind; withUser[k] says some
// entity of kind k names a user (else resolution skips levels 1-6).
type table struct {
	byKind   [kinds]map[Entity]float64
	withUser [kinds]bool
}

// Manager keeps a broker's quotas and usage. Safe for concurrent use.
type Manager struct {
	cfg    Config
	window int64 // ms
	mwin   int64 // ms
	// active has bit k set when some entity has a quota of kind k.
	active atomic.Uint32
	quotas atomic.Pointer[table]

	mu        sync.RWMutex
	sensors   map[key]*sensor
	lastSweep int64
}

// sensorExpiry is how long an unused sensor is kept (Kafka's
// InactiveSensorExpirationTimeSeconds); sweepEvery how often at most the
// sensors are swept.
const (
	sensorExpiry = int64(time.Hour / time.Millisecond)
	sweepEvery   = int64(time.Minute / time.Millisecond)
)

// New returns a Manager with no quotas; zero fields of cfg take
// DefaultConfig's.
func New(cfg Config) *Manager {
	d := DefaultConfig()
	if cfg.Samples <= 0 {
		cfg.Samples = d.Samples
	}
	if cfg.Window <= 0 {
		cfg.Window = d.Window
	}
	if cfg.MutationSamples <= 0 {
		cfg.MutationSamples = d.MutationSamples
	}
	if cfg.MutationWindow <= 0 {
		cfg.MutationWindow = d.MutationWindow
	}
	m := &Manager{cfg: cfg, window: max(cfg.Window.Milliseconds(), 1), mwin: max(cfg.MutationWindow.Milliseconds(), 1),
		sensors: map[key]*sensor{}}
	m.quotas.Store(&table{})
	return m
}

// Config is the manager's windows.
func (m *Manager) Config() Config { return m.cfg }

// Active reports whether some entity has a quota of kind k: one atomic
// load (false on a nil Manager).
func (m *Manager) Active(k Kind) bool { return m != nil && m.active.Load()&(1<<k) != 0 }

// AnyActive reports whether any quota is set.
func (m *Manager) AnyActive() bool { return m != nil && m.active.Load() != 0 }

// SetQuotas replaces the quotas. Usage so far is kept: a changed quota
// applies to the rate already measured, as Kafka's updated sensors do.
func (m *Manager) SetQuotas(quotas map[Entity]Limits) {
	t := &table{}
	var active uint32
	for e, limits := range quotas {
		if !e.User.Set && !e.Client.Set {
			continue
		}
		for k, v := range limits {
			if v <= 0 || math.IsNaN(v) {
				continue
			}
			if t.byKind[k] == nil {
				t.byKind[k] = map[Entity]float64{}
			}
			t.byKind[k][e] = v
			t.withUser[k] = t.withUser[k] || e.User.Set
			active |= 1 << k
		}
	}
	m.quotas.Store(t)
	m.active.Store(active)
}

// Resolve is the quota of kind k that applies to user and client (ok
// false: none) and the tags its usage is kept under, in Kafka's order
// (the package doc).
func (m *Manager) Resolve(k Kind, user, client string) (limit float64, tagUser, tagClient string, ok bool) {
	t := m.quotas.Load()
	q := t.byKind[k]
	if len(q) == 0 {
		return 0, "", "", false
	}
	u, c := Named(user), Named(client)
	levels := [...]struct {
		e            Entity
		user, client bool
	}{
		{Entity{User: u, Client: c}, true, true},
		{Entity{User: u, Client: Default}, true, true},
		{Entity{User: u}, true, false},
		{Entity{User: Default, Client: c}, true, true},
		{Entity{User: Default, Client: Default}, true, true},
		{Entity{User: Default}, true, false},
		{Entity{Client: c}, false, true},
		{Entity{Client: Default}, false, true},
	}
	from := 0
	if !t.withUser[k] {
		from = 6
	}
	for _, level := range levels[from:] {
		if v, found := q[level.e]; found {
			if level.user {
				tagUser = user
			}
			if level.client {
				tagClient = client
			}
			return v, tagUser, tagClient, true
		}
	}
	return 0, "", "", false
}

// sensor is the sensor of a key, made if new.
func (m *Manager) sensor(k key, now int64) *sensor {
	m.mu.RLock()
	s := m.sensors[k]
	sweep := now-m.lastSweep >= sweepEvery
	m.mu.RUnlock()
	if s != nil && !sweep {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if now-m.lastSweep >= sweepEvery {
		m.lastSweep = now
		for sk, ss := range m.sensors {
			ss.mu.Lock()
			idle := now-ss.last >= sensorExpiry
			ss.mu.Unlock()
			if idle {
				delete(m.sensors, sk)
			}
		}
	}
	if s = m.sensors[k]; s == nil {
		s = &sensor{last: now}
		m.sensors[k] = s
	}
	return s
}

// Sensors is how many sensors are kept.
func (m *Manager) Sensors() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.sensors)
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// Record records v of a byte or request kind for user and client at now
// and returns how long the client must now wait (0: within its quota, or
// no quota). A Request throttle is at most one window (Kafka bounds it).
func (m *Manager) Record(k Kind, user, client string, v float64, now time.Time) time.Duration {
	if !m.Active(k) {
		return 0
	}
	limit, tu, tc, ok := m.Resolve(k, user, client)
	if !ok {
		return 0
	}
	t := ms(now)
	s := m.sensor(key{k, tu, tc}, t)
	s.mu.Lock()
	s.rate.Record(m.cfg.Samples, m.window, v, t)
	s.last = t
	d := s.rate.Throttle(m.cfg.Samples, m.window, limit, t)
	s.mu.Unlock()
	if k == Request {
		d = min(d, m.window)
	}
	return time.Duration(d) * time.Millisecond
}

// Unrecord takes back v recorded at now (a throttled fetch, whose data is
// not sent).
func (m *Manager) Unrecord(k Kind, user, client string, v float64, now time.Time) {
	if !m.Active(k) {
		return
	}
	if _, tu, tc, ok := m.Resolve(k, user, client); ok {
		t := ms(now)
		s := m.sensor(key{k, tu, tc}, t)
		s.mu.Lock()
		s.rate.Record(m.cfg.Samples, m.window, -v, t)
		s.mu.Unlock()
	}
}

// Rate is the rate of kind k measured for user and client at now (0: no
// quota applies).
func (m *Manager) Rate(k Kind, user, client string, now time.Time) float64 {
	if !m.Active(k) {
		return 0
	}
	_, tu, tc, ok := m.Resolve(k, user, client)
	if !ok {
		return 0
	}
	t := ms(now)
	s := m.sensor(key{k, tu, tc}, t)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rate.Measure(m.cfg.Samples, m.window, t)
}

// MaxValueInWindow is the most of kind k one request may use under the
// quota of user and client: Q * (Samples-1) * Window (Kafka's
// maxValueInQuotaWindow); ok false without a quota.
func (m *Manager) MaxValueInWindow(k Kind, user, client string) (float64, bool) {
	if !m.Active(k) {
		return 0, false
	}
	limit, _, _, ok := m.Resolve(k, user, client)
	if !ok {
		return 0, false
	}
	return limit * float64(m.cfg.Samples-1) * m.cfg.Window.Seconds(), true
}

// Mutation is one request's controller mutation quota (Kafka's
// ControllerMutationQuota); nil when none applies, which allows
// everything.
type Mutation struct {
	s        *sensor
	limit    float64
	burst    float64
	strict   bool
	throttle time.Duration
}

// Mutation returns the controller mutation quota of a request of user and
// client; strict for request versions that may be refused
// (THROTTLING_QUOTA_EXCEEDED: CreateTopics v6+, DeleteTopics v5+,
// CreatePartitions v3+), else permissive (throttled only).
func (m *Manager) Mutation(user, client string, strict bool, now time.Time) *Mutation {
	if !m.Active(ControllerMutation) {
		return nil
	}
	limit, tu, tc, ok := m.Resolve(ControllerMutation, user, client)
	if !ok {
		return nil
	}
	s := m.sensor(key{ControllerMutation, tu, tc}, ms(now))
	return &Mutation{s: s, limit: limit, burst: limit * float64(m.cfg.MutationSamples) * float64(m.mwin) / 1000, strict: strict}
}

// Record spends partitions mutations at now. A strict quota refuses them
// (ErrThrottled, nothing spent) while the bucket is below zero; a
// permissive one spends them and throttles when that takes it below zero.
// Either way a violation sets Throttle to the time the bucket needs to
// come back to zero.
func (q *Mutation) Record(partitions float64, now time.Time) error {
	if q == nil {
		return nil
	}
	t := ms(now)
	q.s.mu.Lock()
	defer q.s.mu.Unlock()
	q.s.last = t
	if q.strict {
		if tokens := q.s.bucket.Tokens(q.limit, q.burst, t); tokens < 0 {
			q.violated(tokens)
			return ErrThrottled
		}
	}
	q.s.bucket.Record(q.limit, q.burst, partitions, t)
	if !q.strict {
		if tokens := q.s.bucket.Tokens(q.limit, q.burst, t); tokens < 0 {
			q.violated(tokens)
		}
	}
	return nil
}

func (q *Mutation) violated(tokens float64) {
	q.throttle = time.Duration(math.Round(-tokens/q.limit*1000)) * time.Millisecond
}

// Throttle is the throttle time of the last violation (0: none).
func (q *Mutation) Throttle() time.Duration {
	if q == nil {
		return 0
	}
	return q.throttle
}
