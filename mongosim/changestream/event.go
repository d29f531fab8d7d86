package changestream

import (
	"fmt"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/update"
)

// Events are built field by field in the order mongod's change stream
// transformation adds them (change_stream_event_transform.cpp, 6.0–8.0):
//
//	[to]  [txnNumber lsid]  _id operationType clusterTime [collectionUUID]
//	wallTime [fullDocument] ns [documentKey] [operationDescription]
//	[updateDescription] [stateBeforeChange] [nsType] [fullDocumentBeforeChange]
//
// "to" (rename) and the transaction fields come first because mongod adds
// them before the resume token; fullDocument keeps its slot even when the
// post-image stage fills it later; fullDocumentBeforeChange is appended by
// the pre-image stage, so it is last.

// eventBuilder builds one event document.
type eventBuilder struct {
	spec   *Spec
	env    *Env
	buf    []byte
	nsType bool
}

// build returns the event of e for token tok. The document lives in the
// builder's buffer: valid until the next build.
func (b *eventBuilder) build(e *Entry, tok Token) (bsoncore.Document, error) {
	expanded := b.spec.ShowExpandedEvents
	idx, d := bsoncore.AppendDocumentStart(b.buf[:0])
	if e.Op == OpRename {
		d = appendNS(d, "to", e.ToDB, e.ToColl)
	}
	if e.InTxn {
		d = bsoncore.AppendInt64Element(d, "txnNumber", e.TxnNumber)
		if e.LSID != nil {
			d = bsoncore.AppendDocumentElement(d, "lsid", e.LSID)
		}
	}
	d = tok.appendTo(d, "_id")
	d = bsoncore.AppendStringElement(d, "operationType", e.Op.String())
	d = bsoncore.AppendTimestampElement(d, "clusterTime", e.TS.T, e.TS.I)
	if expanded && e.UUID != nil {
		d = bsoncore.AppendBinaryElement(d, "collectionUUID", 4, e.UUID[:])
	}
	d = bsoncore.AppendDateTimeElement(d, "wallTime", e.Wall.UnixMilli())

	preImage, err := b.preImage(e)
	if err != nil {
		return nil, err
	}
	switch e.Op {
	case OpInsert, OpReplace:
		d = bsoncore.AppendDocumentElement(d, "fullDocument", e.Doc)
	case OpUpdate:
		if b.spec.FullDocument != FullDocDefault {
			post, err := b.postImage(e, preImage)
			if err != nil {
				return nil, err
			}
			d = appendDocOrNull(d, "fullDocument", post)
		}
	}
	if e.Op == OpDropDatabase {
		d = appendNS(d, "ns", e.DB, "")
	} else {
		d = appendNS(d, "ns", e.DB, e.Coll)
	}
	if e.Op.crud() {
		d = bsoncore.AppendDocumentElement(d, "documentKey", e.DocumentKey)
	}
	if expanded {
		d = b.appendOperationDescription(d, e)
	}
	if e.Op == OpUpdate {
		d = bsoncore.AppendDocumentElement(d, "updateDescription", updateDescription(e, expanded))
	}
	if e.Op == OpModify {
		// mongod always adds it, empty when the oplog had no old options.
		before := e.StateBefore
		if before == nil {
			before = emptyDoc
		}
		d = bsoncore.AppendDocumentElement(d, "stateBeforeChange", before)
	}
	if e.Op == OpCreate && expanded && b.nsType && e.NsType != "" {
		d = bsoncore.AppendStringElement(d, "nsType", e.NsType)
	}
	if b.wantsPreImage(e) {
		d = appendDocOrNull(d, "fullDocumentBeforeChange", preImage)
	}
	d, _ = bsoncore.AppendDocumentEnd(d, idx)
	b.buf = d
	return d, nil
}

// buildInvalidate returns the invalidate event closing the stream after e.
func (b *eventBuilder) buildInvalidate(e *Entry, tok Token) bsoncore.Document {
	idx, d := bsoncore.AppendDocumentStart(nil)
	d = tok.appendTo(d, "_id")
	d = bsoncore.AppendStringElement(d, "operationType", "invalidate")
	d = bsoncore.AppendTimestampElement(d, "clusterTime", e.TS.T, e.TS.I)
	d = bsoncore.AppendDateTimeElement(d, "wallTime", e.Wall.UnixMilli())
	d, _ = bsoncore.AppendDocumentEnd(d, idx)
	return d
}

