package changestream

import (
	"encoding/hex"
	"sort"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func TestTokenEncodingMatchesMongoDBV1Layout(t *testing.T) {
	ts := Timestamp{T: 0x6553F100, I: 0x0000000A}
	cases := []struct {
		name string
		tok  Token
		want string
	}{
		{"event with uuid", Token{TS: ts, UUID: uuidA},
			"826553F1000000000A" + "2B02" + "2C0100" + "29" + "6E" + "5A1004" + "A1A2A3A4A5A6A7A8A9AAABACADAEAFA0" + "04"},
		{"event in transaction", Token{TS: ts, TxnOpIndex: 3, UUID: uuidA},
			"826553F1000000000A2B022C01002B066E5A1004A1A2A3A4A5A6A7A8A9AAABACADAEAFA004"},
		{"large txnOpIndex", Token{TS: ts, TxnOpIndex: 200},
			"826553F1000000000A2B022C01002C01906E04"},
		{"invalidate", Token{TS: ts, FromInvalidate: true, UUID: uuidA},
			"826553F1000000000A2B022C0100296F5A1004A1A2A3A4A5A6A7A8A9AAABACADAEAFA004"},
		{"dropDatabase without uuid", Token{TS: ts}, "826553F1000000000A2B022C0100296E04"},
		{"high-water mark", hwmToken(ts), "826553F1000000000A2B0229296E04"},
	}
	for _, c := range cases {
		if got := c.tok.Hex(); got != c.want {
			t.Errorf("%s: hex %s, want %s", c.name, got, c.want)
		}
		doc := c.tok.Document()
		if keys(doc) != "_data" || doc.Lookup("_data").StringValue() != c.want {
			t.Errorf("%s: document %v", c.name, doc)
		}
		// appendTo and Document agree.
		idx, b := bsoncore.AppendDocumentStart(nil)
		b = c.tok.appendTo(b, "_id")
		b, _ = bsoncore.AppendDocumentEnd(b, idx)
		if got := bsoncore.Document(b).Lookup("_id").Document(); string(got) != string(doc) {
			t.Errorf("%s: appendTo %v, Document %v", c.name, got, doc)
		}
		back, err := ParseToken(doc)
		if err != nil {
			t.Fatalf("%s: parse: %v", c.name, err)
		}
		if back.Compare(c.tok) != 0 || !sameUUID(back.UUID, c.tok.UUID) || back.HighWaterMark != c.tok.HighWaterMark {
			t.Errorf("%s: round trip %+v, want %+v", c.name, back, c.tok)
		}
	}
}

func TestTokenTimePrefixIsBigEndianClusterTime(t *testing.T) {
	tok := Token{TS: Timestamp{T: 1_700_000_123, I: 42}, UUID: uuidB}
	raw, err := hex.DecodeString(tok.Hex())
	if err != nil {
		t.Fatal(err)
	}
	if raw[0] != 0x82 {
		t.Fatalf("first byte %#x, want 0x82", raw[0])
	}
	var v uint64
	for _, c := range raw[1:9] {
		v = v<<8 | uint64(c)
	}
	if uint32(v>>32) != 1_700_000_123 || uint32(v) != 42 {
		t.Fatalf("time prefix %d/%d", v>>32, uint32(v))
	}
}

func TestTokensSortInStreamOrderAsStrings(t *testing.T) {
	t1 := Timestamp{T: 100, I: 7}
	t2 := Timestamp{T: 100, I: 8}
	t3 := Timestamp{T: 101, I: 1}
	ordered := []Token{
		hwmToken(t1),
		{TS: t1, UUID: uuidB},
		{TS: t1, UUID: uuidB, FromInvalidate: true},
		hwmToken(t2),
		{TS: t2, TxnOpIndex: 0, UUID: uuidA},
		{TS: t2, TxnOpIndex: 1, UUID: uuidB},
		{TS: t2, TxnOpIndex: 127, UUID: uuidA},
		{TS: t2, TxnOpIndex: 128, UUID: uuidA},
		{TS: t2, TxnOpIndex: 70000, UUID: uuidA},
		hwmToken(t3),
		{TS: t3},
	}
	for i := 0; i+1 < len(ordered); i++ {
		a, b := ordered[i], ordered[i+1]
		if a.Compare(b) >= 0 || b.Compare(a) <= 0 {
			t.Errorf("Compare: %d should sort before %d", i, i+1)
		}
		if !(a.Hex() < b.Hex()) {
			t.Errorf("hex: %s should sort before %s", a.Hex(), b.Hex())
		}
	}
	hexes := make([]string, len(ordered))
	for i, tok := range ordered {
		hexes[i] = tok.Hex()
	}
	if !sort.StringsAreSorted(hexes) {
		t.Fatal("hex strings not sorted")
	}
}

func TestParseTokenErrors(t *testing.T) {
	cases := []struct {
		name string
		doc  bsoncore.Document
		code int32
	}{
		{"missing _data", bsonkit.D("x", bsonkit.Int32(1)), 40647},
		{"_data not a string", bsonkit.D("_data", bsonkit.Int32(1)), 40647},
		{"_typeBits wrong type", bsonkit.D("_data", bsonkit.String("82"), "_typeBits", bsonkit.Int32(1)), 40648},
		{"not hex", bsonkit.D("_data", bsonkit.String("82ZZ")), mongoerr.FailedToParse},
		{"empty", bsonkit.D("_data", bsonkit.String("")), 40649},
		{"not a timestamp first", bsonkit.D("_data", bsonkit.String("2B02")), 50811},
		{"no version", bsonkit.D("_data", bsonkit.String("826553F1000000000A")), 50796},
		{"version 3", bsonkit.D("_data", bsonkit.String("826553F1000000000A2B06")), 50795},
		{"unknown token type", bsonkit.D("_data", bsonkit.String("826553F1000000000A2B022B02296E04")), 51057},
		{"no fromInvalidate", bsonkit.D("_data", bsonkit.String("826553F1000000000A2B022C01002904")), 50870},
	}
	for _, c := range cases {
		_, err := ParseToken(c.doc)
		if got := codeOf(err); got != c.code {
			t.Errorf("%s: code %d (%v), want %d", c.name, got, err, c.code)
		}
	}
}

func TestParseTokenAcceptsRealV2Token(t *testing.T) {
	// A MongoDB 7.0 insert token: v2, event, txnOpIndex 0, not from
	// invalidate, collection UUID, eventIdentifier {operationType, documentKey}.
	data := "8265F1C7B4000000022B042C0100296E5A1004" + strings.Repeat("AB", 16) +
		"463C6F7065726174696F6E54797065003C696E736572740046646F63756D656E744B657900463C5F6964002B0200000004"
	tok, err := ParseToken(bsonkit.D("_data", bsonkit.String(data)))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if tok.TS != (Timestamp{T: 0x65F1C7B4, I: 2}) || tok.HighWaterMark || tok.TxnOpIndex != 0 || tok.FromInvalidate || tok.UUID == nil || tok.UUID[0] != 0xAB {
		t.Fatalf("decoded %+v", tok)
	}
}
