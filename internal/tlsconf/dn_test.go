package tlsconf

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

// Attribute type OIDs for building subjects.
var (
	oidCN     = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidC      = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidO      = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOU     = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidSerial = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidEmail  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	oidDC     = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
	oidUID    = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
)

// ava is one attribute: its type, the ASN.1 tag of its value and the
// value's bytes.
type ava struct {
	oid   asn1.ObjectIdentifier
	tag   int
	value string
}

func utf8v(oid asn1.ObjectIdentifier, v string) ava { return ava{oid, tagUTF8String, v} }

// rawName encodes RDNs in the given order (least specific first, as in
// the certificate), each a SET of its attributes in the given order.
func rawName(t *testing.T, rdns ...[]ava) []byte {
	t.Helper()
	var seq []byte
	for _, rdn := range rdns {
		var set []byte
		for _, a := range rdn {
			b, err := asn1.Marshal(struct {
				Type  asn1.ObjectIdentifier
				Value asn1.RawValue
			}{a.oid, asn1.RawValue{Class: asn1.ClassUniversal, Tag: a.tag, Bytes: []byte(a.value)}})
			if err != nil {
				t.Fatal(err)
			}
			set = append(set, b...)
		}
		b, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: set})
		if err != nil {
			t.Fatal(err)
		}
		seq = append(seq, b...)
	}
	b, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: seq})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The expected strings are what Java's X500Principal.getName() prints.
func TestDistinguishedName(t *testing.T) {
	for _, tc := range []struct {
		name string
		rdns [][]ava
		want string
	}{
		{"most specific first", [][]ava{
			{{oidC, tagPrintableString, "US"}}, {utf8v(oidO, "Acme")}, {utf8v(oidOU, "eng")}, {utf8v(oidCN, "alice")},
		}, "CN=alice,OU=eng,O=Acme,C=US"},
		{"escapes", [][]ava{{utf8v(oidCN, `a,b=c+d<e>f;g"h\i#j`)}}, `CN=a\,b\=c\+d\<e\>f\;g\"h\\i\#j`},
		{"comma and space", [][]ava{{utf8v(oidCN, "Tkac, Adam")}}, `CN=Tkac\, Adam`},
		{"leading hash", [][]ava{{utf8v(oidCN, "#1")}}, `CN=\#1`},
		{"leading and trailing spaces", [][]ava{{utf8v(oidCN, "  a b ")}}, `CN=\ \ a b\ `},
		{"NUL", [][]ava{{utf8v(oidCN, "a\x00b")}}, `CN=a\00b`},
		{"non-ASCII kept", [][]ava{{utf8v(oidCN, "José 名")}}, "CN=José 名"},
		{"BMPString", [][]ava{{{oidCN, tagBMPString, "\x00J\x00\xe9"}}}, "CN=Jé"},
		{"T61String is Latin-1", [][]ava{{{oidCN, tagT61String, "J\xe9"}}}, "CN=Jé"},
		{"IA5String", [][]ava{{{oidDC, tagIA5String, "com"}}, {{oidDC, tagIA5String, "example"}}}, "DC=example,DC=com"},
		{"UID by name", [][]ava{{utf8v(oidUID, "u1")}}, "UID=u1"},
		{"e-mail by OID, hex", [][]ava{{{oidEmail, tagIA5String, "a@b.c"}}, {utf8v(oidCN, "a")}},
			"CN=a,1.2.840.113549.1.9.1=#16056140622e63"},
		{"serial number by OID, hex", [][]ava{{{oidSerial, tagPrintableString, "123"}}}, "2.5.4.5=#1303313233"},
		{"a value that is not a string", [][]ava{{{oidCN, asn1.TagInteger, "\x05"}}}, "CN=#020105"},
		{"multi-valued RDN in encoded order", [][]ava{
			{utf8v(oidO, "Acme")}, {utf8v(oidUID, "u1"), utf8v(oidCN, "alice")},
		}, "UID=u1+CN=alice,O=Acme"},
		{"empty", nil, ""},
	} {
		got, err := DistinguishedName(rawName(t, tc.rdns...))
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

func TestDistinguishedNameRejectsGarbage(t *testing.T) {
	for _, raw := range [][]byte{nil, {0x30}, {0x30, 0x02, 0x05, 0x00}, append(rawName(t), 0)} {
		if got, err := DistinguishedName(raw); err == nil {
			t.Errorf("%x: got %q, want an error", raw, got)
		}
	}
}

// Go's own rendering differs from Java's in ways that change principals;
// this is why DistinguishedName exists.
func TestDistinguishedNameIsNotPkixString(t *testing.T) {
	raw := rawName(t, [][]ava{{{oidSerial, tagPrintableString, "123"}}, {utf8v(oidCN, "a#b")}}...)
	var seq pkix.RDNSequence
	if _, err := asn1.Unmarshal(raw, &seq); err != nil {
		t.Fatal(err)
	}
	var name pkix.Name
	name.FillFromRDNSequence(&seq)
	java, err := DistinguishedName(raw)
	if err != nil {
		t.Fatal(err)
	}
	if want := `CN=a\#b,2.5.4.5=#1303313233`; java != want {
		t.Errorf("DistinguishedName = %q, want %q", java, want)
	}
	if goString := name.String(); goString == java {
		t.Errorf("pkix.Name.String() = %q agrees; the test no longer shows why", goString)
	}
}
