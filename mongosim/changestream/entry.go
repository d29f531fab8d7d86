package changestream

import (
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/update"
)

// Timestamp is a cluster time: seconds and an increment within the second.
type Timestamp struct{ T, I uint32 }

// Compare orders two cluster times.
func (t Timestamp) Compare(u Timestamp) int {
	switch {
	case t.T < u.T:
		return -1
	case t.T > u.T:
		return 1
	case t.I < u.I:
		return -1
	case t.I > u.I:
		return 1
	}
	return 0
}

// IsZero reports the zero timestamp.
func (t Timestamp) IsZero() bool { return t.T == 0 && t.I == 0 }

// next is the cluster time one tick later (mongod's LogicalTime.addTicks(1)).
func (t Timestamp) next() Timestamp {
	if t.I == ^uint32(0) {
		return Timestamp{T: t.T + 1}
	}
	return Timestamp{T: t.T, I: t.I + 1}
}

func (t Timestamp) String() string { return fmt.Sprintf("Timestamp(%d, %d)", t.T, t.I) }

// OpKind is what a history entry records.
type OpKind uint8

const (
	OpNoop          OpKind = iota // periodic or appendOplogNote no-op: never an event
	OpInsert                      // o: the inserted document
	OpUpdate                      // delta update: updateDescription
	OpReplace                     // full replacement (or an update mongod logs as one)
	OpDelete                      // documentKey only (plus pre-image)
	OpCreate                      // collection or view created
	OpCreateIndexes               // one or more indexes built
	OpDropIndexes                 // one index dropped
	OpDrop                        // collection or view dropped
	OpRename                      // renameCollection
	OpDropDatabase                // dropDatabase (after the drops of its collections)
	OpModify                      // collMod
)

var opNames = [...]string{
	OpNoop: "noop", OpInsert: "insert", OpUpdate: "update", OpReplace: "replace", OpDelete: "delete",
	OpCreate: "create", OpCreateIndexes: "createIndexes", OpDropIndexes: "dropIndexes", OpDrop: "drop",
	OpRename: "rename", OpDropDatabase: "dropDatabase", OpModify: "modify",
}

// String is the event's operationType.
func (k OpKind) String() string {
	if int(k) < len(opNames) {
		return opNames[k]
	}
	return fmt.Sprintf("OpKind(%d)", k)
}

// crud reports the document-level operations.
func (k OpKind) crud() bool { return k >= OpInsert && k <= OpDelete }

// expanded reports the events only shown with showExpandedEvents.
func (k OpKind) expanded() bool {
	return k == OpCreate || k == OpCreateIndexes || k == OpDropIndexes || k == OpModify
}

// UUID is a collection UUID.
type UUID [16]byte

// Entry is one write in the history, with everything any change event
// derived from it needs. Entries are immutable once appended.
type Entry struct {
	Op   OpKind
	DB   string
	Coll string // "" for dropDatabase and no-ops
	UUID *UUID  // collection UUID; nil for dropDatabase, views and no-ops
	View bool   // DDL on a view (create/modify/drop): only database and cluster streams see it

	TS   Timestamp // cluster time; entries of one transaction share it
	Wall time.Time // wall clock of the write (millisecond precision in events)

	// Transactions: events of a multi-document transaction carry lsid and
	// txnNumber and are told apart by TxnOpIndex (the op's position in the
	// transaction). Retryable writes outside a transaction keep InTxn false:
	// their events show neither field.
	LSID       bsoncore.Document
	TxnNumber  int64
	InTxn      bool
	TxnOpIndex uint32

	// CRUD.
	DocumentKey bsoncore.Document // {_id: …}
	Doc         bsoncore.Document // insert: the document; replace: the new document; update: the post-image
	PreImage    bsoncore.Document // update/replace/delete: the document before the write
	// PrePostImages is the collection's changeStreamPreAndPostImages
	// setting at the time of the write: only then are images stored, so only
	// then can fullDocumentBeforeChange and fullDocument whenAvailable /
	// required show them.
	PrePostImages bool
	Update        *update.Description // update: nil means "compute from PreImage and Doc"

	// DDL.
	CreateOptions bsoncore.Document   // create: operationDescription (collection options incl. idIndex, or {viewOn, pipeline})
	NsType        string              // create: "collection", "view" or "timeseries" (nsType, 8.0.5+)
	Indexes       []bsoncore.Document // createIndexes, dropIndexes: the index specs
	ToDB, ToColl  string              // rename target
	DropTarget    *UUID               // rename: UUID of the collection the rename replaced
	ModifyDesc    bsoncore.Document   // modify: operationDescription (the collMod command minus its name)
	StateBefore   bsoncore.Document   // modify: stateBeforeChange {collectionOptions, indexOptions}

	// Msg is a no-op's message (the oplog's o field).
	Msg bsoncore.Document

	size int64 // retention accounting, set on append
}

// footprint approximates the memory the entry holds.
func (e *Entry) footprint() int64 {
	n := int64(160 + len(e.DB) + len(e.Coll) + len(e.ToDB) + len(e.ToColl) + len(e.NsType))
	for _, d := range [...]bsoncore.Document{e.LSID, e.DocumentKey, e.Doc, e.PreImage, e.CreateOptions, e.ModifyDesc, e.StateBefore, e.Msg} {
		n += int64(len(d))
	}
	for _, d := range e.Indexes {
		n += int64(len(d))
	}
	if e.Update != nil {
		n += 64
		for _, f := range e.Update.UpdatedFields {
			n += int64(len(f.Key) + len(f.Value.Data))
		}
	}
	return n
}

// isSystemColl reports collections change streams never show.
func isSystemColl(coll string) bool {
	return strings.HasPrefix(coll, "system.") || strings.HasPrefix(coll, "$")
}

// isInternalDB reports databases cluster-wide streams never show.
func isInternalDB(db string) bool { return db == "admin" || db == "config" || db == "local" }
