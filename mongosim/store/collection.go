package store

import (
	"github.com/google/btree"
	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Kind is what a catalog entry is.
type Kind int

const (
	KindCollection Kind = iota
	KindView
	KindTimeseries
)

// String is the listCollections "type" of the kind.
func (k Kind) String() string {
	switch k {
	case KindView:
		return "view"
	case KindTimeseries:
		return "timeseries"
	}
	return "collection"
}

// RecordID identifies a stored document; ids increase with insertion and
// are never reused within a collection.
type RecordID int64

// Record is one stored document.
type Record struct {
	RID RecordID
	ID  bsoncore.Value // the _id value, sliced from Doc
	Doc bsoncore.Document
	// gen is the generation of the collection that owns the record; a
	// record of another generation is shared with a snapshot (Clone) and
	// is copied, not changed, on update.
	gen uint64
}

func lessRID(a, b *Record) bool { return a.RID < b.RID }
func lessID(a, b *Record) bool  { return bsonkit.Compare(a.ID, b.ID) < 0 }

// Collection is a catalog entry: a collection, a view or a time-series
// collection, with its documents and indexes. Methods are not locked; the
// server serialises access.
type Collection struct {
	DB   string
	Name string
	// UUID is a random version 4 UUID, new on every (re)creation; views
	// have none (zero).
	UUID [16]byte
	Kind Kind
	// Options is the listCollections options document.
	Options bsoncore.Document

	// View definition (Kind == KindView).
	ViewOn   string
	Pipeline bsoncore.Array

	opts       *collOptions
	capped     bool
	cappedSize int64
	cappedMax  int64
	clustered  bool
	collation  bsoncore.Document // default collation, nil for simple
	validator  Matcher
	// validatorDoc, validationLevel and validationAction mirror Options.
	validatorDoc     bsoncore.Document
	validationLevel  string
	validationAction string

	byRID    *btree.BTreeG[*Record]
	byID     *btree.BTreeG[*Record]
	nextRID  RecordID
	dataSize int64
	indexes  []*Index
	compile  FilterCompiler
	gen      uint64 // records of this generation are this collection's own
}

// Namespace is "db.name".
func (c *Collection) Namespace() string { return c.DB + "." + c.Name }

// Capped reports whether the collection is capped, and its size (bytes)
// and max (documents, 0 = no limit) limits.
func (c *Collection) Capped() (capped bool, size, max int64) {
	return c.capped, c.cappedSize, c.cappedMax
}

// Clustered reports whether documents are stored in _id order (clustered
// collections); natural order is then _id order.
func (c *Collection) Clustered() bool { return c.clustered }

// Collation is the collection's default collation (nil for simple).
func (c *Collection) Collation() bsoncore.Document { return c.collation }

// Count is the number of documents.
func (c *Collection) Count() int64 { return int64(c.byID.Len()) }

// DataSize is the sum of the documents' BSON sizes.
func (c *Collection) DataSize() int64 { return c.dataSize }

// AvgObjSize is DataSize/Count, 0 when empty (integer, as collStats).
func (c *Collection) AvgObjSize() int64 {
	if n := c.Count(); n > 0 {
		return c.dataSize / n
	}
	return 0
}

// StorageSize approximates WiredTiger's allocated bytes: the data rounded
// up to 4 KiB pages, at least one page.
func (c *Collection) StorageSize() int64 { return roundPage(c.dataSize) }

func roundPage(n int64) int64 {
	const page = 4096
	if n <= 0 {
		return page
	}
	return (n + page - 1) / page * page
}

// IndexSize approximates an index's size in bytes: its key entries (for
// _id, the _id values) rounded up to 4 KiB pages. Text, geo and wildcard
// indexes, whose keys are not kept, report one page.
func (c *Collection) IndexSize(ix *Index) int64 {
	if ix.isID {
		var n int64
		c.byID.Ascend(func(r *Record) bool {
			n += int64(len(r.ID.Data)) + 9
			return true
		})
		return roundPage(n)
	}
	return roundPage(ix.keyBytes)
}

// TotalIndexSize sums IndexSize over all indexes.
func (c *Collection) TotalIndexSize() int64 {
	var n int64
	for _, ix := range c.indexes {
		n += c.IndexSize(ix)
	}
	return n
}

// Get returns the document stored under rid, or nil.
func (c *Collection) Get(rid RecordID) bsoncore.Document {
	if r, ok := c.byRID.Get(&Record{RID: rid}); ok {
		return r.Doc
	}
	return nil
}

// FindByID returns the record whose _id equals id (BSON comparison, so 1
// and 1.0 are the same _id).
func (c *Collection) FindByID(id bsoncore.Value) (RecordID, bsoncore.Document, bool) {
	if r, ok := c.byID.Get(&Record{ID: id}); ok {
		return r.RID, r.Doc, true
	}
	return 0, nil, false
}

// Insert stores doc, which the caller has validated and which carries its
// _id as the first field. The store keeps doc itself: pass a private copy
// (never a slice of a reused request buffer) and do not modify it later. It enforces the _id and unique indexes (E11000
// with keyPattern/keyValue) and, for capped collections, evicts the oldest
// documents beyond the size and max limits. Evicted documents are returned
// in natural order so the server can describe the deletes.
func (c *Collection) Insert(doc bsoncore.Document) (RecordID, []Record, error) {
	if c.Kind == KindView {
		return 0, nil, mongoerr.New(mongoerr.CommandNotSupportedOnView, "Namespace %s is a view, not a collection", c.Namespace())
	}
	id, err := doc.LookupErr("_id")
	if err != nil {
		return 0, nil, mongoerr.New(mongoerr.InternalError, "document to insert into %s has no _id", c.Namespace())
	}
	if c.capped && int64(len(doc)) > c.cappedSize {
		return 0, nil, mongoerr.New(mongoerr.BadValue, "object to insert exceeds cappedMaxSize")
	}
	rid := c.nextRID + 1
	rec := &Record{RID: rid, ID: id, Doc: doc, gen: c.gen}
	// One descent both checks the _id and places the record (a lookup
	// first cost a second descent and a pivot allocation per insert); a
	// duplicate is put back as it was.
	if old, dup := c.byID.ReplaceOrInsert(rec); dup {
		c.byID.ReplaceOrInsert(old)
		return 0, nil, dupKeyError(c.Namespace(), IDIndexName, idKeyPattern, idFields, []bsoncore.Value{id})
	}
	keys, err := c.indexKeys(doc, rid)
	if err != nil {
		c.byID.Delete(rec)
		return 0, nil, err
	}
	c.nextRID = rid
	c.byRID.ReplaceOrInsert(rec)
	c.dataSize += int64(len(doc))
	for i, ix := range c.indexes {
		if keys != nil && keys[i] != nil {
			ix.add(keys[i], rid)
		}
	}
	return rid, c.evictCapped(rid), nil
}

var (
	idKeyPattern = bsonkit.D("_id", bsonkit.Int32(1))
	idFields     = []keyField{{path: "_id", parts: []string{"_id"}}}
)

// indexKeys computes every maintained index's keys for doc (stored as rid)
// and checks unique constraints against other records. It returns nil when
// no index keeps keys (only the _id index: the common case).
func (c *Collection) indexKeys(doc bsoncore.Document, rid RecordID) ([][][]bsoncore.Value, error) {
	var keys [][][]bsoncore.Value
	for i, ix := range c.indexes {
		if !ix.maintained() {
			continue
		}
		if keys == nil {
			keys = make([][][]bsoncore.Value, len(c.indexes))
		}
		k, err := ix.keysFor(doc)
		if err != nil {
			return nil, err
		}
		if dupKey, dup := ix.conflict(k, rid); dup {
			return nil, ix.dupKeyError(c.Namespace(), dupKey)
		}
		keys[i] = k
	}
	return keys, nil
}

// evictCapped deletes the oldest documents while a capped collection is
// over its limits, never the record just inserted.
func (c *Collection) evictCapped(keep RecordID) []Record {
	if !c.capped {
		return nil
	}
	var evicted []Record
	for c.dataSize > c.cappedSize || (c.cappedMax > 0 && c.Count() > c.cappedMax) {
		oldest, ok := c.byRID.Min()
		if !ok || oldest.RID == keep {
			break
		}
		c.removeRecord(oldest)
		evicted = append(evicted, *oldest)
	}
	return evicted
}

// Replace stores newDoc (kept as is, like Insert's doc) in place of the
// document under rid and returns the old one. The caller guarantees _id is unchanged; unique indexes are
// checked against the other documents.
func (c *Collection) Replace(rid RecordID, newDoc bsoncore.Document) (bsoncore.Document, error) {
	rec, ok := c.byRID.Get(&Record{RID: rid})
	if !ok {
		return nil, mongoerr.New(mongoerr.InternalError, "record %d not found in %s", rid, c.Namespace())
	}
	newID, err := newDoc.LookupErr("_id")
	if err != nil || bsonkit.Compare(newID, rec.ID) != 0 {
		return nil, mongoerr.New(mongoerr.ImmutableField,
			"After applying the update, the (immutable) field '_id' was found to have been altered to _id: %s", bsonkit.FormatValue(newID))
	}
	newKeys, err := c.indexKeys(newDoc, rid)
	if err != nil {
		return nil, err
	}
	old := rec.Doc
	for i, ix := range c.indexes {
		if !ix.maintained() {
			continue
		}
		oldKeys, _ := ix.keysFor(old)
		ix.remove(oldKeys, rid)
		if newKeys != nil && newKeys[i] != nil {
			ix.add(newKeys[i], rid)
		}
	}
	c.dataSize += int64(len(newDoc)) - int64(len(old))
	// The _id value compares equal; keep the new bytes so Doc and ID agree.
	if rec.gen != c.gen {
		// Shared with a snapshot: replace the record, leave the old one alone.
		nrec := &Record{RID: rid, ID: newID, Doc: newDoc, gen: c.gen}
		c.byRID.ReplaceOrInsert(nrec)
		c.byID.ReplaceOrInsert(nrec)
		return old, nil
	}
	rec.Doc, rec.ID = newDoc, newID
	return old, nil
}

// Delete removes the document under rid and returns it (nil if absent).
func (c *Collection) Delete(rid RecordID) bsoncore.Document {
	rec, ok := c.byRID.Get(&Record{RID: rid})
	if !ok {
		return nil
	}
	c.removeRecord(rec)
	return rec.Doc
}

func (c *Collection) removeRecord(rec *Record) {
	for _, ix := range c.indexes {
		if ix.maintained() {
			keys, _ := ix.keysFor(rec.Doc)
			ix.remove(keys, rec.RID)
		}
	}
	c.byRID.Delete(rec)
	c.byID.Delete(rec)
	c.dataSize -= int64(len(rec.Doc))
}

// Truncate removes every document (emptycapped and tests); indexes stay.
func (c *Collection) Truncate() {
	c.byRID.Clear(false)
	c.byID.Clear(false)
	c.dataSize = 0
	for _, ix := range c.indexes {
		if ix.maintained() {
			ix.entries.Clear(false)
			ix.keyBytes = 0
			ix.multikey = false
		}
	}
}

// ScanNatural calls fn for each document in natural order (insertion order;
// _id order for clustered collections), backwards if reverse, starting
// after the given record (nil: from the start). A cursor resumes by passing
// the last Record it returned, even if that document was deleted since.
// fn returns false to stop.
func (c *Collection) ScanNatural(reverse bool, after *Record, fn func(Record) bool) {
	if c.clustered {
		var from *IDBound
		if after != nil {
			from = &IDBound{ID: after.ID}
		}
		c.ScanID(reverse, from, fn)
		return
	}
	visit := func(r *Record) bool { return fn(*r) }
	switch {
	case after == nil && !reverse:
		c.byRID.Ascend(visit)
	case after == nil:
		c.byRID.Descend(visit)
	case !reverse:
		c.byRID.AscendGreaterOrEqual(&Record{RID: after.RID + 1}, visit)
	default:
		if after.RID > 1 {
			c.byRID.DescendLessOrEqual(&Record{RID: after.RID - 1}, visit)
		}
	}
}

// IDBound is where an _id scan starts: at ID, including it if Inclusive.
type IDBound struct {
	ID        bsoncore.Value
	Inclusive bool
}

// ScanID calls fn for each document in _id order (bsonkit.Compare),
// descending if reverse, starting at from (nil: from the first or last
// _id). fn returns false to stop.
func (c *Collection) ScanID(reverse bool, from *IDBound, fn func(Record) bool) {
	if from == nil {
		visit := func(r *Record) bool { return fn(*r) }
		if reverse {
			c.byID.Descend(visit)
		} else {
			c.byID.Ascend(visit)
		}
		return
	}
	pivot := &Record{ID: from.ID}
	visit := func(r *Record) bool {
		if !from.Inclusive && bsonkit.Compare(r.ID, from.ID) == 0 {
			return true
		}
		return fn(*r)
	}
	if reverse {
		c.byID.DescendLessOrEqual(pivot, visit)
	} else {
		c.byID.AscendGreaterOrEqual(pivot, visit)
	}
}

// Indexes returns the collection's indexes in creation order (_id first).
func (c *Collection) Indexes() []*Index { return append([]*Index(nil), c.indexes...) }

// IndexSpecs returns the listIndexes documents in creation order.
func (c *Collection) IndexSpecs() []bsoncore.Document {
	out := make([]bsoncore.Document, len(c.indexes))
	for i, ix := range c.indexes {
		out[i] = ix.spec
	}
	return out
}

// Index returns the index named name, or nil.
func (c *Collection) Index(name string) *Index {
	for _, ix := range c.indexes {
		if ix.name == name {
			return ix
		}
	}
	return nil
}
