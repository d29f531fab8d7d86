// Package wire frames MongoDB wire-protocol messages: OP_MSG (sections of
// kind 0 and 1, optional CRC-32C checksum), legacy OP_QUERY as old drivers
// use it for the first handshake, and OP_REPLY to answer it. Parsers never
// panic on hostile input; every document they return is fully validated.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Opcodes the simulator understands.
const (
	OpReply      int32 = 1
	OpQuery      int32 = 2004
	OpCompressed int32 = 2012
	OpMsg        int32 = 2013
)

// OP_MSG flag bits.
const (
	FlagChecksumPresent uint32 = 1 << 0
	FlagMoreToCome      uint32 = 1 << 1
	FlagExhaustAllowed  uint32 = 1 << 16
	// Bits 0-15 are "required": a parser must reject unknown ones.
	requiredMask = 0xFFFF
	knownFlags   = FlagChecksumPresent | FlagMoreToCome | FlagExhaustAllowed
)

// OP_REPLY responseFlags bits.
const (
	ReplyQueryFailure int32 = 1 << 1 // the single document is an error ($err, code)
	ReplyAwaitCapable int32 = 1 << 3
)

// HeaderLen is the size of a message header.
const HeaderLen = 16

// MaxMessageSize is maxMessageSizeBytes as hello reports it.
const MaxMessageSize = 48000000

// Header is the standard message header.
type Header struct {
	Length     int32
	RequestID  int32
	ResponseTo int32
	OpCode     int32
}

// ErrMalformed wraps every framing error; the connection that sent the
// message is closed.
var ErrMalformed = errors.New("malformed wire message")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ReadMessage reads one whole message from r. buf is reused when large
// enough; the returned body (everything after the header) aliases it.
func ReadMessage(r io.Reader, buf []byte) (Header, []byte, error) {
	var hb [HeaderLen]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		return Header{}, buf, err
	}
	h := Header{
		Length:     int32(binary.LittleEndian.Uint32(hb[0:])),
		RequestID:  int32(binary.LittleEndian.Uint32(hb[4:])),
		ResponseTo: int32(binary.LittleEndian.Uint32(hb[8:])),
		OpCode:     int32(binary.LittleEndian.Uint32(hb[12:])),
	}
	if h.Length < HeaderLen || h.Length > MaxMessageSize {
		return h, buf, malformed("message length %d out of range", h.Length)
	}
	n := int(h.Length) - HeaderLen
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return h, buf, err
	}
	if h.OpCode == OpMsg && n >= 4 && binary.LittleEndian.Uint32(buf)&FlagChecksumPresent != 0 {
		// The checksum covers the header too, so verify it here.
		if n < 8 {
			return h, buf, malformed("OP_MSG too short for its checksum")
		}
		want := binary.LittleEndian.Uint32(buf[n-4:])
		c := crc32.Update(0, castagnoli, hb[:])
		c = crc32.Update(c, castagnoli, buf[:n-4])
		if c != want {
			return h, buf, malformed("OP_MSG checksum mismatch")
		}
	}
	return h, buf, nil
}

// Sequence is an OP_MSG kind-1 section: a named run of documents.
type Sequence struct {
	Identifier string
	Docs       []bsoncore.Document
}

// Msg is a parsed OP_MSG.
type Msg struct {
	Flags     uint32
	Body      bsoncore.Document
	Sequences []Sequence
}

// ParseMsg parses an OP_MSG body (after the header). Documents alias body.
func ParseMsg(body []byte) (*Msg, error) {
	if len(body) < 4 {
		return nil, malformed("OP_MSG without flags")
	}
	m := &Msg{Flags: binary.LittleEndian.Uint32(body)}
	if unknown := m.Flags & requiredMask &^ knownFlags; unknown != 0 {
		return nil, malformed("OP_MSG has unknown required flag bits %#x", unknown)
	}
	rest := body[4:]
	if m.Flags&FlagChecksumPresent != 0 {
		if len(rest) < 4 {
			return nil, malformed("OP_MSG too short for its checksum")
		}
		rest = rest[:len(rest)-4]
	}
	for len(rest) > 0 {
		kind := rest[0]
		rest = rest[1:]
		switch kind {
		case 0:
			if m.Body != nil {
				return nil, malformed("OP_MSG has more than one body section")
			}
			doc, err := takeDocument(rest)
			if err != nil {
				return nil, err
			}
			m.Body = doc
			rest = rest[len(doc):]
		case 1:
			if len(rest) < 4 {
				return nil, malformed("truncated document sequence")
			}
			size := int(int32(binary.LittleEndian.Uint32(rest)))
			if size < 5 || size > len(rest) {
				return nil, malformed("document sequence size %d out of range", size)
			}
			seq, err := parseSequence(rest[4:size])
			if err != nil {
				return nil, err
			}
			m.Sequences = append(m.Sequences, seq)
			rest = rest[size:]
		default:
			return nil, malformed("unknown OP_MSG section kind %d", kind)
		}
	}
	if m.Body == nil {
		return nil, malformed("OP_MSG has no body section")
	}
	return m, nil
}

