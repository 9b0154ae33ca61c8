package main

// rill features: the cluster's finalized features (KIP-584), as
// kafka-features.sh shows and changes them:
//
//	rill features describe
//	rill features upgrade   --feature NAME=LEVEL... [--dry-run]
//	rill features downgrade --feature NAME=LEVEL... [--unsafe] [--dry-run]
//	rill features disable   --feature NAME... [--unsafe] [--dry-run]
//
// describe reads ApiVersions (v3+: the features the answering broker
// supports, the finalized levels and their epoch); the others send one
// UpdateFeatures (upgrade type 1 upgrade, 2 safe downgrade, 3 unsafe
// downgrade; disable is a downgrade to level 0; --dry-run is
// ValidateOnly). Each feature's outcome is printed as kafka-features.sh
// prints it, and any failure makes the command exit 1.

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func newFeaturesCmd() *cobra.Command {
	c := groupCmd(&cobra.Command{Use: "features", Short: "describe, upgrade, downgrade or disable the cluster's finalized features (kafka-features.sh)"})
	c.AddCommand(
		featuresDescribeCmd(),
		featuresUpdateCmd("upgrade", "upgrade --feature NAME=LEVEL... [--dry-run]", "raise finalized feature levels"),
		featuresUpdateCmd("downgrade", "downgrade --feature NAME=LEVEL... [--unsafe] [--dry-run]", "lower finalized feature levels (safe downgrades unless --unsafe)"),
		featuresUpdateCmd("disable", "disable --feature NAME... [--unsafe] [--dry-run]", "disable features (finalize them at level 0)"),
	)
	return c
}

// featureInfo is one feature of `features describe`; a level is absent
// when the answering broker does not support the feature or it is not
// finalized.
type featureInfo struct {
	Name           string `json:"name"`
	SupportedMin   *int16 `json:"supported_min_version,omitempty"`
	SupportedMax   *int16 `json:"supported_max_version,omitempty"`
	FinalizedLevel int16  `json:"finalized_version_level"`
}

// featuresDescription is `features describe --format json`. The epoch
// is absent when the broker has none (-1).
type featuresDescription struct {
	Features []featureInfo `json:"features"`
	Epoch    *int64        `json:"finalized_features_epoch,omitempty"`
}

func featuresDescribeCmd() *cobra.Command {
	var tf toolFlags
	var out outputFlag
	c := &cobra.Command{
		Use:   "describe",
		Short: "supported and finalized levels of every feature, and the finalized features' epoch",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cl, err := tf.client()
			if err != nil {
				return err
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(c.Context(), tf.timeout)
			defer cancel()
			d, err := describeFeatures(ctx, cl)
			if err != nil {
				return err
			}
			if out.json() {
				return writeJSON(c.OutOrStdout(), d)
			}
			return d.print(c.OutOrStdout())
		},
	}
	tf.register(c.Flags())
	out.register(c)
	return c
}

// describeFeatures asks one broker for its ApiVersions. A feature
// finalized at level 0 is not listed by the broker (Kafka removes it), so
// a supported feature without a finalized level shows 0, as
// kafka-features.sh shows it.
func describeFeatures(ctx context.Context, cl *kgo.Client) (featuresDescription, error) {
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		return featuresDescription{}, fmt.Errorf("describe features: %w", err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return featuresDescription{}, fmt.Errorf("describe features: %w", err)
	}
	if resp.Version < 3 {
		return featuresDescription{}, fmt.Errorf("describe features: the broker answered ApiVersions v%d, which has no features (v3+, Kafka 2.7+)", resp.Version)
	}
	byName := map[string]*featureInfo{}
	get := func(name string) *featureInfo {
		f := byName[name]
		if f == nil {
			f = &featureInfo{Name: name}
			byName[name] = f
		}
		return f
	}
	for _, s := range resp.SupportedFeatures {
		f := get(s.Name)
		f.SupportedMin, f.SupportedMax = new(s.MinVersion), new(s.MaxVersion)
	}
	for _, ff := range resp.FinalizedFeatures {
		get(ff.Name).FinalizedLevel = ff.MaxVersionLevel
	}
	d := featuresDescription{Features: []featureInfo{}}
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		d.Features = append(d.Features, *byName[name])
	}
	if resp.FinalizedFeaturesEpoch >= 0 {
		d.Epoch = new(resp.FinalizedFeaturesEpoch)
	}
	return d, nil
}

