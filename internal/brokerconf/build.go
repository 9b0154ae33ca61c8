package brokerconf

// The table is written with these options so each key stays one line.

type option func(*Key)

func key(name string, t Type, def, doc string, opts ...option) Key {
	k := Key{Name: name, Type: t, Default: def, Doc: doc}
	for _, o := range opts {
		o(&k)
	}
	return k
}

// atLeast bounds a number below (and by its type above).
func atLeast(m float64) option {
	return func(k *Key) { k.HasRange, k.Min, k.Max = true, m, maxFor(k.Type) }
}

func between(lo, hi float64) option {
	return func(k *Key) { k.HasRange, k.Min, k.Max = true, lo, hi }
}

func oneOf(v ...string) option { return func(k *Key) { k.Enum = v } }

// null is Kafka's null default: unset means absent.
func null() option { return func(k *Key) { k.NoDefault = true } }

// rill marks a key of Rill's own.
func rill() option { return func(k *Key) { k.Rill = true } }

// perListener allows listener.name.<l>.<key>.
func perListener() option { return func(k *Key) { k.PerListener = true } }

func synonyms(s ...string) option { return func(k *Key) { k.Synonyms = s } }

// ignored marks a Kafka key Rill accepts and does not act on.
func ignored() option { return func(k *Key) { k.Status = Ignored } }
