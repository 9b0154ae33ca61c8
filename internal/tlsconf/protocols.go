package tlsconf

import (
	"crypto/tls"
	"strings"
)

// versionRange is the TLS versions ssl.enabled.protocols allows.
type versionRange struct{ min, max uint16 }

// enabledVersions reads ssl.enabled.protocols. Go enables a range of
// versions, not a set, which is no loss: only TLS 1.2 and 1.3 are allowed.
func enabledVersions(props map[string]string) (versionRange, error) {
	v, ok := get(props, EnabledProtocols)
	if !ok {
		v = defaultEnabledProtocols
	}
	r := versionRange{}
	for _, name := range list(v) {
		ver, err := protocolVersion(EnabledProtocols, name)
		if err != nil {
			return versionRange{}, err
		}
		if r.min == 0 || ver < r.min {
			r.min = ver
		}
		if ver > r.max {
			r.max = ver
		}
	}
	if r.min == 0 {
		return versionRange{}, configErr(EnabledProtocols, nil, "no protocol enabled")
	}
	return r, nil
}

// clientVersionCap reads ssl.protocol: the SSLContext protocol, which on a
// Java client caps the version it offers (TLSv1.2 never offers TLS 1.3).
// On servers Kafka's enabled protocols win, so only Client applies it.
func clientVersionCap(props map[string]string) (uint16, error) {
	v, ok := get(props, Protocol)
	if !ok {
		v = defaultProtocol
	}
	v = strings.TrimSpace(v)
	if strings.EqualFold(v, "TLS") {
		return tls.VersionTLS13, nil
	}
	return protocolVersion(Protocol, v)
}

func protocolVersion(key, name string) (uint16, error) {
	switch strings.ToUpper(name) {
	case "TLSV1.3":
		return tls.VersionTLS13, nil
	case "TLSV1.2":
		return tls.VersionTLS12, nil
	case "TLSV1.1", "TLSV1", "SSLV3", "SSLV2HELLO", "SSL", "SSLV2":
		return 0, configErr(key, nil, "%s is refused: only TLSv1.2 and TLSv1.3 are supported", name)
	}
	return 0, configErr(key, nil, "unknown protocol %q (want TLSv1.2 or TLSv1.3)", name)
}

// tls13Suites are the TLS 1.3 suite names; Go always enables all three.
var tls13Suites = map[string]bool{
	"TLS_AES_128_GCM_SHA256":       true,
	"TLS_AES_256_GCM_SHA384":       true,
	"TLS_CHACHA20_POLY1305_SHA256": true,
}

// cipherSuites reads ssl.cipher.suites into Go's TLS 1.2 suite IDs and
// narrows r the way Java's enabled suites do: a list with no TLS 1.3
// suite disables TLS 1.3, one with no TLS 1.2 suite disables TLS 1.2.
// Unset means Go's defaults (nil).
func cipherSuites(props map[string]string, r versionRange) ([]uint16, versionRange, error) {
	v, ok := get(props, CipherSuites)
	if !ok {
		return nil, r, nil
	}
	secure := map[string]uint16{}
	for _, cs := range tls.CipherSuites() {
		secure[cs.Name] = cs.ID
	}
	insecure := map[string]bool{}
	for _, cs := range tls.InsecureCipherSuites() {
		insecure[cs.Name] = true
	}
	ids := []uint16{}
	has13 := false
	for _, name := range list(v) {
		// Java still accepts the SSL_ spelling of old suites.
		goName := name
		if rest, ok := strings.CutPrefix(name, "SSL_"); ok {
			goName = "TLS_" + rest
		}
		switch {
		case tls13Suites[goName]:
			has13 = true
		case name == "TLS_EMPTY_RENEGOTIATION_INFO_SCSV":
			// A signalling value Java lists as a suite; Go sends it itself.
		case secure[goName] != 0:
			id := secure[goName]
			// TLS 1.3 suites are in tls.CipherSuites() too; handled above.
			ids = append(ids, id)
		case insecure[goName]:
			return nil, r, configErr(CipherSuites, nil, "%s is refused: Go counts it insecure", name)
		default:
			return nil, r, configErr(CipherSuites, nil, "unknown or unsupported cipher suite %q", name)
		}
	}
	if !has13 && r.max == tls.VersionTLS13 {
		r.max = tls.VersionTLS12
	}
	if len(ids) == 0 && r.min == tls.VersionTLS12 {
		r.min = tls.VersionTLS13
	}
	if r.min > r.max {
		return nil, r, configErr(CipherSuites, nil, "no suite for an enabled protocol (%s)", v)
	}
	return ids, r, nil
}
