package brokerconf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Type is a key's value type, Kafka's ConfigDef.Type.
type Type int

// The types, numbered as Kafka's DescribeConfigs ConfigType.
const (
	Bool Type = iota + 1
	String
	Int
	Short
	Long
	Double
	List
	Class
	Password
)

func (t Type) String() string {
	switch t {
	case Bool:
		return "boolean"
	case String:
		return "string"
	case Int:
		return "int"
	case Short:
		return "short"
	case Long:
		return "long"
	case Double:
		return "double"
	case List:
		return "list"
	case Class:
		return "class"
	case Password:
		return "password"
	}
	return "unknown"
}

// Status says what Rill does with a key.
type Status int

const (
	// Implemented keys change Rill's behaviour.
	Implemented Status = iota
	// Ignored keys are Kafka's, accepted so that a Kafka properties file
	// starts Rill, but not acted on: each one set is warned about.
	Ignored
)

// Key is one known broker key.
type Key struct {
	Name string
	Type Type
	// Default is the value used when the key is not set; NoDefault marks
	// Kafka's null default (the key is then simply absent).
	Default   string
	NoDefault bool
	// Min and Max bound numeric values when HasRange.
	HasRange bool
	Min, Max float64
	// Enum lists the allowed values (each item, for a List).
	Enum []string
	Doc  string
	// Rill marks keys that are Rill's own, not Kafka's.
	Rill   bool
	Status Status
	// PerListener keys may also be set as listener.name.<l>.<key>.
	PerListener bool
	// Synonyms are the keys that set the same thing with lower
	// precedence, as Kafka lists them in DescribeConfigs (log.retention.ms
	// over log.retention.minutes over log.retention.hours).
	Synonyms []string
}

// Sensitive reports whether the value must not be shown.
func (k Key) Sensitive() bool { return k.Type == Password }

// Check parses v as the key's type and checks its range and values. It
// returns the value as stored: trimmed, a bool lower-cased.
func (k Key) Check(v string) (string, error) {
	v = strings.TrimSpace(v)
	switch k.Type {
	case Bool:
		switch strings.ToLower(v) {
		case "true", "false":
			return strings.ToLower(v), nil
		}
		return "", fmt.Errorf("%q is not a boolean: want true or false", v)
	case Int, Short, Long:
		bits := map[Type]int{Int: 32, Short: 16, Long: 64}[k.Type]
		n, err := strconv.ParseInt(v, 10, bits)
		if err != nil {
			return "", fmt.Errorf("%q is not a number of type %s", v, strings.ToUpper(k.Type.String()))
		}
		if err := k.inRange(float64(n)); err != nil {
			return "", err
		}
	case Double:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) {
			return "", fmt.Errorf("%q is not a number of type DOUBLE", v)
		}
		if err := k.inRange(f); err != nil {
			return "", err
		}
	case List:
		if len(k.Enum) > 0 {
			for _, item := range SplitList(v) {
				if !k.allowed(item) {
					return "", fmt.Errorf("%q is not one of %s", item, strings.Join(k.Enum, ", "))
				}
			}
		}
	default:
		if len(k.Enum) > 0 && !k.allowed(v) {
			return "", fmt.Errorf("%q is not one of %s", v, strings.Join(k.Enum, ", "))
		}
	}
	return v, nil
}

func (k Key) allowed(v string) bool {
	for _, e := range k.Enum {
		if e == v {
			return true
		}
	}
	return false
}

func (k Key) inRange(f float64) error {
	if !k.HasRange || (f >= k.Min && f <= k.Max) {
		return nil
	}
	return fmt.Errorf("%s is outside %s", strconv.FormatFloat(f, 'f', -1, 64), k.RangeText())
}

// RangeText renders the valid values for documentation and errors.
func (k Key) RangeText() string {
	switch {
	case len(k.Enum) > 0:
		return strings.Join(k.Enum, ", ")
	case k.Type == Bool:
		return "true, false"
	case !k.HasRange:
		return ""
	case k.Max == maxFor(k.Type):
		return "[" + num(k.Min) + ",...]"
	}
	return "[" + num(k.Min) + ",...," + num(k.Max) + "]"
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func maxFor(t Type) float64 {
	switch t {
	case Int:
		return math.MaxInt32
	case Short:
		return math.MaxInt16
	case Long:
		return math.MaxInt64
	}
	return math.Inf(1)
}

// SplitList splits a comma-separated list as Kafka's LIST type does:
// items trimmed, empty items dropped.
func SplitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
