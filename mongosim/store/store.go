// Package store is mongosim's catalog and document storage: databases,
// collections, views and time-series collections with their options, UUIDs
// and index specs; documents kept as the exact bytes received, ordered by
// _id (BSON comparison) and by insertion (record id); unique index
// enforcement; capped limits; sizes.
//
// store is not internally locked: the server holds one RWMutex, taking the
// write lock around writes and DDL and the read lock around each read batch.
// Scans resume after the last record they returned, so cursors hold no lock
// between batches. store knows nothing of the wire protocol, cluster time or
// the oplog; mutating methods return what the server needs to describe the
// change (UUIDs, old documents, evicted documents).
//
// Simplifications, each deliberate:
//   - Collations are validated, normalized and returned (collection options,
//     index specs, the _id index), but keys compare with the simple binary
//     collation, so unique enforcement ignores a non-simple collation.
//   - Text, 2d, 2dsphere and wildcard indexes keep their spec only; ordinary
//     and hashed indexes keep key entries (hashed ones by value, not hash).
//   - Time-series collections store measurements as plain documents with a
//     unique _id; system.buckets.<name> is created empty for the catalog.
//   - Sizes: data sizes are exact BSON byte sums; storage and index sizes
//     round key and document bytes up to 4 KiB pages.
package store

