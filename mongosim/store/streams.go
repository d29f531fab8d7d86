package store

import "sync/atomic"

// Accessors and snapshots the server's change streams and transactions
// need.

// PreAndPostImages reports the collection's changeStreamPreAndPostImages
// setting: only then does the oplog keep images for change streams'
// fullDocumentBeforeChange and fullDocument whenAvailable/required.
func (c *Collection) PreAndPostImages() bool { return c.opts != nil && c.opts.preAndPostImages }

// generations numbers collection generations (see Record.gen).
var generations atomic.Uint64

// Clone returns a snapshot of the whole store that can be read and written
// independently of s: a transaction's private view. It costs O(number of
// collections): document and index trees are shared copy-on-write, and a
// shared record is replaced rather than changed on update. Clone changes
// s's bookkeeping, so the caller must hold s exclusively.
func (s *Store) Clone() *Store {
	out := &Store{dbs: make(map[string]*Database, len(s.dbs)), compile: s.compile}
	for name, d := range s.dbs {
		nd := &Database{Name: name, colls: make(map[string]*Collection, len(d.colls))}
		for n, c := range d.colls {
			nd.colls[n] = c.clone()
		}
		out.dbs[name] = nd
	}
	return out
}

func (c *Collection) clone() *Collection {
	// Both sides get a new generation: every existing record is now shared.
	c.gen = generations.Add(1)
	cp := *c
	cp.gen = generations.Add(1)
	cp.byRID = c.byRID.Clone()
	cp.byID = c.byID.Clone()
	cp.indexes = make([]*Index, len(c.indexes))
	for i, ix := range c.indexes {
		ixc := *ix
		if ix.entries != nil {
			ixc.entries = ix.entries.Clone()
		}
		cp.indexes[i] = &ixc
	}
	return &cp
}

// Adopt puts a collection created in a snapshot (Clone) into s, documents
// and indexes included: committing a transaction that created it. The
// namespace must be free.
func (s *Store) Adopt(c *Collection) bool {
	if s.Collection(c.DB, c.Name) != nil {
		return false
	}
	c.gen = generations.Add(1) // its records become shared with the snapshot
	s.db(c.DB).colls[c.Name] = c
	return true
}
