// Package metadata holds the cluster's topic catalog: each topic's name,
// topic ID, partition count and config overrides.
//
// On a single broker the catalog lives in one JSON file in the data
// directory (cluster-metadata.json), replaced atomically (temp file, fsync,
// rename, directory fsync) on every change, so a crash leaves either the
// old or the new catalog. The controller quorum (replication issue) will
// make the Raft metadata log its source instead.
//
// Concurrency: a Store is safe for concurrent use; Topic values returned
// are copies.
package metadata

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"sort"
	"sync"

	"github.com/rillmq/rill/engine/vfs"
)

// FileName is the catalog file in the data directory.
const FileName = "cluster-metadata.json"

// Errors the protocol layer maps to Kafka codes.
var (
	ErrTopicExists  = errors.New("metadata: topic already exists")
	ErrUnknownTopic = errors.New("metadata: unknown topic")
)

// Topic is one topic's metadata.
type Topic struct {
	Name       string            `json:"name"`
	ID         [16]byte          `json:"id"`
	Partitions int32             `json:"partitions"`
	Configs    map[string]string `json:"configs,omitempty"`
}

func (t Topic) clone() Topic {
	t.Configs = maps.Clone(t.Configs)
	return t
}

// Store is the topic catalog.
type Store struct {
	fs   vfs.FS
	dir  string
	mu   sync.RWMutex
	byID map[[16]byte]string
	// nextProducerID is persisted before an ID is handed out, so a
	// restarted broker never reuses one.
	nextProducerID int64
	// topics by name
	topics map[string]Topic
}

type file struct {
	Version int     `json:"version"`
	Topics  []Topic `json:"topics"`
	// NextProducerID is the first producer ID not yet handed out.
	NextProducerID int64 `json:"next_producer_id"`
}

// Open loads the catalog from dir (empty when the file does not exist).
func Open(fs vfs.FS, dir string) (*Store, error) {
	s := &Store{fs: fs, dir: dir, topics: map[string]Topic{}, byID: map[[16]byte]string{}}
	path := filepath.Join(dir, FileName)
	if !vfs.Exists(fs, path) {
		return s, nil
	}
	data, err := vfs.ReadFile(fs, path)
	if err != nil {
		return nil, err
	}
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("metadata: %s: %w", path, err)
	}
	for _, t := range f.Topics {
		s.topics[t.Name] = t
		s.byID[t.ID] = t.Name
	}
	s.nextProducerID = f.NextProducerID
	return s, nil
}

func (s *Store) persistLocked() error {
	f := file{Version: 1, NextProducerID: s.nextProducerID}
	for _, t := range s.topics {
		f.Topics = append(f.Topics, t)
	}
	sort.Slice(f.Topics, func(i, j int) bool { return f.Topics[i].Name < f.Topics[j].Name })
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return vfs.WriteFileAtomic(s.fs, s.dir, filepath.Join(s.dir, FileName), data)
}

// NewTopicID returns a random, non-zero topic ID (Kafka's are UUIDs).
func NewTopicID() [16]byte {
	var id [16]byte
	for id == ([16]byte{}) {
		rand.Read(id[:])
	}
	return id
}

// Create adds a topic with a fresh ID and returns it.
func (s *Store) Create(name string, partitions int32, configs map[string]string) (Topic, error) {
	return s.CreateWithID(name, NewTopicID(), partitions, configs)
}

// CreateWithID adds a topic whose ID was chosen elsewhere (by the cluster
// controller, so every broker knows the topic by the same ID).
func (s *Store) CreateWithID(name string, id [16]byte, partitions int32, configs map[string]string) (Topic, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.topics[name]; ok {
		return Topic{}, ErrTopicExists
	}
	t := Topic{Name: name, ID: id, Partitions: partitions, Configs: maps.Clone(configs)}
	s.topics[name] = t
	s.byID[t.ID] = name
	if err := s.persistLocked(); err != nil {
		delete(s.topics, name)
		delete(s.byID, t.ID)
		return Topic{}, err
	}
	return t.clone(), nil
}

// Delete removes a topic.
func (s *Store) Delete(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.topics[name]
	if !ok {
		return ErrUnknownTopic
	}
	delete(s.topics, name)
	delete(s.byID, t.ID)
	if err := s.persistLocked(); err != nil {
		s.topics[name] = t
		s.byID[t.ID] = name
		return err
	}
	return nil
}

// Update replaces a topic's partition count and configs (CreatePartitions,
// AlterConfigs).
func (s *Store) Update(name string, fn func(*Topic) error) (Topic, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.topics[name]
	if !ok {
		return Topic{}, ErrUnknownTopic
	}
	old := t
	t = t.clone()
	if err := fn(&t); err != nil {
		return Topic{}, err
	}
	t.Name, t.ID = old.Name, old.ID
	s.topics[name] = t
	if err := s.persistLocked(); err != nil {
		s.topics[name] = old
		return Topic{}, err
	}
	return t.clone(), nil
}

// Get returns a topic by name.
func (s *Store) Get(name string) (Topic, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.topics[name]
	return t.clone(), ok
}

// ByID returns a topic by ID.
func (s *Store) ByID(id [16]byte) (Topic, bool) {
	s.mu.RLock()
	name, ok := s.byID[id]
	s.mu.RUnlock()
	if !ok {
		return Topic{}, false
	}
	return s.Get(name)
}

// List returns every topic, sorted by name.
func (s *Store) List() []Topic {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Topic, 0, len(s.topics))
	for _, t := range s.topics {
		out = append(out, t.clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// AllocateProducerID returns a producer ID never handed out before, on this
// catalog, persisted before it is returned.
func (s *Store) AllocateProducerID() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextProducerID
	s.nextProducerID++
	if err := s.persistLocked(); err != nil {
		s.nextProducerID--
		return 0, err
	}
	return id, nil
}

// NextProducerID is the first producer ID this catalog has not handed out.
func (s *Store) NextProducerID() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.nextProducerID
}
