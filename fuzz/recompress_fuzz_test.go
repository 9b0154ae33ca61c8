package fuzz

import (
	"bytes"
	"testing"

	"github.com/rillmq/rill/engine/format"
)

// FuzzRecompress: the leader's recompression (compression.type) on
// arbitrary bytes never panics, fails only with corruption errors, leaves
// its input alone, and what it returns validates, in the target codec,
// with the same records as the input.
func FuzzRecompress(f *testing.F) {
	seedBatches(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := append([]byte(nil), data...)
		b, err := format.Parse(data)
		if err != nil {
			return
		}
		for _, to := range []format.Codec{format.CodecNone, format.CodecGzip, format.CodecSnappy, format.CodecLZ4, format.CodecZstd} {
			out, err := format.Recompress(b, to, format.DefaultLevel(to))
			if !bytes.Equal(data, orig) {
				t.Fatal("Recompress modified its input")
			}
			if err != nil {
				if !format.IsCorrupt(err) {
					t.Fatalf("non-corruption error from Recompress: %v", err)
				}
				continue
			}
			if b.IsControl() || b.Codec() == to {
				if !bytes.Equal(out, b) {
					t.Fatal("a batch left as is changed")
				}
				continue
			}
			nb, err := format.Validate(out)
			if err != nil {
				t.Fatalf("recompressed batch does not validate: %v", err)
			}
			if nb.Codec() != to || nb.Attributes()&^format.AttrCodecMask != b.Attributes()&^format.AttrCodecMask {
				t.Fatalf("attributes %#x from %#x", nb.Attributes(), b.Attributes())
			}
			want, err := format.Decompress(b.Codec(), b.Records())
			if err != nil {
				t.Fatal(err)
			}
			got, err := format.Decompress(nb.Codec(), nb.Records())
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("records changed: %v", err)
			}
		}
	})
}