func parseSequence(b []byte) (Sequence, error) {
	end := indexZero(b)
	if end < 0 {
		return Sequence{}, malformed("document sequence identifier not terminated")
	}
	seq := Sequence{Identifier: string(b[:end])}
	b = b[end+1:]
	for len(b) > 0 {
		doc, err := takeDocument(b)
		if err != nil {
			return Sequence{}, err
		}
		seq.Docs = append(seq.Docs, doc)
		b = b[len(doc):]
	}
	return seq, nil
}

// takeDocument returns the validated document at the start of b.
func takeDocument(b []byte) (bsoncore.Document, error) {
	if len(b) < 5 {
		return nil, malformed("truncated document")
	}
	size := int(int32(binary.LittleEndian.Uint32(b)))
	if size < 5 || size > len(b) {
		return nil, malformed("document size %d out of range", size)
	}
	doc := bsoncore.Document(b[:size:size])
	if err := Validate(doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// Query is a parsed legacy OP_QUERY.
type Query struct {
	Flags              int32
	FullCollectionName string
	NumberToSkip       int32
	NumberToReturn     int32
	Query              bsoncore.Document
	ReturnFields       bsoncore.Document
}

// ParseQuery parses an OP_QUERY body (after the header).
func ParseQuery(body []byte) (*Query, error) {
	if len(body) < 4 {
		return nil, malformed("OP_QUERY without flags")
	}
	q := &Query{Flags: int32(binary.LittleEndian.Uint32(body))}
	rest := body[4:]
	end := indexZero(rest)
	if end < 0 {
		return nil, malformed("OP_QUERY collection name not terminated")
	}
	q.FullCollectionName = string(rest[:end])
	rest = rest[end+1:]
	if len(rest) < 8 {
		return nil, malformed("truncated OP_QUERY")
	}
	q.NumberToSkip = int32(binary.LittleEndian.Uint32(rest))
	q.NumberToReturn = int32(binary.LittleEndian.Uint32(rest[4:]))
	rest = rest[8:]
	doc, err := takeDocument(rest)
	if err != nil {
		return nil, err
	}
	q.Query = doc
	rest = rest[len(doc):]
	if len(rest) > 0 {
		if q.ReturnFields, err = takeDocument(rest); err != nil {
			return nil, err
		}
		if len(rest) != len(q.ReturnFields) {
			return nil, malformed("trailing bytes after OP_QUERY")
		}
	}
	return q, nil
}

// AppendMsg appends an OP_MSG with a single body section.
func AppendMsg(dst []byte, requestID, responseTo int32, flags uint32, body bsoncore.Document) []byte {
	start := len(dst)
	dst = appendHeader(dst, requestID, responseTo, OpMsg)
	dst = binary.LittleEndian.AppendUint32(dst, flags)
	dst = append(dst, 0)
	dst = append(dst, body...)
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	return dst
}

// AppendMsgSequence appends an OP_MSG with a body section and one document
// sequence section named ident holding docs, as drivers send a write's
// documents; with FlagChecksumPresent in flags it ends with the CRC-32C.
func AppendMsgSequence(dst []byte, requestID int32, flags uint32, body bsoncore.Document, ident string, docs ...bsoncore.Document) []byte {
	start := len(dst)
	dst = appendHeader(dst, requestID, 0, OpMsg)
	dst = binary.LittleEndian.AppendUint32(dst, flags)
	dst = append(dst, 0)
	dst = append(dst, body...)
	dst = append(dst, 1)
	seq := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	dst = append(dst, ident...)
	dst = append(dst, 0)
	for _, d := range docs {
		dst = append(dst, d...)
	}
	binary.LittleEndian.PutUint32(dst[seq:], uint32(len(dst)-seq))
	if flags&FlagChecksumPresent != 0 {
		dst = binary.LittleEndian.AppendUint32(dst, 0)
	}
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	if flags&FlagChecksumPresent != 0 {
		binary.LittleEndian.PutUint32(dst[len(dst)-4:], Checksum(dst[start:len(dst)-4]))
	}
	return dst
}

// AppendMsgHeader appends the header, flags and section kind of an OP_MSG
// whose single body section (bodyLen bytes) the caller writes next.
func AppendMsgHeader(dst []byte, requestID, responseTo int32, flags uint32, bodyLen int) []byte {
	start := len(dst)
	dst = appendHeader(dst, requestID, responseTo, OpMsg)
	dst = binary.LittleEndian.AppendUint32(dst, flags)
	dst = append(dst, 0)
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(dst)-start+bodyLen))
	return dst
}

// AppendReply appends an OP_REPLY carrying docs.
func AppendReply(dst []byte, requestID, responseTo int32, flags int32, cursorID int64, docs ...bsoncore.Document) []byte {
	start := len(dst)
	dst = appendHeader(dst, requestID, responseTo, OpReply)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(flags))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(cursorID))
	dst = binary.LittleEndian.AppendUint32(dst, 0) // startingFrom
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(docs)))
	for _, d := range docs {
		dst = append(dst, d...)
	}
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	return dst
}

func appendHeader(dst []byte, requestID, responseTo, op int32) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, 0) // patched by the caller
	dst = binary.LittleEndian.AppendUint32(dst, uint32(requestID))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(responseTo))
	return binary.LittleEndian.AppendUint32(dst, uint32(op))
}

// Checksum returns the CRC-32C of a whole message (header included) without
// its trailing checksum field; used by tests and clients that set the flag.
func Checksum(msg []byte) uint32 { return crc32.Checksum(msg, castagnoli) }

func indexZero(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}
