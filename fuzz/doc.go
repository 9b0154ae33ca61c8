// Package fuzz holds the cross-package fuzz targets of the storage engine:
// record batch parsing and record decoding (every codec), index lookup over
// arbitrary index bytes, and recovery of arbitrarily corrupted segment
// files. Each target checks that the code never panics, never reads past
// its input, and, where there is one, keeps its contract (round trip, or
// "recovery serves only records that were written").
//
// `make fuzz FUZZTIME=1m` runs them; `go test ./fuzz` replays the seed
// corpora in testdata/fuzz as regression tests (CI does).
package fuzz
