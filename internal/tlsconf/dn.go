package tlsconf

import (
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// rfc2253Keywords are the attribute types Java's X500Principal.getName()
// prints by name (sun.security.x509.AVAKeyword entries marked RFC 2253
// compliant). Every other type is printed as its dotted OID with the
// value in hex: an e-mail address attribute prints as
// 1.2.840.113549.1.9.1=#16...
var rfc2253Keywords = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.9":                    "STREET",
	"0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1":  "UID",
}

// ASN.1 string tags Java prints as text (AVA.isDerString, non-canonical).
const (
	tagUTF8String      = 12
	tagPrintableString = 19
	tagT61String       = 20
	tagIA5String       = 22
	tagGeneralString   = 27
	tagBMPString       = 30
)

type attributeTypeAndValue struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// DistinguishedName formats a DER X.501 Name (a certificate's RawSubject)
// as Java's X500Principal.getName() does, which is the string Kafka's
// principal builder and ssl.principal.mapping.rules see:
//
//   - RDNs most specific first (the reverse of the encoding), joined by
//     ","; the attributes of a multi-valued RDN in encoded order joined
//     by "+"; no spaces.
//   - The types CN, C, L, ST, O, OU, STREET, DC and UID by name, any
//     other as its OID, and then the value as "#" and the lower-case hex
//     of its DER encoding; so is a value that is not a string type.
//   - In values, each of , = + < > # ; " \ is escaped with a backslash,
//     NUL as \00, and leading and trailing spaces (and CRs) with a
//     backslash; everything else, non-ASCII included, is kept as is.
//
// Go's pkix.Name.String differs: it prints SERIALNUMBER and other types
// by name where Java prints an OID and hex, and escapes differently.
func DistinguishedName(rawName []byte) (string, error) {
	var rdns []asn1.RawValue
	rest, err := asn1.Unmarshal(rawName, &rdns)
	if err != nil {
		return "", fmt.Errorf("tlsconf: bad distinguished name: %w", err)
	}
	if len(rest) != 0 {
		return "", errors.New("tlsconf: bad distinguished name: trailing data")
	}
	parts := make([]string, 0, len(rdns))
	for i := len(rdns) - 1; i >= 0; i-- {
		rdn := rdns[i]
		if rdn.Class != asn1.ClassUniversal || rdn.Tag != asn1.TagSet {
			return "", errors.New("tlsconf: bad distinguished name: an RDN is not a SET")
		}
		var avas []string
		for b := rdn.Bytes; len(b) > 0; {
			var atv attributeTypeAndValue
			b, err = asn1.Unmarshal(b, &atv)
			if err != nil {
				return "", fmt.Errorf("tlsconf: bad distinguished name: %w", err)
			}
			avas = append(avas, formatAVA(atv))
		}
		if len(avas) == 0 {
			return "", errors.New("tlsconf: bad distinguished name: an empty RDN")
		}
		parts = append(parts, strings.Join(avas, "+"))
	}
	return strings.Join(parts, ","), nil
}

func formatAVA(atv attributeTypeAndValue) string {
	keyword, named := rfc2253Keywords[atv.Type.String()]
	if !named {
		keyword = atv.Type.String()
	}
	text, isText := valueText(atv.Value)
	if !named || !isText {
		return keyword + "=#" + hex.EncodeToString(atv.Value.FullBytes)
	}
	return keyword + "=" + escapeValue(text)
}

// valueText decodes a string value with the charsets Java uses.
func valueText(v asn1.RawValue) (string, bool) {
	if v.Class != asn1.ClassUniversal || v.IsCompound {
		return "", false
	}
	switch v.Tag {
	case tagUTF8String:
		return strings.ToValidUTF8(string(v.Bytes), string(utf8.RuneError)), true
	case tagPrintableString, tagT61String, tagIA5String, tagGeneralString:
		// ISO-8859-1: each byte is the code point.
		r := make([]rune, len(v.Bytes))
		for i, c := range v.Bytes {
			r[i] = rune(c)
		}
		return string(r), true
	case tagBMPString:
		u := make([]uint16, len(v.Bytes)/2)
		for i := range u {
			u[i] = uint16(v.Bytes[2*i])<<8 | uint16(v.Bytes[2*i+1])
		}
		return string(utf16.Decode(u)), true
	}
	return "", false
}

// escapeValue is AVA.toRFC2253String's escaping.
func escapeValue(s string) string {
	var esc []rune
	for _, c := range s {
		switch {
		case strings.ContainsRune(`,=+<>#;"\`, c):
			esc = append(esc, '\\', c)
		case c == 0:
			esc = append(esc, '\\', '0', '0')
		default:
			esc = append(esc, c)
		}
	}
	space := func(c rune) bool { return c == ' ' || c == '\r' }
	lead := 0
	for lead < len(esc) && space(esc[lead]) {
		lead++
	}
	trail := len(esc) - 1
	for trail >= 0 && space(esc[trail]) {
		trail--
	}
	var b strings.Builder
	for i, c := range esc {
		if i < lead || i > trail {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
