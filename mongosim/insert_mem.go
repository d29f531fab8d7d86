package mongosim

import (
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Memory helpers for the insert path: stored documents get their own
// allocation, and the small per-document keys the oplog needs share a few
// per-batch buffers instead of two allocations each.

// ownedCopy returns doc in an allocation of its own. Documents arrive as
// slices of their request message (up to 48 MB); storing the slice would
// let one surviving document keep the whole message alive after the others
// are deleted or replaced.
func ownedCopy(doc bsoncore.Document) bsoncore.Document {
	out := make(bsoncore.Document, len(doc))
	copy(out, doc)
	return out
}

// keySlab builds {_id: …} document keys into shared chunks. A chunk is
// never grown in place, so earlier keys stay valid; it is freed when the
// last entry referring to it is gone.
type keySlab struct {
	buf []byte
}

const keySlabChunk = 16 << 10

// idKey returns {_id: id} as a document.
func (k *keySlab) idKey(id bsoncore.Value) bsoncore.Document {
	need := 4 + 1 + 4 + len(id.Data) + 1
	if cap(k.buf)-len(k.buf) < need {
		k.buf = make([]byte, 0, max(keySlabChunk, need))
	}
	start := len(k.buf)
	idx, b := bsoncore.AppendDocumentStart(k.buf)
	b = bsoncore.AppendValueElement(b, "_id", id)
	b, _ = bsoncore.AppendDocumentEnd(b, idx)
	k.buf = b
	return bsoncore.Document(b[start:len(b):len(b)])
}