import (
	"crypto/rand"
	"errors"
	"sort"
	"strings"

	"github.com/google/btree"
	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"github.com/mlink-dev/mlink/mongosim/query"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Matcher decides whether a document matches a filter; query.Matcher
// satisfies it.
type Matcher interface {
	Match(doc bsoncore.Document) bool
}

// FilterCompiler compiles a partialFilterExpression or validator.
type FilterCompiler func(filter bsoncore.Document) (Matcher, error)

// Store is the whole catalog of one simulated server.
type Store struct {
	dbs     map[string]*Database
	compile FilterCompiler
}

// Database is one database: a set of catalog entries by name.
type Database struct {
	Name  string
	colls map[string]*Collection
}

// New returns a store holding the system collections a replica set
// primary has: admin.system.version, config.system.sessions and
// local.oplog.rs, local.startup_log, local.system.replset.
func New() *Store {
	s := &Store{dbs: map[string]*Database{}, compile: defaultCompiler}
	s.createSystem("admin", "system.version", nil)
	ver := s.Collection("admin", "system.version")
	_, _, _ = ver.Insert(bsonkit.D("_id", bsonkit.String("featureCompatibilityVersion"), "version", bsonkit.String("7.0")))
	sessions := s.createSystem("config", "system.sessions", nil)
	_, _ = sessions.CreateIndexes([]bsoncore.Document{bsonkit.D(
		"key", bsonkit.DocValue(bsonkit.D("lastUse", bsonkit.Int32(1))),
		"name", bsonkit.String("lsidTTLIndex"),
		"expireAfterSeconds", bsonkit.Int32(1800))})
	s.createSystem("local", "oplog.rs", &collOptions{capped: true, size: 990 << 20})
	s.createSystem("local", "startup_log", &collOptions{capped: true, size: 10 << 20})
	s.createSystem("local", "system.replset", nil)
	return s
}

// defaultCompiler compiles filters with package query.
func defaultCompiler(filter bsoncore.Document) (Matcher, error) {
	m, err := query.Compile(filter)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// notImplemented reports whether err says mongosim lacks a (valid) query
// feature, e.g. $jsonSchema: such filters are stored but not enforced.
func notImplemented(err error) bool {
	var me *mongoerr.Error
	return errors.As(err, &me) && me.Code == mongoerr.NotImplemented
}

// SetFilterCompiler replaces the compiler (query.Compile by default) used
// for partial index filters and validators created from now on; nil stores
// filters without enforcing them.
func (s *Store) SetFilterCompiler(fc FilterCompiler) { s.compile = fc }

// DatabaseNames returns the names of databases holding at least one
// collection or view, sorted.
func (s *Store) DatabaseNames() []string {
	names := make([]string, 0, len(s.dbs))
	for n, d := range s.dbs {
		if len(d.colls) > 0 {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Database returns the named database, or nil if it has no collections.
func (s *Store) Database(name string) *Database {
	if d := s.dbs[name]; d != nil && len(d.colls) > 0 {
		return d
	}
	return nil
}

// Collection returns the catalog entry db.name (collection, view or
// time-series collection), or nil.
func (s *Store) Collection(db, name string) *Collection {
	if d := s.dbs[db]; d != nil {
		return d.colls[name]
	}
	return nil
}

// CollectionNames returns the database's entry names, sorted.
func (d *Database) CollectionNames() []string {
	names := make([]string, 0, len(d.colls))
	for n := range d.colls {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Collections returns the database's entries sorted by name.
func (d *Database) Collections() []*Collection {
	out := make([]*Collection, 0, len(d.colls))
	for _, n := range d.CollectionNames() {
		out = append(out, d.colls[n])
	}
	return out
}

// Collection returns the named entry or nil.
func (d *Database) Collection(name string) *Collection { return d.colls[name] }

// DataSize sums the data sizes of the database's collections.
func (d *Database) DataSize() int64 {
	var n int64
	for _, c := range d.colls {
		n += c.DataSize()
	}
	return n
}

// SizeOnDisk approximates listDatabases' sizeOnDisk: storage plus index
// sizes of every collection.
func (d *Database) SizeOnDisk() int64 {
	var n int64
	for _, c := range d.colls {
		if c.Kind == KindView {
			continue
		}
		n += c.StorageSize() + c.TotalIndexSize()
	}
	return n
}

func (s *Store) db(name string) *Database {
	d := s.dbs[name]
	if d == nil {
		d = &Database{Name: name, colls: map[string]*Collection{}}
		s.dbs[name] = d
	}
	return d
}

// newCollection makes an empty catalog entry with a fresh UUID.
func (s *Store) newCollection(db, name string, o *collOptions) *Collection {
	c := &Collection{
		DB:      db,
		Name:    name,
		UUID:    newUUID(),
		Options: o.toDoc(),
		byRID:   btree.NewG[*Record](32, lessRID),
		byID:    btree.NewG[*Record](32, lessID),
		compile: s.compile,
	}
	c.applyOptions(o)
	switch {
	case o.clusteredIndex != nil:
		name, _ := o.clusteredIndex.Lookup("name").StringValueOK()
		c.indexes = []*Index{newClusteredIDIndex(name)}
	case o.clusteredLegacy:
		c.indexes = nil
	case o.timeseries != nil:
		// No _id index; with a metaField, MongoDB (6.3+) creates {meta: 1, time: 1}.
		c.indexes = nil
		if meta := o.timeseries.Lookup("metaField"); meta.Type == bsoncore.TypeString {
			key := bsonkit.D(meta.StringValue(), bsonkit.Int32(1), o.timeseries.Lookup("timeField").StringValue(), bsonkit.Int32(1))
			_, _ = c.CreateIndexes([]bsoncore.Document{bsonkit.D("key", bsonkit.DocValue(key), "name", bsonkit.String(GenerateIndexName(key)))})
		}
	default:
		id := newIDIndex()
		if o.collation != nil {
			// The _id index inherits the collection's default collation.
			id.spec = bsonkit.D("v", bsonkit.Int32(2), "key", bsonkit.DocValue(id.key), "name", bsonkit.String(IDIndexName),
				"collation", bsonkit.DocValue(o.collation))
		}
		c.indexes = []*Index{id}
	}
	return c
}

// applyOptions copies parsed options into the collection's fields.
func (c *Collection) applyOptions(o *collOptions) {
	c.opts = o
	c.Options = o.toDoc()
	c.capped, c.cappedSize, c.cappedMax = o.capped, o.size, o.max
	c.clustered = o.clusteredIndex != nil || o.clusteredLegacy
	c.collation = o.collation
	c.validatorDoc, c.validationLevel, c.validationAction = o.validator, o.validationLevel, o.validationAction
	switch {
	case o.viewOn != "":
		c.Kind, c.ViewOn, c.Pipeline = KindView, o.viewOn, o.pipeline
		c.UUID = [16]byte{}
	case o.timeseries != nil:
		c.Kind = KindTimeseries
	}
}

func (s *Store) createSystem(db, name string, o *collOptions) *Collection {
	if o == nil {
		o = &collOptions{}
	}
	c := s.newCollection(db, name, o)
	s.db(db).colls[name] = c
	return c
}

func newUUID() [16]byte {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// maxNamespaceLen is the longest "db.collection" mongod accepts (6.0+).
const maxNamespaceLen = 255

// ValidateDBName checks a database name as mongod does.
func ValidateDBName(db string) error {
	if db == "" || len(db) >= 64 || strings.ContainsAny(db, "/\\. \"$\x00") {
		return mongoerr.New(mongoerr.InvalidNamespace, "Invalid database name: '%s'", db)
	}
	return nil
}

// userSystemCollections are the system.* names users may create.
var userSystemCollections = map[string]bool{"system.js": true, "system.profile": true}

// ValidateCollectionName checks a collection name a user asked to create.
func ValidateCollectionName(db, name string) error {
	if err := ValidateDBName(db); err != nil {
		return err
	}
	ns := db + "." + name
	if name == "" || strings.HasPrefix(name, ".") || strings.ContainsAny(name, "$\x00") {
		return mongoerr.New(mongoerr.InvalidNamespace, "Invalid namespace specified '%s'", ns)
	}
	if len(ns) > maxNamespaceLen {
		return mongoerr.New(mongoerr.InvalidNamespace, "Fully qualified namespace is too long. Namespace: %s Max: %d", ns, maxNamespaceLen)
	}
	if strings.HasPrefix(name, "system.") && !userSystemCollections[name] && !strings.HasPrefix(name, "system.buckets.") {
		return mongoerr.New(mongoerr.InvalidNamespace, "Invalid system namespace: %s", ns)
	}
	return nil
}

// EnsureCollection returns db.name, creating it with default options when
// absent: the implicit creation insert, upsert and createIndexes perform.
// created reports whether it was made now. An existing view is returned
// as is; callers reject writes to views.
func (s *Store) EnsureCollection(db, name string) (c *Collection, created bool, err error) {
	if c := s.Collection(db, name); c != nil {
		return c, false, nil
	}
	c, err = s.CreateCollection(db, name, nil)
	return c, err == nil, err
}

// CreateCollection creates db.name from create's options (the command
// without its "create" field; generic arguments are ignored). Views
// (viewOn) and time-series collections (timeseries) are created too. If the
// entry exists with identical options it is returned without error (7.0+);
// otherwise NamespaceExists (48).
func (s *Store) CreateCollection(db, name string, opts bsoncore.Document) (*Collection, error) {
	if err := ValidateCollectionName(db, name); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = bsonkit.D()
	}
	o, err := parseCreateOptions(opts)
	if err != nil {
		return nil, err
	}
	if existing := s.Collection(db, name); existing != nil {
		if existing.sameOptions(o) {
			return existing, nil
		}
		return nil, mongoerr.New(mongoerr.NamespaceExists, "Collection %s.%s already exists.", db, name)
	}
	if o.viewOn != "" {
		if err := s.checkViewDefinition(db, name, o.viewOn); err != nil {
			return nil, err
		}
	}
	c := s.newCollection(db, name, o)
	if err := c.compileValidator(); err != nil {
		return nil, err
	}
	if o.timeseries != nil {
		buckets := "system.buckets." + name
		if s.Collection(db, buckets) != nil {
			return nil, mongoerr.New(mongoerr.NamespaceExists, "Collection %s.%s already exists.", db, buckets)
		}
		bo := &collOptions{validator: bucketsValidator(o.timeseries), clusteredLegacy: true, timeseries: o.timeseries,
			expireAfterSeconds: o.expireAfterSeconds, collation: o.collation}
		s.createSystem(db, buckets, bo)
	}
	s.db(db).colls[name] = c
	if c.Kind == KindView {
		s.syncSystemViews(db)
	}
	return c, nil
}

// sameOptions reports whether a create request matches this entry.
func (c *Collection) sameOptions(o *collOptions) bool {
	return string(c.Options) == string(o.toDoc())
}

// CreateView creates the view db.name on viewOn (a collection name in the
// same database) with the given pipeline and further options (collation).
func (s *Store) CreateView(db, name, viewOn string, pipeline bsoncore.Array, opts bsoncore.Document) (*Collection, error) {
	d := bsonkit.Doc{{Key: "viewOn", Value: bsonkit.String(viewOn)}}
	if pipeline == nil {
		pipeline = emptyArray()
	}
	d = append(d, bsonkit.Elem{Key: "pipeline", Value: bsonkit.ArrayValue(pipeline)})
	if opts != nil {
		for _, e := range bsonkit.MustParseDoc(opts) {
			if e.Key != "viewOn" && e.Key != "pipeline" {
				d = append(d, e)
			}
		}
	}
	return s.CreateCollection(db, name, d.Bytes())
}

// checkViewDefinition rejects a view whose viewOn chain leads back to it.
func (s *Store) checkViewDefinition(db, name, viewOn string) error {
	seen := map[string]bool{name: true}
	depth := 0
	for cur := viewOn; ; {
		if seen[cur] {
			return mongoerr.New(mongoerr.GraphContainsCycle, "View cycle detected: %s.%s -> %s.%s", db, name, db, viewOn)
		}
		seen[cur] = true
		c := s.Collection(db, cur)
		if c == nil || c.Kind != KindView {
			return nil
		}
		depth++
		if depth >= 20 {
			return mongoerr.New(mongoerr.ViewDepthLimitExceeded, "View depth too deep or view cycle detected. Maximum depth is 20")
		}
		cur = c.ViewOn
	}
}

// syncSystemViews keeps db.system.views holding one document per view,
// {_id: "db.view", viewOn, pipeline[, collation]}, as mongod stores them;
// it is dropped when the last view goes.
func (s *Store) syncSystemViews(db string) {
	d := s.dbs[db]
	if d == nil {
		return
	}
	var views []*Collection
	for _, c := range d.Collections() {
		if c.Kind == KindView {
			views = append(views, c)
		}
	}
	sv := d.colls["system.views"]
	if len(views) == 0 {
		if sv != nil {
			delete(d.colls, "system.views")
		}
		return
	}
	if sv == nil {
		sv = s.createSystem(db, "system.views", nil)
	}
	sv.Truncate()
	for _, v := range views {
		doc := bsonkit.Doc{{Key: "_id", Value: bsonkit.String(v.Namespace())},
			{Key: "viewOn", Value: bsonkit.String(v.ViewOn)}, {Key: "pipeline", Value: bsonkit.ArrayValue(v.Pipeline)}}
		if v.collation != nil {
			doc = append(doc, bsonkit.Elem{Key: "collation", Value: bsonkit.DocValue(v.collation)})
		}
		_, _, _ = sv.Insert(doc.Bytes())
	}
}

// bucketsValidator is the validator mongod puts on system.buckets.<ts>.
func bucketsValidator(ts bsoncore.Document) bsoncore.Document {
	tf := ts.Lookup("timeField").StringValue()
	props := bsonkit.D(
		"_id", bsonkit.DocValue(bsonkit.D("bsonType", bsonkit.String("objectId"))),
		"control", bsonkit.DocValue(bsonkit.D(
			"bsonType", bsonkit.String("object"),
			"required", bsonkit.Array(bsonkit.String("version"), bsonkit.String("min"), bsonkit.String("max")),
			"properties", bsonkit.DocValue(bsonkit.D(
				"version", bsonkit.DocValue(bsonkit.D("bsonType", bsonkit.String("number"))),
				"min", bsonkit.DocValue(bsonkit.D("bsonType", bsonkit.String("object"), "required",
					bsonkit.Array(bsonkit.String(tf)), "properties", bsonkit.DocValue(bsonkit.D(tf,
						bsonkit.DocValue(bsonkit.D("bsonType", bsonkit.String("date"))))))),
				"max", bsonkit.DocValue(bsonkit.D("bsonType", bsonkit.String("object"), "required",
					bsonkit.Array(bsonkit.String(tf)), "properties", bsonkit.DocValue(bsonkit.D(tf,
						bsonkit.DocValue(bsonkit.D("bsonType", bsonkit.String("date"))))))),
				"closed", bsonkit.DocValue(bsonkit.D("bsonType", bsonkit.String("bool"))))))),
		"data", bsonkit.DocValue(bsonkit.D("bsonType", bsonkit.String("object"))),
		"meta", bsonkit.DocValue(bsonkit.D()),
	)
	return bsonkit.D("$jsonSchema", bsonkit.DocValue(bsonkit.D(
		"bsonType", bsonkit.String("object"),
		"required", bsonkit.Array(bsonkit.String("_id"), bsonkit.String("control"), bsonkit.String("data")),
		"properties", bsonkit.DocValue(props),
		"additionalProperties", bsonkit.Bool(false))))
}
