package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

func doc(t testing.TB, kv ...any) bsoncore.Document {
	idx, b := bsoncore.AppendDocumentStart(nil)
	for i := 0; i+1 < len(kv); i += 2 {
		switch v := kv[i+1].(type) {
		case int32:
			b = bsoncore.AppendInt32Element(b, kv[i].(string), v)
		case string:
			b = bsoncore.AppendStringElement(b, kv[i].(string), v)
		}
	}
	b, _ = bsoncore.AppendDocumentEnd(b, idx)
	return b
}

func TestMsgRoundTrip(t *testing.T) {
	body := doc(t, "ping", int32(1), "$db", "admin")
	m := AppendMsg(nil, 7, 3, FlagMoreToCome, body)
	h, rest, err := ReadMessage(bytes.NewReader(m), nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.Length != int32(len(m)) || h.RequestID != 7 || h.ResponseTo != 3 || h.OpCode != OpMsg {
		t.Fatalf("header %+v", h)
	}
	msg, err := ParseMsg(rest)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Flags != FlagMoreToCome || !bytes.Equal(msg.Body, body) || len(msg.Sequences) != 0 {
		t.Fatalf("parsed %+v", msg)
	}
}

func TestMsgSequencesAndChecksum(t *testing.T) {
	body := doc(t, "insert", "c", "$db", "d")
	d1, d2 := doc(t, "_id", int32(1)), doc(t, "_id", int32(2))
	m := AppendMsgSequence([]byte("prefix"), 1, FlagChecksumPresent, body, "documents", d1, d2)[len("prefix"):]
	if got := binary.LittleEndian.Uint32(m); int(got) != len(m) {
		t.Fatalf("message length field %d, message %d bytes", got, len(m))
	}

	_, rest, err := ReadMessage(bytes.NewReader(m), nil)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := ParseMsg(rest)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Sequences) != 1 || msg.Sequences[0].Identifier != "documents" || len(msg.Sequences[0].Docs) != 2 ||
		!bytes.Equal(msg.Sequences[0].Docs[1], d2) {
		t.Fatalf("sequences %+v", msg.Sequences)
	}
	m[len(m)-5] ^= 1 // corrupt a body byte: checksum must fail
	if _, _, err := ReadMessage(bytes.NewReader(m), nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("corrupted checksum: %v", err)
	}
}

func TestQueryParse(t *testing.T) {
	q := doc(t, "isMaster", int32(1))
	var m []byte
	m = appendHeader(m, 5, 0, OpQuery)
	m = binary.LittleEndian.AppendUint32(m, 0)
	m = append(m, "admin.$cmd\x00"...)
	m = binary.LittleEndian.AppendUint32(m, 0)
	m = binary.LittleEndian.AppendUint32(m, 1)
	m = append(m, q...)
	binary.LittleEndian.PutUint32(m, uint32(len(m)))
	_, rest, err := ReadMessage(bytes.NewReader(m), nil)
	if err != nil {
		t.Fatal(err)
	}
	pq, err := ParseQuery(rest)
	if err != nil {
		t.Fatal(err)
	}
	if pq.FullCollectionName != "admin.$cmd" || pq.NumberToReturn != 1 || !bytes.Equal(pq.Query, q) {
		t.Fatalf("query %+v", pq)
	}
}

func TestReplyLayout(t *testing.T) {
	d := doc(t, "ok", int32(1))
	r := AppendReply(nil, 9, 5, ReplyAwaitCapable, 0, d)
	if int(binary.LittleEndian.Uint32(r)) != len(r) || binary.LittleEndian.Uint32(r[12:]) != uint32(OpReply) {
		t.Fatal("bad header")
	}
	if binary.LittleEndian.Uint32(r[32:]) != 1 || !bytes.Equal(r[36:], d) {
		t.Fatal("bad documents")
	}
}

func TestValidateRejects(t *testing.T) {
	good := doc(t, "a", "x")
	cases := map[string][]byte{
		"short":            {4, 0, 0},
		"length too big":   {9, 0, 0, 0, 0},
		"no terminator":    {5, 0, 0, 0, 1},
		"unknown type":     {8, 0, 0, 0, 0x20, 'a', 0, 0},
		"string overrun":   append(append([]byte(nil), good[:7]...), 0x7f, 0, 0, 0, 'x', 0, 0),
		"bad boolean":      {9, 0, 0, 0, 8, 'b', 0, 2, 0},
		"trailing garbage": append(append([]byte(nil), good...), 0),
	}
	for name, b := range cases {
		if err := Validate(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Validate = %v", name, err)
		}
	}
	if err := Validate(good); err != nil {
		t.Fatal(err)
	}
	// Nesting deeper than MaxDepth is refused without blowing the stack.
	deep := []byte{5, 0, 0, 0, 0}
	for i := 0; i < MaxDepth+5; i++ {
		var b []byte
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = append(b, 3, 'x', 0)
		b = append(b, deep...)
		b = append(b, 0)
		binary.LittleEndian.PutUint32(b, uint32(len(b)))
		deep = b
	}
	if err := Validate(deep); !errors.Is(err, ErrMalformed) {
		t.Fatalf("deep doc: %v", err)
	}
}

// seeds are shared by the fuzz targets and TestFuzzSeeds.
func seeds(t testing.TB) [][]byte {
	body := doc(t, "ping", int32(1), "$db", "admin")
	m := AppendMsg(nil, 1, 0, 0, body)
	return [][]byte{
		m[HeaderLen:],
		append([]byte{1, 0, 0, 0}, m[HeaderLen+4:]...),
		{0, 0, 0, 0, 1, 9, 0, 0, 0, 'd', 0, 5, 0, 0, 0, 0},
		{0, 0, 0, 0, 0, 5, 0, 0, 0},
		{0, 0, 0, 0},
		append([]byte{0, 0, 0, 0, 'a', '.', '$', 'c', 'm', 'd', 0, 0, 0, 0, 0, 1, 0, 0, 0}, body...),
	}
}

func fuzzOne(data []byte) {
	if m, err := ParseMsg(data); err == nil {
		for _, d := range append([]bsoncore.Document{m.Body}, flatten(m.Sequences)...) {
			// Validated documents must be walkable without panics.
			_, _ = d.Elements()
			_ = d.String()
		}
	}
	if q, err := ParseQuery(data); err == nil {
		_ = q.Query.String()
	}
	if Validate(data) == nil {
		_ = bsoncore.Document(data).String()
	}
	_, _, _ = ReadMessage(bytes.NewReader(data), nil)
}

func flatten(seqs []Sequence) []bsoncore.Document {
	var out []bsoncore.Document
	for _, s := range seqs {
		out = append(out, s.Docs...)
	}
	return out
}

func TestFuzzSeeds(t *testing.T) {
	for _, s := range seeds(t) {
		fuzzOne(s)
		// Every truncation of a seed must fail cleanly too.
		for i := range s {
			fuzzOne(s[:i])
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzOne(data) })
}