func (b *eventBuilder) appendOperationDescription(d []byte, e *Entry) []byte {
	switch e.Op {
	case OpCreate:
		if e.CreateOptions != nil {
			return bsoncore.AppendDocumentElement(d, "operationDescription", e.CreateOptions)
		}
		return bsoncore.AppendDocumentElement(d, "operationDescription", emptyDoc)
	case OpCreateIndexes, OpDropIndexes:
		idx, d := bsoncore.AppendDocumentElementStart(d, "operationDescription")
		aidx, d := bsoncore.AppendArrayElementStart(d, "indexes")
		for i, spec := range e.Indexes {
			d = bsoncore.AppendDocumentElement(d, itoa(i), spec)
		}
		d, _ = bsoncore.AppendArrayEnd(d, aidx)
		d, _ = bsoncore.AppendDocumentEnd(d, idx)
		return d
	case OpModify:
		if e.ModifyDesc != nil {
			return bsoncore.AppendDocumentElement(d, "operationDescription", e.ModifyDesc)
		}
		return bsoncore.AppendDocumentElement(d, "operationDescription", emptyDoc)
	case OpRename:
		idx, d := bsoncore.AppendDocumentElementStart(d, "operationDescription")
		d = appendNS(d, "to", e.ToDB, e.ToColl)
		if e.DropTarget != nil {
			d = bsoncore.AppendBinaryElement(d, "dropTarget", 4, e.DropTarget[:])
		}
		d, _ = bsoncore.AppendDocumentEnd(d, idx)
		return d
	}
	return d
}

var emptyDoc = bsoncore.Document{5, 0, 0, 0, 0}

// wantsPreImage reports whether the event carries fullDocumentBeforeChange.
func (b *eventBuilder) wantsPreImage(e *Entry) bool {
	return b.spec.FullDocumentBeforeChange != PreImageOff &&
		(e.Op == OpUpdate || e.Op == OpReplace || e.Op == OpDelete)
}

// preImage is the stored pre-image, nil when the collection did not record
// one; "required" turns its absence into NoMatchingDocument.
func (b *eventBuilder) preImage(e *Entry) (bsoncore.Document, error) {
	if !b.wantsPreImage(e) && !(e.Op == OpUpdate && b.postFromPreImage()) {
		return nil, nil
	}
	var pre bsoncore.Document
	if e.PrePostImages {
		pre = e.PreImage
	}
	if pre == nil && b.wantsPreImage(e) && b.spec.FullDocumentBeforeChange == FullDocRequired {
		return nil, mongoerr.New(mongoerr.NoMatchingDocument,
			"Change stream was configured to require a pre-image for all update, delete and replace events, but the pre-image was not found for event: %s",
			imageErrorDetail(e))
	}
	return pre, nil
}

func (b *eventBuilder) postFromPreImage() bool {
	return b.spec.FullDocument == FullDocWhenAvailable || b.spec.FullDocument == FullDocRequired
}

// postImage is the update's fullDocument: the current document for
// updateLookup, or the stored post-image for whenAvailable/required (only
// computable when a pre-image was stored).
func (b *eventBuilder) postImage(e *Entry, pre bsoncore.Document) (bsoncore.Document, error) {
	if b.spec.FullDocument == FullDocUpdateLookup {
		if b.env.Lookup == nil {
			return nil, nil
		}
		doc, ok := b.env.Lookup(e.DB, e.Coll, e.UUID, e.DocumentKey)
		if !ok {
			return nil, nil
		}
		return doc, nil
	}
	var post bsoncore.Document
	if pre != nil {
		post = e.Doc
	}
	if post == nil && b.spec.FullDocument == FullDocRequired {
		return nil, mongoerr.New(mongoerr.NoMatchingDocument,
			"Change stream was configured to require a post-image for all update events, but the post-image was not found for event: %s",
			imageErrorDetail(e))
	}
	return post, nil
}

// imageErrorDetail renders {operationType, ns, clusterTime[, txnNumber]}
// as mongod's Document::toString does.
func imageErrorDetail(e *Entry) string {
	s := fmt.Sprintf(`{operationType: "%s", ns: {db: "%s", coll: "%s"}, clusterTime: Timestamp(%d, %d)`,
		e.Op, e.DB, e.Coll, e.TS.T, e.TS.I)
	if e.InTxn {
		s += fmt.Sprintf(", txnNumber: %d", e.TxnNumber)
	}
	return s + "}"
}

func updateDescription(e *Entry, expanded bool) bsoncore.Document {
	if e.Update != nil {
		return e.Update.Document(expanded)
	}
	if e.PreImage != nil && e.Doc != nil {
		return update.Diff(e.PreImage, e.Doc).Document(expanded)
	}
	return update.Description{}.Document(expanded)
}

func appendNS(d []byte, key, db, coll string) []byte {
	idx, d := bsoncore.AppendDocumentElementStart(d, key)
	d = bsoncore.AppendStringElement(d, "db", db)
	if coll != "" {
		d = bsoncore.AppendStringElement(d, "coll", coll)
	}
	d, _ = bsoncore.AppendDocumentEnd(d, idx)
	return d
}

func appendDocOrNull(d []byte, key string, doc bsoncore.Document) []byte {
	if doc == nil {
		return bsoncore.AppendNullElement(d, key)
	}
	return bsoncore.AppendDocumentElement(d, key, doc)
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return fmt.Sprint(i)
}
