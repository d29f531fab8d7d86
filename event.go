package mlink

import (
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Change event operation types (MongoDB change events, showExpandedEvents).
const (
	OpInsert        = "insert"
	OpUpdate        = "update"
	OpReplace       = "replace"
	OpDelete        = "delete"
	OpDrop          = "drop"
	OpRename        = "rename"
	OpDropDatabase  = "dropDatabase"
	OpInvalidate    = "invalidate"
	OpCreate        = "create"
	OpCreateIndexes = "createIndexes"
	OpDropIndexes   = "dropIndexes"
	OpModify        = "modify"
	// Sharding DDL mlink cannot carry to a replica set.
	OpShardCollection   = "shardCollection"
	OpReshardCollection = "reshardCollection"
	OpRefineShardKey    = "refineCollectionShardKey"
)

// Event is a change event, kept raw, with the few fields a routing or
// checkpoint decision needs decoded.
type Event struct {
	Raw         bson.Raw
	Op          string
	NS          Namespace // Coll empty for dropDatabase
	To          Namespace // rename target
	DocKey      bson.Raw  // documentKey (CRUD)
	ClusterTime bson.Timestamp
	Token       bson.Raw // _id: the resume token
	TxnNumber   int64
	LSID        bson.Raw // transaction session id (nil outside transactions)
}

// IsCRUD reports document-level events, applied in parallel by document.
func (e *Event) IsCRUD() bool {
	switch e.Op {
	case OpInsert, OpUpdate, OpReplace, OpDelete:
		return true
	}
	return false
}

// InTxn reports whether the event belongs to a multi-document transaction.
func (e *Event) InTxn() bool { return e.LSID != nil && e.TxnNumber != 0 }

// SameTxn reports whether two events belong to the same transaction.
func (e *Event) SameTxn(o *Event) bool {
	return e.InTxn() && o.InTxn() && e.TxnNumber == o.TxnNumber && bytesEqual(e.LSID, o.LSID)
}

func bytesEqual(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ParseEvent decodes the routing fields of a raw change event.
func ParseEvent(raw bson.Raw) (*Event, error) {
	e := &Event{Raw: raw}
	var ok bool
	if e.Op, ok = raw.Lookup("operationType").StringValueOK(); !ok {
		return nil, fmt.Errorf("change event without operationType: %s", truncate(raw.String(), 200))
	}
	if e.Token, ok = raw.Lookup("_id").DocumentOK(); !ok {
		return nil, fmt.Errorf("%s event without resume token", e.Op)
	}
	if t, i, ok := raw.Lookup("clusterTime").TimestampOK(); ok {
		e.ClusterTime = bson.Timestamp{T: t, I: i}
	}
	if ns, ok := raw.Lookup("ns").DocumentOK(); ok {
		e.NS.DB, _ = ns.Lookup("db").StringValueOK()
		e.NS.Coll, _ = ns.Lookup("coll").StringValueOK()
	}
	if to, ok := raw.Lookup("to").DocumentOK(); ok {
		e.To.DB, _ = to.Lookup("db").StringValueOK()
		e.To.Coll, _ = to.Lookup("coll").StringValueOK()
	}
	e.DocKey, _ = raw.Lookup("documentKey").DocumentOK()
	if v, err := raw.LookupErr("txnNumber"); err == nil {
		switch v.Type {
		case bson.TypeInt64:
			e.TxnNumber = v.Int64()
		case bson.TypeInt32:
			e.TxnNumber = int64(v.Int32())
		}
	}
	e.LSID, _ = raw.Lookup("lsid").DocumentOK()
	if e.IsCRUD() && e.DocKey == nil {
		return nil, fmt.Errorf("%s event on %s without documentKey", e.Op, e.NS)
	}
	return e, nil
}

// FormatTimestamp renders a cluster time as PLM does: "<seconds>.<increment>".
func FormatTimestamp(ts bson.Timestamp) string { return fmt.Sprintf("%d.%d", ts.T, ts.I) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
