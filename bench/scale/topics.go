package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// createChunk is the most partitions one CreateTopics or CreatePartitions
// request adds.
const createChunk = 1_000

// createTopic creates topic with partitions partitions (replication factor
// 1): CreateTopics with the first chunk, then CreatePartitions a chunk at
// a time. It returns how long that took, until the last answer.
func createTopic(addr, topic string, partitions int32) (time.Duration, error) {
	p, err := dialPipe(addr)
	if err != nil {
		return 0, err
	}
	defer p.c.Close()
	t0 := time.Now()
	first := min(partitions, createChunk)
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version = 5
	req.TimeoutMillis = 600_000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, first, 1
	req.Topics = append(req.Topics, rt)
	resp := kmsg.NewPtrCreateTopicsResponse()
	if _, err := p.roundTrip(req, resp); err != nil {
		return 0, fmt.Errorf("CreateTopics: %w", err)
	}
	for _, t := range resp.Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			return 0, fmt.Errorf("CreateTopics %s: %w", t.Topic, err)
		}
	}
	for have := first; have < partitions; {
		have = min(partitions, have+createChunk)
		req := kmsg.NewPtrCreatePartitionsRequest()
		req.Version = 2
		req.TimeoutMillis = 600_000
		rt := kmsg.NewCreatePartitionsRequestTopic()
		rt.Topic, rt.Count = topic, have
		req.Topics = append(req.Topics, rt)
		resp := kmsg.NewPtrCreatePartitionsResponse()
		if _, err := p.roundTrip(req, resp); err != nil {
			return 0, fmt.Errorf("CreatePartitions: %w", err)
		}
		for _, t := range resp.Topics {
			if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
				return 0, fmt.Errorf("CreatePartitions %s to %d: %w", t.Topic, have, err)
			}
		}
	}
	return time.Since(t0), nil
}

// metadataStats is Metadata for all topics, over one connection.
type metadataStats struct {
	Millis     []float64 `json:"ms"` // each request, send to whole answer read and decoded
	Median     float64   `json:"median_ms"`
	Bytes      int       `json:"response_bytes"`
	Partitions int       `json:"partitions_listed"`
}

// allTopicsMetadata sends n Metadata v12 requests for all topics (a null
// topic list), one at a time, after one unmeasured request.
func allTopicsMetadata(addr string, n int) (metadataStats, error) {
	p, err := dialPipe(addr)
	if err != nil {
		return metadataStats{}, err
	}
	defer p.c.Close()
	var st metadataStats
	for i := -1; i < n; i++ {
		req := kmsg.NewPtrMetadataRequest()
		req.Version = 12
		req.Topics = nil
		resp := kmsg.NewPtrMetadataResponse()
		t0 := time.Now()
		size, err := p.roundTrip(req, resp)
		if err != nil {
			return st, fmt.Errorf("Metadata: %w", err)
		}
		d := time.Since(t0)
		if i < 0 {
			continue
		}
		st.Millis = append(st.Millis, float64(d.Microseconds())/1e3)
		st.Bytes, st.Partitions = size, 0
		for _, t := range resp.Topics {
			st.Partitions += len(t.Partitions)
		}
	}
	st.Median = median(st.Millis)
	return st, nil
}

// waitLeaders polls Metadata for topic until every partition has a leader
// (at most a minute).
func waitLeaders(addr, topic string, partitions int32) error {
	p, err := dialPipe(addr)
	if err != nil {
		return err
	}
	defer p.c.Close()
	for end := time.Now().Add(time.Minute); ; {
		req := kmsg.NewPtrMetadataRequest()
		req.Version = 12
		mt := kmsg.NewMetadataRequestTopic()
		mt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, mt)
		resp := kmsg.NewPtrMetadataResponse()
		if _, err := p.roundTrip(req, resp); err != nil {
			return err
		}
		ready := 0
		for _, t := range resp.Topics {
			for _, pt := range t.Partitions {
				if pt.ErrorCode == 0 && pt.Leader >= 0 {
					ready++
				}
			}
		}
		if ready == int(partitions) {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("%d of %d partitions of %s have a leader after a minute", ready, partitions, topic)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// waitCoordinator asks for group's coordinator until the broker names one
// (it creates __consumer_offsets on the first ask), at most 30 s.
func waitCoordinator(addr, group string) error {
	p, err := dialPipe(addr)
	if err != nil {
		return err
	}
	defer p.c.Close()
	for end := time.Now().Add(30 * time.Second); ; {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.Version = 3
		req.CoordinatorKey = group
		resp := kmsg.NewPtrFindCoordinatorResponse()
		if _, err := p.roundTrip(req, resp); err != nil {
			return fmt.Errorf("FindCoordinator: %w", err)
		}
		if resp.ErrorCode == 0 {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("FindCoordinator: %w", kerr.ErrorForCode(resp.ErrorCode))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
