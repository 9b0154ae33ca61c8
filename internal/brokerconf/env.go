package brokerconf

import (
	"sort"
	"strings"
)

// EnvPrefix marks the environment variables that are broker keys.
const EnvPrefix = "KAFKA_"

// envExcluded are the KAFKA_ variables Apache Kafka's container image
// leaves out of the broker's properties: they configure the JVM and the
// scripts, not the broker. KAFKA_HOME, an installation's path that many
// images and hosts set, is left out too: read strictly it would stop the
// broker as the unknown key "home".
var envExcluded = map[string]bool{
	"KAFKA_HOME":    true,
	"KAFKA_VERSION": true, "KAFKA_HEAP_OPTS": true, "KAFKA_LOG4J_OPTS": true, "KAFKA_OPTS": true,
	"KAFKA_JMX_OPTS": true, "KAFKA_JVM_PERFORMANCE_OPTS": true, "KAFKA_GC_LOG_OPTS": true,
	"KAFKA_LOG4J_ROOT_LOGLEVEL": true, "KAFKA_LOG4J_LOGGERS": true, "KAFKA_TOOLS_LOG4J_LOGLEVEL": true,
	"KAFKA_JMX_HOSTNAME": true, "KAFKA_JMX_PORT": true,
}

// EnvKey maps an environment variable name to a broker key as Apache
// Kafka's image does: strip KAFKA_, lower-case, "___" is "-", "__" is
// "_", "_" is ".". ok is false for other variables and excluded ones.
func EnvKey(variable string) (string, bool) {
	rest, ok := strings.CutPrefix(variable, EnvPrefix)
	if !ok || rest == "" || envExcluded[variable] {
		return "", false
	}
	rest = strings.ToLower(rest)
	var b strings.Builder
	for i := 0; i < len(rest); {
		switch {
		case strings.HasPrefix(rest[i:], "___"):
			b.WriteByte('-')
			i += 3
		case strings.HasPrefix(rest[i:], "__"):
			b.WriteByte('_')
			i += 2
		case rest[i] == '_':
			b.WriteByte('.')
			i++
		default:
			b.WriteByte(rest[i])
			i++
		}
	}
	return b.String(), true
}

// EnvVar is one environment variable that names a broker key.
type EnvVar struct{ Variable, Key, Value string }

// FromEnviron picks the broker keys out of environ (os.Environ's form),
// sorted by variable name.
func FromEnviron(environ []string) []EnvVar {
	var out []EnvVar
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if key, ok := EnvKey(name); ok {
			out = append(out, EnvVar{Variable: name, Key: key, Value: value})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Variable < out[j].Variable })
	return out
}