// print writes kafka-features.sh describe's lines.
func (d featuresDescription) print(w io.Writer) error {
	orDash := func(v *int16) string {
		if v == nil {
			return "-"
		}
		return strconv.Itoa(int(*v))
	}
	epoch := "-"
	if d.Epoch != nil {
		epoch = strconv.FormatInt(*d.Epoch, 10)
	}
	for _, f := range d.Features {
		if _, err := fmt.Fprintf(w, "Feature: %s\tSupportedMinVersion: %s\tSupportedMaxVersion: %s\tFinalizedVersionLevel: %d\tEpoch: %s\n",
			f.Name, orDash(f.SupportedMin), orDash(f.SupportedMax), f.FinalizedLevel, epoch); err != nil {
			return err
		}
	}
	return nil
}

// featureUpdate is one --feature of upgrade, downgrade or disable, and
// its outcome (`--format json`).
type featureUpdate struct {
	Feature     string `json:"feature"`
	Level       int16  `json:"level"`
	Operation   string `json:"operation"` // upgrade, downgrade or disable
	UpgradeType string `json:"upgrade_type"`
	DryRun      bool   `json:"dry_run,omitempty"`
	Error       string `json:"error,omitempty"`

	upgradeType int8
}

// featureUpgradeTypes are UpdateFeatures' upgrade types (v1+) by the
// names Kafka's FeatureUpdate.UpgradeType gives them.
var featureUpgradeTypes = map[int8]string{1: "UPGRADE", 2: "SAFE_DOWNGRADE", 3: "UNSAFE_DOWNGRADE"}

// parseFeatureUpdates reads the --feature flags of op: NAME=LEVEL for
// upgrade and downgrade, NAME for disable. A feature named twice is a
// usage error, as in kafka-features.sh.
func parseFeatureUpdates(op string, specs []string, unsafe bool) ([]featureUpdate, error) {
	if len(specs) == 0 {
		return nil, usageErrorf("features %s: name at least one --feature", op)
	}
	typ := int8(1)
	if op != "upgrade" {
		typ = 2
		if unsafe {
			typ = 3
		}
	}
	seen := map[string]bool{}
	var updates []featureUpdate
	for _, spec := range specs {
		u := featureUpdate{Operation: op, upgradeType: typ, UpgradeType: featureUpgradeTypes[typ]}
		if op == "disable" {
			if strings.Contains(spec, "=") {
				return nil, usageErrorf("--feature %q: disable takes a feature name, not NAME=LEVEL", spec)
			}
			u.Feature = strings.TrimSpace(spec)
		} else {
			name, level, ok := strings.Cut(spec, "=")
			if !ok {
				return nil, usageErrorf("--feature %q: want NAME=LEVEL", spec)
			}
			n, err := strconv.ParseInt(strings.TrimSpace(level), 10, 16)
			if err != nil || n < 0 {
				return nil, usageErrorf("--feature %q: the level must be a number from 0 to %d", spec, int16(1<<15-1))
			}
			u.Feature, u.Level = strings.TrimSpace(name), int16(n)
		}
		if u.Feature == "" {
			return nil, usageErrorf("--feature %q: no feature name", spec)
		}
		if seen[u.Feature] {
			return nil, usageErrorf("--feature %s: named more than once", u.Feature)
		}
		seen[u.Feature] = true
		updates = append(updates, u)
	}
	slices.SortFunc(updates, func(a, b featureUpdate) int { return strings.Compare(a.Feature, b.Feature) })
	return updates, nil
}

