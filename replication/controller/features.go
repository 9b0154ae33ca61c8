package controller

// Finalized features (KIP-584): Kafka's FeatureLevelRecord, decided as
// Kafka's FeatureControlManager decides UpdateFeatures. A feature's level
// is what every broker of the cluster acts on; ApiVersions shows the
// finalized levels (level 0 is finalized but not shown, as Kafka removes
// it). Rill's features are the ones it implements; every broker runs the
// same code, so the supported ranges are this table, not each broker's
// registration.

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// FeatureTransactionVersion is transaction.version (KIP-890): 2 makes
// brokers add partitions to transactions themselves (Produce v12,
// TxnOffsetCommit v5) and end them with an epoch bump (EndTxn v5).
const FeatureTransactionVersion = "transaction.version"

// FeatureShareVersion is share.version (KIP-932): 1 serves share groups
// (ShareGroupHeartbeat, ShareGroupDescribe, ShareFetch, ShareAcknowledge
// and the share offset APIs); 0 turns them off, as Kafka 4.2.
const FeatureShareVersion = "share.version"

// SupportedFeatures are the features and the levels Rill implements.
var SupportedFeatures = map[string]FeatureRange{
	FeatureTransactionVersion: {Min: 0, Max: 2},
	FeatureShareVersion:       {Min: 0, Max: 1},
}

// FeatureRange is a feature's supported levels.
type FeatureRange struct{ Min, Max int16 }

// FeatureLevel is Kafka's FeatureLevelRecord: a feature finalized at a
// level.
type FeatureLevel struct {
	Name  string
	Level int16
}

// Upgrade types of UpdateFeatures (v1+; v0's AllowDowngrade is a safe
// downgrade).
const (
	FeatureUpgrade         int8 = 1
	FeatureSafeDowngrade   int8 = 2
	FeatureUnsafeDowngrade int8 = 3
)

// FeatureUpdate is one update of UpdateFeatures.
type FeatureUpdate struct {
	Name        string
	Level       int16
	UpgradeType int8
}

// ErrInvalidFeatureUpdate is Kafka's INVALID_UPDATE_VERSION for a feature
// update: the wrapped message says why.
var ErrInvalidFeatureUpdate = errors.New("controller: invalid feature update")

func invalidFeatureUpdate(name string, level int16, why string) error {
	return fmt.Errorf("%w: invalid update version %d for feature %s. %s", ErrInvalidFeatureUpdate, level, name, why)
}

// UpdateFeatures decides updates all or nothing, as Kafka does: the first
// invalid one is the answer and no record is made.
func (c *Controller) UpdateFeatures(updates []FeatureUpdate) ([]Record, error) {
	var recs []Record
	for _, u := range updates {
		if err := c.updateFeature(u); err != nil {
			return nil, err
		}
		recs = append(recs, Record{FeatureLevel: &FeatureLevel{Name: u.Name, Level: u.Level}})
	}
	return recs, nil
}

func (c *Controller) updateFeature(u FeatureUpdate) error {
	if u.UpgradeType < FeatureUpgrade || u.UpgradeType > FeatureUnsafeDowngrade {
		return invalidFeatureUpdate(u.Name, u.Level, "The controller does not support the given upgrade type.")
	}
	if u.Level < 0 {
		return invalidFeatureUpdate(u.Name, u.Level, "A feature version cannot be less than 0.")
	}
	r, ok := SupportedFeatures[u.Name]
	if !ok {
		if u.Level == 0 {
			return nil // deleting what is not there
		}
		return invalidFeatureUpdate(u.Name, u.Level, "The controller does not support this feature.")
	}
	if u.Level != 0 && (u.Level < r.Min || u.Level > r.Max) {
		return invalidFeatureUpdate(u.Name, u.Level, fmt.Sprintf("The controller only supports versions %d-%d.", r.Min, r.Max))
	}
	current := c.image.Features[u.Name]
	switch {
	case u.Level < current && u.UpgradeType == FeatureUpgrade:
		return invalidFeatureUpdate(u.Name, u.Level, "Can't downgrade the version of this feature without setting the upgrade type to either safe or unsafe downgrade.")
	case u.Level > current && u.UpgradeType != FeatureUpgrade:
		return invalidFeatureUpdate(u.Name, u.Level, "Can't downgrade to a newer version.")
	}
	return nil
}

// BootstrapFeatures are the records that finalize every supported feature
// the image has no level for, at its level in initial (Kafka writes them
// when the storage is formatted; Rill when a controller first leads a
// log without them). A feature initial does not name starts at its
// highest level.
func (c *Controller) BootstrapFeatures(initial map[string]int16) []Record {
	var recs []Record
	for _, name := range slices.Sorted(maps.Keys(SupportedFeatures)) {
		if _, ok := c.image.Features[name]; ok {
			continue
		}
		level, ok := initial[name]
		if !ok {
			level = SupportedFeatures[name].Max
		}
		recs = append(recs, Record{FeatureLevel: &FeatureLevel{Name: name, Level: level}})
	}
	return recs
}

func (im *Image) applyFeature(f *FeatureLevel) error {
	if f.Name == "" || f.Level < 0 {
		return fmt.Errorf("%w: feature %q at level %d", ErrInvalidRecord, f.Name, f.Level)
	}
	if im.Features == nil {
		im.Features = map[string]int16{}
	}
	im.Features[f.Name] = f.Level
	return nil
}
