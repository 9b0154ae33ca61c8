// Package brokerconf is the one table of broker configuration keys Rill
// knows, and the strict reading of a broker's settings against it.
//
// Contract:
//
//   - Every key a broker may be given is in Keys (or matches one of the
//     patterns: listener.name.<listener>.<key> for the keys marked
//     PerListener, listener.name.<listener>.<mechanism>.sasl.jaas.config
//     and .connections.max.reauth.ms, log.level.<component>). Any other
//     key is refused, with the nearest known key as a suggestion.
//   - A value must parse as its key's type (bools are exactly true or
//     false, numbers in their Kafka range, enums one of their values)
//     before anything reads it; Set refuses it otherwise. Values are
//     stored trimmed, bools lower-cased, so readers compare with "true".
//   - Keys Kafka has and Rill accepts without acting on them have Status
//     Ignored; Warnings names each one set, for one log line each.
//   - Sources rank default < file < env < flag: a later Set of a key from
//     a lower source than the one it holds does not replace it.
//
// The package imports only the standard library: cmd/rill reads it to
// start a broker, and the DescribeConfigs handler is fed its entries.
package brokerconf
