package store

import (
	"math"
	"strconv"
	"strings"

	"github.com/google/btree"
	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// IDIndexName is the name of the mandatory _id index.
const IDIndexName = "_id_"

// Index is one index of a collection: its listIndexes spec and, for
// ordinary (btree) and hashed indexes, the key entries used to enforce
// uniqueness and to report sizes. Text, geo and wildcard indexes keep their
// spec only.
type Index struct {
	name   string
	spec   bsoncore.Document
	key    bsoncore.Document
	fields []keyField
	isID   bool
	// kind is "" for ascending/descending (and hashed) key patterns, or the
	// special type: "text", "2dsphere", "2d", "wildcard".
	kind          string
	unique        bool
	sparse        bool
	hidden        bool
	prepareUnique bool
	partial       bsoncore.Document
	matcher       Matcher
	entries       *btree.BTreeG[indexEntry] // nil when keys are not maintained
	multikey      bool
	keyBytes      int64
}

// indexEntry is one key of one record.
type indexEntry struct {
	key []bsoncore.Value
	rid RecordID
}

func lessEntry(a, b indexEntry) bool {
	if c := compareKeys(a.key, b.key); c != 0 {
		return c < 0
	}
	return a.rid < b.rid
}

// Name is the index name.
func (ix *Index) Name() string { return ix.name }

// Spec is the index document exactly as listIndexes returns it.
func (ix *Index) Spec() bsoncore.Document { return ix.spec }

// Key is the key pattern as listIndexes returns it.
func (ix *Index) Key() bsoncore.Document { return ix.key }

// Unique reports whether the index enforces unique keys (_id always does).
func (ix *Index) Unique() bool { return ix.unique || ix.isID }

// Hidden reports whether the planner must ignore the index.
func (ix *Index) Hidden() bool { return ix.hidden }

// Multikey reports whether some document produced more than one key.
func (ix *Index) Multikey() bool { return ix.multikey }

// maintained reports whether the index keeps key entries.
func (ix *Index) maintained() bool { return ix.entries != nil }

// keysFor returns the keys doc contributes (nil if the index skips it).
func (ix *Index) keysFor(doc bsoncore.Document) ([][]bsoncore.Value, error) {
	if !ix.maintained() {
		return nil, nil
	}
	if ix.matcher != nil && !ix.matcher.Match(doc) {
		return nil, nil
	}
	keys, present, err := docKeys(doc, ix.fields)
	if err != nil {
		return nil, err
	}
	if ix.sparse && !present {
		return nil, nil
	}
	return keys, nil
}

// conflict returns the first key in keys already held by a record other
// than rid, if the index is unique.
func (ix *Index) conflict(keys [][]bsoncore.Value, rid RecordID) ([]bsoncore.Value, bool) {
	if !ix.unique || !ix.maintained() {
		return nil, false
	}
	for _, k := range keys {
		found := false
		ix.entries.AscendGreaterOrEqual(indexEntry{key: k, rid: math.MinInt64}, func(e indexEntry) bool {
			if compareKeys(e.key, k) != 0 {
				return false
			}
			if e.rid != rid {
				found = true
				return false
			}
			return true
		})
		if found {
			return k, true
		}
	}
	return nil, false
}

func (ix *Index) add(keys [][]bsoncore.Value, rid RecordID) {
	if len(keys) > 1 {
		ix.multikey = true
	}
	for _, k := range keys {
		ix.entries.ReplaceOrInsert(indexEntry{key: k, rid: rid})
		ix.keyBytes += entrySize(k)
	}
}

func (ix *Index) remove(keys [][]bsoncore.Value, rid RecordID) {
	for _, k := range keys {
		if _, ok := ix.entries.Delete(indexEntry{key: k, rid: rid}); ok {
			ix.keyBytes -= entrySize(k)
		}
	}
}

// entrySize approximates the bytes one key takes in a btree page: the key
// values plus a record id.
func entrySize(k []bsoncore.Value) int64 {
	n := int64(8)
	for _, v := range k {
		n += int64(len(v.Data)) + 1
	}
	return n
}

// dupKeyError builds MongoDB's E11000 error for key k of this index.
func (ix *Index) dupKeyError(ns string, k []bsoncore.Value) *mongoerr.Error {
	return dupKeyError(ns, ix.name, ix.key, ix.fields, k)
}

func dupKeyError(ns, name string, keyPattern bsoncore.Document, fields []keyField, k []bsoncore.Value) *mongoerr.Error {
	var kv bsonkit.Doc
	for i, f := range fields {
		if i < len(k) {
			kv = append(kv, bsonkit.Elem{Key: f.path, Value: k[i]})
		}
	}
	keyValue := kv.Bytes()
	e := mongoerr.New(mongoerr.DuplicateKey, "E11000 duplicate key error collection: %s index: %s dup key: %s",
		ns, name, bsonkit.FormatDoc(keyValue))
	e.Extra = bsonkit.D("keyPattern", bsonkit.DocValue(keyPattern), "keyValue", bsonkit.DocValue(keyValue))
	return e
}

// GenerateIndexName returns the name MongoDB's shells and drivers derive
// from a key pattern: fields and values joined by underscores ("a_1_b_-1",
// "a_text", "$**_1", "a_hashed").
func GenerateIndexName(key bsoncore.Document) string {
	elems, _ := key.Elements()
	parts := make([]string, 0, 2*len(elems))
	for _, e := range elems {
		v := e.Value()
		var s string
		switch v.Type {
		case bsoncore.TypeString:
			s = v.StringValue()
		case bsoncore.TypeDouble:
			f := v.Double()
			if f == math.Trunc(f) && math.Abs(f) < 1e15 {
				s = strconv.FormatInt(int64(f), 10)
			} else {
				s = bsonkit.FormatValue(v)
			}
		case bsoncore.TypeInt32, bsoncore.TypeInt64:
			s = strconv.FormatInt(v.AsInt64(), 10)
		default:
			s = bsonkit.FormatValue(v)
		}
		parts = append(parts, e.Key(), s)
	}
	return strings.Join(parts, "_")
}

// newIDIndex returns the _id index every collection (except clustered
// ones, whose records are the index) has.
func newIDIndex() *Index {
	key := bsonkit.D("_id", bsonkit.Int32(1))
	return &Index{
		name:   IDIndexName,
		key:    key,
		spec:   bsonkit.D("v", bsonkit.Int32(2), "key", bsonkit.DocValue(key), "name", bsonkit.String(IDIndexName)),
		fields: []keyField{{path: "_id", parts: []string{"_id"}}},
		isID:   true,
		unique: true,
	}
}

// newClusteredIDIndex is how listIndexes shows a clustered collection's key.
func newClusteredIDIndex(name string) *Index {
	ix := newIDIndex()
	ix.name = name
	ix.spec = bsonkit.D("v", bsonkit.Int32(2), "key", bsonkit.DocValue(ix.key), "name", bsonkit.String(name),
		"unique", bsonkit.Bool(true), "clustered", bsonkit.Bool(true))
	return ix
}
