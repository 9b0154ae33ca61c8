package handler

// BROKER_LOGGER config resources (kafka-configs.sh --entity-type
// broker-loggers): the broker's run-time log levels (internal/logging) as
// Kafka's DescribeConfigs and IncrementalAlterConfigs present log4j's.
//
// The loggers are "root" (the base level, log.level) and one per logging
// component (engine, replica, net, ...; docs/logging.md), not Java class
// names. Levels are Kafka's names: DescribeConfigs answers DEBUG, INFO,
// WARN or ERROR (a component's effective level, source
// DYNAMIC_BROKER_LOGGER_CONFIG, not read-only); SET takes TRACE, DEBUG,
// INFO, WARN, ERROR or FATAL (TRACE is kept as DEBUG and FATAL as ERROR:
// slog has four levels); DELETE drops a component's own level so it
// follows root again. As in Kafka: the resource name must be this
// broker's node id (INVALID_REQUEST otherwise); an unknown logger or level
// is INVALID_CONFIG; DELETE of root, APPEND and SUBTRACT are
// INVALID_REQUEST; every operation of a resource is validated before any
// applies; changes are this broker's alone and last until it restarts
// (the admin API's /v1/loggers changes the same levels). Legacy
// AlterConfigs does not take the resource type (Kafka neither).

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/logging"
)

// rootLogger is the name of the base level, as log4j's root logger.
const rootLogger = "root"

// kafkaLogLevels maps Kafka's log level names (LogLevelConfig) to slog's.
var kafkaLogLevels = map[string]slog.Level{
	"TRACE": slog.LevelDebug, "DEBUG": slog.LevelDebug, "INFO": slog.LevelInfo,
	"WARN": slog.LevelWarn, "ERROR": slog.LevelError, "FATAL": slog.LevelError,
}

// kafkaLevelName is the Kafka name of an slog level.
func kafkaLevelName(l slog.Level) string { return strings.ToUpper(logging.LevelName(l)) }

// brokerLoggerEntries describes the loggers: root first, then the
// components by name; names, when given, select.
func (b *Broker) brokerLoggerEntries(names []string) []kmsg.DescribeConfigsResponseResourceConfig {
	lg := b.cfg.Loggers
	entry := func(name string, l slog.Level) kmsg.DescribeConfigsResponseResourceConfig {
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name, c.Value = name, kmsg.StringPtr(kafkaLevelName(l))
		c.Source = kmsg.ConfigSourceDynamicBrokerLoggerConfig
		c.ConfigType = kmsg.ConfigTypeString
		return c
	}
	wanted := func(name string) bool { return len(names) == 0 || slices.Contains(names, name) }
	var out []kmsg.DescribeConfigsResponseResourceConfig
	if wanted(rootLogger) {
		out = append(out, entry(rootLogger, lg.Level()))
	}
	for _, cl := range lg.Levels() {
		if !wanted(cl.Component) {
			continue
		}
		l, err := logging.ParseLevel(cl.Level)
		if err != nil { // Levels names only levels ParseLevel reads
			continue
		}
		out = append(out, entry(cl.Component, l))
	}
	return out
}

// loggerExists reports whether name is root or a logging component.
func (b *Broker) loggerExists(name string) bool {
	return name == rootLogger || slices.Contains(logging.Components, name)
}

// alterBrokerLoggers validates every operation on a BROKER_LOGGER
// resource and then, unless validateOnly, applies them in order.
func (b *Broker) alterBrokerLoggers(name string, configs []kmsg.IncrementalAlterConfigsRequestResourceConfig, validateOnly bool) (int16, *string) {
	refuse := func(e *kerr.Error, format string, args ...any) (int16, *string) {
		return e.Code, kmsg.StringPtr(fmt.Sprintf(format, args...))
	}
	if name != fmt.Sprint(b.cfg.NodeID) {
		return refuse(kerr.InvalidRequest, "Unexpected broker id, expected %d but received %q", b.cfg.NodeID, name)
	}
	if b.cfg.Loggers == nil {
		return refuse(kerr.InvalidRequest, "this broker's log levels cannot be changed")
	}
	for _, c := range configs {
		switch c.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			if !b.loggerExists(c.Name) {
				return refuse(kerr.InvalidConfig, "Logger %s does not exist!", c.Name)
			}
			if c.Value == nil {
				return refuse(kerr.InvalidRequest, "Null value not supported for : %s", c.Name)
			}
			if _, ok := kafkaLogLevels[*c.Value]; !ok {
				return refuse(kerr.InvalidConfig, "Cannot set the log level of %s to %s as it is not a supported log level. Valid log levels are TRACE, DEBUG, INFO, WARN, ERROR, FATAL", c.Name, *c.Value)
			}
		case kmsg.IncrementalAlterConfigOpDelete:
			if !b.loggerExists(c.Name) {
				return refuse(kerr.InvalidConfig, "Logger %s does not exist!", c.Name)
			}
			if c.Name == rootLogger {
				return refuse(kerr.InvalidRequest, "Removing the log level of the root logger is not allowed")
			}
		default:
			return refuse(kerr.InvalidRequest, "%v operation is not allowed for the BROKER_LOGGER resource", c.Op)
		}
	}
	if validateOnly {
		return 0, nil
	}
	lg := b.cfg.Loggers
	for _, c := range configs {
		switch {
		case c.Op == kmsg.IncrementalAlterConfigOpDelete:
			lg.ClearComponentLevel(c.Name)
		case c.Name == rootLogger:
			lg.SetLevel(kafkaLogLevels[*c.Value])
		default:
			lg.SetComponentLevel(c.Name, kafkaLogLevels[*c.Value])
		}
		b.log.Info("log level changed through IncrementalAlterConfigs", "logger", c.Name, "op", c.Op.String(), "new_level", c.Value)
	}
	return 0, nil
}
