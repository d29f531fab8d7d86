package changestream

import (
	"encoding/binary"
	"encoding/hex"
	"strings"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// Resume tokens are MongoDB's v1 resume token layout: a KeyString encoding
// of (clusterTime, version, tokenType, txnOpIndex, fromInvalidate[, uuid])
// rendered as uppercase hex in {_data: "…"}. Its first byte is 0x82 (the
// KeyString type of a Timestamp) followed by the cluster time as a
// big-endian uint64, so tools can read the time straight from the token.
// KeyString encodings sort as their bytes do, and uppercase hex preserves
// byte order, so tokens compare in stream order as strings:
//
//	high-water mark at T  <  events at T (by txnOpIndex)  <  their invalidate
//
// A high-water-mark token at T therefore means "every event before T has
// been returned, and nothing at T that has not"; resuming from it replays
// from T. Streams hand out HWM(T) only once every entry at T has been
// scanned and none of them produced an event not yet returned.

// KeyString type bytes used by resume tokens.
const (
	ksNull      = 0x14
	ksIntZero   = 0x29
	ksInt1Byte  = 0x2B // positive integer, 1..8 bytes follow (0x2B..0x32)
	ksBinData   = 0x5A
	ksFalse     = 0x6E
	ksTrue      = 0x6F
	ksTimestamp = 0x82
	ksEnd       = 0x04

	tokenVersion   = 1
	tokenTypeHWM   = 0
	tokenTypeEvent = 128
)

// Token is a decoded resume token.
type Token struct {
	TS             Timestamp
	HighWaterMark  bool
	TxnOpIndex     uint32
	FromInvalidate bool
	UUID           *UUID
}

// eventToken is the token of the (non-invalidate) event an entry produces.
func eventToken(e *Entry) Token {
	return Token{TS: e.TS, TxnOpIndex: e.TxnOpIndex, UUID: e.UUID}
}

func hwmToken(ts Timestamp) Token { return Token{TS: ts, HighWaterMark: true} }

// Compare orders tokens as their encodings do (the UUID never decides on
// a single node, where (clusterTime, txnOpIndex) identifies an event).
func (t Token) Compare(u Token) int {
	if c := t.TS.Compare(u.TS); c != 0 {
		return c
	}
	if t.HighWaterMark != u.HighWaterMark {
		if t.HighWaterMark {
			return -1
		}
		return 1
	}
	switch {
	case t.TxnOpIndex < u.TxnOpIndex:
		return -1
	case t.TxnOpIndex > u.TxnOpIndex:
		return 1
	case t.FromInvalidate == u.FromInvalidate:
		return 0
	case u.FromInvalidate:
		return -1
	}
	return 1
}

// key is the token's KeyString bytes.
func (t Token) key() []byte {
	b := make([]byte, 0, 40)
	b = append(b, ksTimestamp)
	b = binary.BigEndian.AppendUint64(b, uint64(t.TS.T)<<32|uint64(t.TS.I))
	b = appendKSInt(b, tokenVersion)
	if t.HighWaterMark {
		b = appendKSInt(b, tokenTypeHWM)
		b = appendKSInt(b, 0)
		b = append(b, ksFalse)
		return append(b, ksEnd)
	}
	b = appendKSInt(b, tokenTypeEvent)
	b = appendKSInt(b, uint64(t.TxnOpIndex))
	if t.FromInvalidate {
		b = append(b, ksTrue)
	} else {
		b = append(b, ksFalse)
	}
	if t.UUID != nil {
		b = append(b, ksBinData, 16, 4)
		b = append(b, t.UUID[:]...)
	}
	return append(b, ksEnd)
}

// Hex is the token's _data string.
func (t Token) Hex() string { return strings.ToUpper(hex.EncodeToString(t.key())) }

// Document is the token as events and postBatchResumeToken carry it.
func (t Token) Document() bsoncore.Document {
	return bsonkit.D("_data", bsonkit.String(t.Hex()))
}

// appendTo appends the token document as field key.
func (t Token) appendTo(dst []byte, key string) []byte {
	var hx [2 * 48]byte
	k := t.key()
	n := hex.Encode(hx[:], k)
	for i := 0; i < n; i++ {
		if c := hx[i]; c >= 'a' {
			hx[i] = c - 'a' + 'A'
		}
	}
	idx, dst := bsoncore.AppendDocumentElementStart(dst, key)
	// A string element written in place, without a Go string in between.
	dst = append(dst, byte(bsoncore.TypeString))
	dst = append(dst, "_data\x00"...)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n+1))
	dst = append(dst, hx[:n]...)
	dst = append(dst, 0)
	dst, _ = bsoncore.AppendDocumentEnd(dst, idx)
	return dst
}