func featuresUpdateCmd(op, use, short string) *cobra.Command {
	var tf toolFlags
	var out outputFlag
	var specs []string
	var unsafe, dryRun bool
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			updates, err := parseFeatureUpdates(op, specs, unsafe)
			if err != nil {
				return err
			}
			cl, err := tf.client()
			if err != nil {
				return err
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(c.Context(), tf.timeout)
			defer cancel()
			if err := updateFeatures(ctx, cl, updates, dryRun, tf.timeout.Milliseconds()); err != nil {
				return err
			}
			failed := 0
			for _, u := range updates {
				if u.Error != "" {
					failed++
				}
			}
			if out.json() {
				err = writeJSON(c.OutOrStdout(), struct {
					Results []featureUpdate `json:"results"`
				}{updates})
			} else {
				err = printFeatureUpdates(c.OutOrStdout(), updates)
			}
			if err == nil && failed > 0 {
				err = fmt.Errorf("%d out of %d operation(s) failed", failed, len(updates))
			}
			return err
		},
	}
	fs := c.Flags()
	tf.register(fs)
	if op == "disable" {
		fs.StringArrayVar(&specs, "feature", nil, "a feature to disable (repeatable)")
	} else {
		fs.StringArrayVar(&specs, "feature", nil, "a feature and the level to "+op+" it to, NAME=LEVEL (repeatable)")
	}
	if op != "upgrade" {
		fs.BoolVar(&unsafe, "unsafe", false, "allow a lossy (unsafe) downgrade, which may lose metadata")
	}
	fs.BoolVar(&dryRun, "dry-run", false, "validate the update without performing it (ValidateOnly)")
	out.register(c)
	return c
}

// updateFeatures sends the updates in one UpdateFeaturesRequest (kgo
// sends it to the controller; Rill's brokers forward it too) and sets
// each one's Error from the answer: a top-level error is every
// feature's (Kafka's and Rill's controllers decide all or nothing, and
// v2 has no per-feature results), else v0-v1's per-feature error. The
// broker's message is kept (kadm's UpdateFeatures drops it).
func updateFeatures(ctx context.Context, cl *kgo.Client, updates []featureUpdate, dryRun bool, timeoutMillis int64) error {
	req := kmsg.NewPtrUpdateFeaturesRequest()
	req.TimeoutMillis = int32(min(timeoutMillis, 1<<31-1))
	req.ValidateOnly = dryRun
	for _, u := range updates {
		fu := kmsg.NewUpdateFeaturesRequestFeatureUpdate()
		fu.Feature, fu.MaxVersionLevel, fu.UpgradeType = u.Feature, u.Level, u.upgradeType
		// v0 has AllowDowngrade instead of the upgrade type.
		fu.AllowDowngrade = u.upgradeType != 1
		req.FeatureUpdates = append(req.FeatureUpdates, fu)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("update features: %w", err)
	}
	if req.ValidateOnly && resp.Version < 1 {
		// v0 has no ValidateOnly (Kafka before 3.3): say so rather
		// than report a dry run.
		return fmt.Errorf("update features: the broker speaks UpdateFeatures v0, which has no validate-only mode: the update may have been made")
	}
	top := ""
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		top = brokerError(err, deref(resp.ErrorMessage))
	}
	results := map[string]string{}
	for _, r := range resp.Results {
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			results[r.Feature] = brokerError(err, deref(r.ErrorMessage))
		}
	}
	for i := range updates {
		updates[i].DryRun = dryRun
		if top != "" {
			updates[i].Error = top
		} else {
			updates[i].Error = results[updates[i].Feature]
		}
	}
	return nil
}

// printFeatureUpdates prints a line per feature as kafka-features.sh
// does: "transaction.version was upgraded to 2.", "... can be
// downgraded to 1." with --dry-run, "Could not upgrade
// transaction.version to 3. REASON" on failure.
func printFeatureUpdates(w io.Writer, updates []featureUpdate) error {
	for _, u := range updates {
		target := u.Operation + " " + u.Feature + " to " + strconv.Itoa(int(u.Level))
		done := u.Operation + "d to " + strconv.Itoa(int(u.Level)) + "."
		if u.Operation == "disable" {
			target, done = "disable "+u.Feature, "disabled."
		}
		var line string
		switch {
		case u.Error != "" && u.DryRun:
			line = "Can not " + target + ". " + u.Error
		case u.Error != "":
			line = "Could not " + target + ". " + u.Error
		case u.DryRun:
			line = u.Feature + " can be " + done
		default:
			line = u.Feature + " was " + done
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}
