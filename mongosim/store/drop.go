package store

import (
	"strings"

	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// droppableSystem are system collections a user may drop.
func droppableSystem(name string) bool {
	return !strings.HasPrefix(name, "system.") || userSystemCollections[name] ||
		name == "system.views" || strings.HasPrefix(name, "system.buckets.")
}

// DropCollection removes db.name (collection, view or time-series
// collection with its buckets) and returns the dropped entry. A missing
// namespace is NamespaceNotFound (26); whether that is an error is the
// command's decision (drop succeeds on 7.0+).
func (s *Store) DropCollection(db, name string) (*Collection, error) {
	d := s.dbs[db]
	var c *Collection
	if d != nil {
		c = d.colls[name]
	}
	if c == nil {
		return nil, mongoerr.New(mongoerr.NamespaceNotFound, "ns not found")
	}
	if !droppableSystem(name) || isReplicaSetInternal(db, name) {
		return nil, mongoerr.New(mongoerr.IllegalOperation, "can't drop system collection %s.%s", db, name)
	}
	delete(d.colls, name)
	switch c.Kind {
	case KindTimeseries:
		delete(d.colls, "system.buckets."+name)
	case KindView:
		s.syncSystemViews(db)
	}
	return c, nil
}

// isReplicaSetInternal marks namespaces a replica set member needs.
func isReplicaSetInternal(db, name string) bool {
	return db == "local" || (db == "admin" && name == "system.version") || (db == "config" && name == "system.sessions")
}

// DropDatabase removes every entry of db and returns them sorted by name
// (empty if the database did not exist). admin, config and local cannot be
// dropped (IllegalOperation 20).
func (s *Store) DropDatabase(db string) ([]*Collection, error) {
	switch db {
	case "admin":
		return nil, mongoerr.New(mongoerr.IllegalOperation, "Dropping the 'admin' database is prohibited.")
	case "config":
		return nil, mongoerr.New(mongoerr.IllegalOperation, "Cannot drop 'config' database if mongod started with --configsvr or --shardsvr")
	case "local":
		return nil, mongoerr.New(mongoerr.IllegalOperation, "Cannot drop 'local' database while replication is active")
	}
	d := s.dbs[db]
	if d == nil {
		return nil, nil
	}
	dropped := d.Collections()
	delete(s.dbs, db)
	return dropped, nil
}

// Rename is what RenameCollection did: the renamed entry (already under
// its new name; same UUID within a database, a new one across databases)
// and the target it replaced with dropTarget, if any.
type Rename struct {
	Collection    *Collection
	OldUUID       [16]byte
	DroppedTarget *Collection
}

// RenameCollection renames fromDB.from to toDB.to. Errors as mongod
// reports them: missing source NamespaceNotFound (26), existing target
// without dropTarget NamespaceExists (48), views, time-series and system
// collections IllegalOperation (20) or CommandNotSupportedOnView (166).
func (s *Store) RenameCollection(fromDB, from, toDB, to string, dropTarget bool) (*Rename, error) {
	src := s.Collection(fromDB, from)
	if src == nil {
		return nil, mongoerr.New(mongoerr.NamespaceNotFound, "Source collection %s.%s does not exist", fromDB, from)
	}
	if fromDB == toDB && from == to {
		return nil, mongoerr.New(mongoerr.IllegalOperation, "Can't rename a collection to itself")
	}
	if src.Kind == KindView {
		return nil, mongoerr.New(mongoerr.CommandNotSupportedOnView, "Namespace %s.%s is a view, not a collection", fromDB, from)
	}
	if src.Kind == KindTimeseries {
		return nil, mongoerr.New(mongoerr.IllegalOperation, "Renaming a time-series collection is not allowed")
	}
	if !droppableSystem(from) || isReplicaSetInternal(fromDB, from) || from == "system.views" {
		return nil, mongoerr.New(mongoerr.IllegalOperation, "error with source namespace: cannot write to '%s.%s'", fromDB, from)
	}
	if err := ValidateCollectionName(toDB, to); err != nil {
		if e, ok := err.(*mongoerr.Error); ok && strings.HasPrefix(to, "system.") {
			return nil, mongoerr.New(mongoerr.IllegalOperation, "error with target namespace: %s", e.Msg)
		}
		return nil, err
	}
	if toDB == "local" || toDB == "config" || toDB == "admin" && strings.HasPrefix(to, "system.") {
		return nil, mongoerr.New(mongoerr.IllegalOperation, "error with target namespace: cannot write to '%s.%s'", toDB, to)
	}
	r := &Rename{Collection: src, OldUUID: src.UUID}
	if dst := s.Collection(toDB, to); dst != nil {
		if !dropTarget {
			return nil, mongoerr.New(mongoerr.NamespaceExists, "target namespace exists")
		}
		if dst.Kind == KindView {
			return nil, mongoerr.New(mongoerr.CommandNotSupportedOnView, "Namespace %s.%s is a view, not a collection", toDB, to)
		}
		if _, err := s.DropCollection(toDB, to); err != nil {
			return nil, err
		}
		r.DroppedTarget = dst
	}
	delete(s.dbs[fromDB].colls, from)
	src.DB, src.Name = toDB, to
	if fromDB != toDB {
		src.UUID = newUUID()
	}
	s.db(toDB).colls[to] = src
	return r, nil
}
