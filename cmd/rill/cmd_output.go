package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
)

// outputFlag is --format table|json of every listing command. JSON is for
// scripts: one document per invocation, field names in snake_case, and
// errors of parts of the answer as strings beside the part.
type outputFlag struct{ format string }

func (o *outputFlag) register(c *cobra.Command) {
	c.Flags().StringVar(&o.format, "format", "table", "output format: table or json")
	prev := c.PreRunE
	c.PreRunE = func(c *cobra.Command, args []string) error {
		if o.format != "table" && o.format != "json" {
			return usageErrorf("--format %q: want table or json", o.format)
		}
		if prev != nil {
			return prev(c, args)
		}
		return nil
	}
}

func (o *outputFlag) json() bool { return o.format == "json" }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// topicID prints a topic id as Kafka's tools do (Uuid.toString): URL-safe
// base64 without padding, 22 characters.
func topicID(id kadm.TopicID) string {
	return base64.RawURLEncoding.EncodeToString(id[:])
}

// errString is an error for JSON output: empty when nil.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// shardErrors splits err into the per-broker failures of a kadm request
// that partly succeeded (kadm.ShardErrors) and any other error. Callers
// show what answered and print the failures beside it rather than
// failing whole when one broker is down.
func shardErrors(err error) (failed []string, other error) {
	failed, _, other = shardErrorsByBroker(err)
	return failed, other
}

// shardErrorsByBroker is shardErrors with the failures also keyed by the
// broker the piece was for, so a row can carry its broker's error.
func shardErrorsByBroker(err error) (failed []string, byBroker map[int32]error, other error) {
	if err == nil {
		return nil, nil, nil
	}
	se, ok := errors.AsType[*kadm.ShardErrors](err)
	if !ok || se.AllFailed {
		return nil, nil, err
	}
	byBroker = map[int32]error{}
	for _, e := range se.Errs {
		failed = append(failed, fmt.Sprintf("%s to broker %d: %v", se.Name, e.Broker.NodeID, e.Err))
		byBroker[e.Broker.NodeID] = e.Err
	}
	return failed, byBroker, nil
}