// appendKSInt encodes a non-negative integer as KeyString does: zero is one
// byte, otherwise the value shifted left once (the low bit marks a
// fraction) in as few big-endian bytes as fit, after a type byte that
// counts them.
func appendKSInt(b []byte, v uint64) []byte {
	if v == 0 {
		return append(b, ksIntZero)
	}
	s := v << 1
	n := 1
	for s>>(8*n) != 0 {
		n++
	}
	b = append(b, byte(ksInt1Byte+n-1))
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(s>>(8*i)))
	}
	return b
}

// ParseToken decodes a resume token document as mongod does, with its
// error codes. Tokens of real servers (versions 0–2) decode too; whatever
// follows the UUID (v2's eventIdentifier) is ignored.
func ParseToken(doc bsoncore.Document) (Token, error) {
	v, err := doc.LookupErr("_data")
	if err != nil || v.Type != bsoncore.TypeString {
		return Token{}, mongoerr.New(40647,
			"Bad resume token: _data of missing or of wrong type. Expected string, got %s", doc.String())
	}
	if tb, err := doc.LookupErr("_typeBits"); err == nil {
		if st, _, ok := tb.BinaryOK(); !ok || st != 0 {
			return Token{}, mongoerr.New(40648, "Bad resume token: _typeBits of wrong type %s", doc.String())
		}
	}
	raw, err := hex.DecodeString(v.StringValue())
	if err != nil {
		return Token{}, mongoerr.New(mongoerr.FailedToParse, "resume token string was not a valid hex string")
	}
	return decodeKey(raw)
}

func badToken(code int32, msg string) error { return mongoerr.New(code, "%s", msg) }

func decodeKey(b []byte) (Token, error) {
	var t Token
	if len(b) == 0 || b[0] == ksEnd {
		return t, badToken(40649, "invalid empty resume token")
	}
	if b[0] != ksTimestamp || len(b) < 9 {
		return t, badToken(50811, "invalid resume token: first component is not a cluster time")
	}
	ts := binary.BigEndian.Uint64(b[1:9])
	t.TS = Timestamp{T: uint32(ts >> 32), I: uint32(ts)}
	b = b[9:]
	version, b, ok := readKSInt(b)
	if !ok {
		return t, badToken(50796, "Resume Token does not contain version")
	}
	if version > 2 {
		return t, badToken(50795, "Invalid Resume Token: only supports version 0, 1 and 2")
	}
	if version >= 1 {
		var typ uint64
		if typ, b, ok = readKSInt(b); !ok {
			return t, badToken(51055, "Resume Token does not contain tokenType")
		}
		switch typ {
		case tokenTypeHWM:
			t.HighWaterMark = true
		case tokenTypeEvent:
		default:
			return t, mongoerr.New(51057, "Token type %d not recognized", typ)
		}
	}
	idx, b, ok := readKSInt(b)
	if !ok {
		return t, badToken(50793, "Resume Token does not contain txnOpIndex")
	}
	if idx > 1<<31-1 {
		return t, badToken(50855, "Resume Token txnOpIndex is not an integer")
	}
	t.TxnOpIndex = uint32(idx)
	if version >= 1 {
		if len(b) == 0 || (b[0] != ksFalse && b[0] != ksTrue) {
			return t, badToken(50870, "Resume Token fromInvalidate is not a boolean.")
		}
		t.FromInvalidate = b[0] == ksTrue
		b = b[1:]
	}
	if len(b) >= 3 && b[0] == ksBinData && b[1] == 16 && b[2] == 4 && len(b) >= 19 {
		var u UUID
		copy(u[:], b[3:19])
		t.UUID = &u
	}
	if t.HighWaterMark && (t.TxnOpIndex != 0 || t.FromInvalidate || t.UUID != nil) {
		return t, badToken(6189504, "Invalid high water mark token")
	}
	return t, nil
}

// readKSInt reads a non-negative KeyString integer.
func readKSInt(b []byte) (uint64, []byte, bool) {
	if len(b) == 0 {
		return 0, b, false
	}
	if b[0] == ksIntZero {
		return 0, b[1:], true
	}
	n := int(b[0]) - ksInt1Byte + 1
	if n < 1 || n > 8 || len(b) < 1+n {
		return 0, b, false
	}
	var s uint64
	for _, c := range b[1 : 1+n] {
		s = s<<8 | uint64(c)
	}
	if s&1 != 0 { // a fractional part: not an integer
		return 0, b, false
	}
	return s >> 1, b[1+n:], true
}
