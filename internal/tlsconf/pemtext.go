package tlsconf

import (
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"regexp"
	"strings"
)

// pemRE finds PEM blocks the way Kafka's PEM parser does: the base64 text
// between the BEGIN and END lines may be wrapped or not, so a PEM value
// written on one line of a properties file works as in Kafka.
var pemRE = regexp.MustCompile(`(?s)-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END ([A-Z0-9 ]+)-----`)

// decodePEM returns the PEM blocks of data. A block whose body has
// headers (Proc-Type: of legacy encrypted keys) is decoded by encoding/pem
// so that the headers are kept. A block that does not decode is an
// error: a store that lost its only certificate to a typo must not load
// as an empty one.
func decodePEM(data []byte) ([]*pem.Block, error) {
	var out []*pem.Block
	for _, m := range pemRE.FindAllSubmatch(data, -1) {
		typ, body, end := string(m[1]), string(m[2]), string(m[3])
		if typ != end {
			return nil, fmt.Errorf("PEM block BEGIN %s ends with END %s", typ, end)
		}
		if strings.Contains(body, ":") {
			b, _ := pem.Decode(m[0])
			if b == nil {
				return nil, fmt.Errorf("PEM block %s (%d) does not decode", typ, len(out)+1)
			}
			out = append(out, b)
			continue
		}
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(body), ""))
		if err != nil {
			return nil, fmt.Errorf("PEM block %s (%d): %w", typ, len(out)+1, err)
		}
		out = append(out, &pem.Block{Type: typ, Bytes: der})
	}
	return out, nil
}

// looksPEM reports whether data holds PEM text.
func looksPEM(data []byte) bool { return pemRE.Match(data) }
