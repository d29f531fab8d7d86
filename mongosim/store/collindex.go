package store

import (
	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// CreateIndexes builds the given createIndexes specs. A spec identical to
// an existing index is a no-op; conflicts fail with IndexKeySpecsConflict
// (86) or IndexOptionsConflict (85) as mongod reports them. New indexes are
// built over the existing documents; a unique violation fails with E11000
// and nothing is created. It returns how many indexes were created.
func (c *Collection) CreateIndexes(specs []bsoncore.Document) (int, error) {
	if c.Kind == KindView {
		return 0, mongoerr.New(mongoerr.CommandNotSupportedOnView, "Namespace %s is a view, not a collection", c.Namespace())
	}
	var fresh []*Index
	for _, spec := range specs {
		ix, err := buildIndex(spec, c.collation, c.compile)
		if err != nil {
			return 0, err
		}
		existing, err := c.findConflict(ix, fresh)
		if err != nil {
			return 0, err
		}
		if existing {
			continue
		}
		fresh = append(fresh, ix)
	}
	if len(fresh) == 0 {
		return 0, nil
	}
	if len(c.indexes)+len(fresh) > 64 {
		return 0, mongoerr.New(mongoerr.CannotCreateIndex,
			"add index fails, too many indexes for %s key:%s", c.Namespace(), bsonkit.FormatDoc(fresh[len(fresh)-1].key))
	}
	for _, ix := range fresh {
		if err := c.buildEntries(ix); err != nil {
			return 0, err
		}
	}
	c.indexes = append(c.indexes, fresh...)
	return len(fresh), nil
}

// findConflict compares a requested index with the existing ones (and those
// requested before it in the same command). It returns true when an
// identical index exists.
func (c *Collection) findConflict(ix *Index, pending []*Index) (bool, error) {
	all := append(append([]*Index(nil), c.indexes...), pending...)
	for _, ex := range all {
		if ex.name != ix.name {
			continue
		}
		if ex.isID && ix.isID {
			return true, nil
		}
		if !sameKey(ex.key, ix.key) || !optionsEqual(ex.spec, ix.spec, identifyingOptions) {
			return false, mongoerr.New(mongoerr.IndexKeySpecsConflict,
				"An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: %s, existing index: %s",
				bsonkit.FormatDoc(ix.spec), bsonkit.FormatDoc(ex.spec))
		}
		if !optionsEqual(ex.spec, ix.spec, comparedOptions) {
			return false, mongoerr.New(mongoerr.IndexOptionsConflict,
				"An equivalent index already exists with the same name but different options. Requested index: %s, existing index: %s",
				bsonkit.FormatDoc(ix.spec), bsonkit.FormatDoc(ex.spec))
		}
		return true, nil
	}
	for _, ex := range all {
		if sameKey(ex.key, ix.key) && optionsEqual(ex.spec, ix.spec, identifyingOptions) {
			if ex.isID && c.clustered {
				return false, mongoerr.New(mongoerr.CannotCreateIndex,
					"cannot create an index with the same key pattern as the clustered index: %s", bsonkit.FormatDoc(ix.spec))
			}
			return false, mongoerr.New(mongoerr.IndexOptionsConflict, "Index already exists with a different name: %s", ex.name)
		}
	}
	return false, nil
}

// buildEntries indexes every existing document into ix, failing (and
// leaving ix empty) on the first unique violation or bad key.
func (c *Collection) buildEntries(ix *Index) error {
	if !ix.maintained() {
		return nil
	}
	var failure error
	c.byRID.Ascend(func(r *Record) bool {
		keys, err := ix.keysFor(r.Doc)
		if err != nil {
			failure = err
			return false
		}
		if k, dup := ix.conflict(keys, r.RID); dup {
			failure = ix.dupKeyError(c.Namespace(), k)
			return false
		}
		ix.add(keys, r.RID)
		return true
	})
	if failure != nil {
		ix.entries.Clear(false)
		ix.keyBytes, ix.multikey = 0, false
	}
	return failure
}

// FindIndexByKey returns the indexes whose key pattern equals key.
func (c *Collection) FindIndexByKey(key bsoncore.Document) []*Index {
	var out []*Index
	for _, ix := range c.indexes {
		if sameKey(ix.key, key) {
			out = append(out, ix)
		}
	}
	return out
}

// DropIndex drops the index named name. The _id index cannot be dropped
// (InvalidOptions 72); a missing index is IndexNotFound (27).
func (c *Collection) DropIndex(name string) (*Index, error) {
	if name == IDIndexName {
		return nil, mongoerr.New(mongoerr.InvalidOptions, "cannot drop _id index")
	}
	for i, ix := range c.indexes {
		if ix.name == name {
			c.indexes = append(c.indexes[:i:i], c.indexes[i+1:]...)
			return ix, nil
		}
	}
	return nil, mongoerr.New(mongoerr.IndexNotFound, "index not found with name [%s]", name)
}

// DropIndexByKey drops the single index with key pattern key.
func (c *Collection) DropIndexByKey(key bsoncore.Document) (*Index, error) {
	found := c.FindIndexByKey(key)
	switch {
	case len(found) == 0:
		return nil, mongoerr.New(mongoerr.IndexNotFound, "can't find index with key: %s", bsonkit.FormatDoc(key))
	case len(found) > 1:
		return nil, mongoerr.New(mongoerr.AmbiguousIndexKeyPattern,
			"%d indexes found for key: %s, identify by name instead. Conflicting indexes: %s, %s",
			len(found), bsonkit.FormatDoc(key), bsonkit.FormatDoc(found[0].spec), bsonkit.FormatDoc(found[1].spec))
	}
	if found[0].isID {
		return nil, mongoerr.New(mongoerr.InvalidOptions, "cannot drop _id index")
	}
	return c.DropIndex(found[0].name)
}

// DropAllIndexes drops every index except _id ("*").
func (c *Collection) DropAllIndexes() []*Index {
	var dropped []*Index
	kept := c.indexes[:0:0]
	for _, ix := range c.indexes {
		if ix.isID {
			kept = append(kept, ix)
		} else {
			dropped = append(dropped, ix)
		}
	}
	c.indexes = kept
	return dropped
}

// IndexChange describes what collMod changed on an index, with the old and
// new values for the reply (unset fields did not change).
type IndexChange struct {
	Name                   string
	HiddenOld, HiddenNew   *bool
	ExpireOld, ExpireNew   *bsoncore.Value
	UniqueNew              bool
	PrepareOld, PrepareNew *bool
}

// IndexMod is a collMod index request: identify the index by Name or
// KeyPattern; nil option pointers leave the option alone.
type IndexMod struct {
	Name          string
	KeyPattern    bsoncore.Document
	Hidden        *bool
	ExpireAfter   *bsoncore.Value
	Unique        *bool
	PrepareUnique *bool
}

// ModifyIndex applies a collMod index change.
func (c *Collection) ModifyIndex(mod IndexMod) (IndexChange, error) {
	var ix *Index
	switch {
	case mod.Name != "" && mod.KeyPattern != nil:
		return IndexChange{}, mongoerr.New(mongoerr.InvalidOptions, "Cannot specify both key pattern and name.")
	case mod.Name != "":
		ix = c.Index(mod.Name)
		if ix == nil {
			return IndexChange{}, mongoerr.New(mongoerr.IndexNotFound, "cannot find index %s for ns %s", mod.Name, c.Namespace())
		}
	case mod.KeyPattern != nil:
		found := c.FindIndexByKey(mod.KeyPattern)
		if len(found) == 0 {
			return IndexChange{}, mongoerr.New(mongoerr.IndexNotFound, "cannot find index %s for ns %s", bsonkit.FormatDoc(mod.KeyPattern), c.Namespace())
		}
		if len(found) > 1 {
			return IndexChange{}, mongoerr.New(mongoerr.AmbiguousIndexKeyPattern, "index keyPattern %s matches %d indexes, must use index name",
				bsonkit.FormatDoc(mod.KeyPattern), len(found))
		}
		ix = found[0]
	default:
		return IndexChange{}, mongoerr.New(mongoerr.InvalidOptions, "Must specify either index name or key pattern.")
	}
	if mod.Hidden == nil && mod.ExpireAfter == nil && mod.Unique == nil && mod.PrepareUnique == nil {
		return IndexChange{}, mongoerr.New(mongoerr.InvalidOptions, "no expireAfterSeconds, hidden, unique, or prepareUnique field")
	}
	if ix.isID && (mod.Hidden != nil || mod.Unique != nil || mod.PrepareUnique != nil) {
		if mod.Hidden != nil {
			return IndexChange{}, mongoerr.New(mongoerr.BadValue, "can't hide _id index")
		}
		return IndexChange{}, mongoerr.New(mongoerr.InvalidOptions, "cannot modify the _id index")
	}
	spec := bsonkit.MustParseDoc(ix.spec)
	if mod.ExpireAfter != nil {
		cur := spec.Get("expireAfterSeconds")
		if cur.Type == 0 {
			return IndexChange{}, mongoerr.New(mongoerr.InvalidOptions, "no expireAfterSeconds field to update")
		}
		if err := checkTTL(*mod.ExpireAfter, len(ix.fields), ix.spec); err != nil {
			return IndexChange{}, err
		}
	}
	if mod.Unique != nil {
		if !*mod.Unique {
			return IndexChange{}, mongoerr.New(mongoerr.BadValue, "The field 'unique' can only be set to true")
		}
		if !ix.unique && !ix.prepareUnique && (mod.PrepareUnique == nil || !*mod.PrepareUnique) {
			return IndexChange{}, mongoerr.New(mongoerr.InvalidOptions,
				"Cannot make index unique with 'prepareUnique=false'. Run collMod to set it first.")
		}
		if !ix.unique && ix.maintained() {
			if err := c.checkConvertUnique(ix); err != nil {
				return IndexChange{}, err
			}
		}
	}
	ch := IndexChange{Name: ix.name}
	if mod.Hidden != nil {
		old := ix.hidden
		ch.HiddenOld, ch.HiddenNew = &old, mod.Hidden
		ix.hidden = *mod.Hidden
		setOption(&spec, "hidden", bsonkit.Bool(ix.hidden), !ix.hidden)
	}
	if mod.ExpireAfter != nil {
		old := spec.Get("expireAfterSeconds")
		ch.ExpireOld, ch.ExpireNew = &old, mod.ExpireAfter
		setOption(&spec, "expireAfterSeconds", *mod.ExpireAfter, false)
	}
	if mod.PrepareUnique != nil {
		old := ix.prepareUnique
		ch.PrepareOld, ch.PrepareNew = &old, mod.PrepareUnique
		ix.prepareUnique = *mod.PrepareUnique
		setOption(&spec, "prepareUnique", bsonkit.Bool(ix.prepareUnique), !ix.prepareUnique)
	}
	if mod.Unique != nil && !ix.unique {
		ix.unique = true
		ch.UniqueNew = true
		setOption(&spec, "unique", bsonkit.Bool(true), false)
		// A unique index no longer needs prepareUnique.
		spec.Delete("prepareUnique")
		ix.prepareUnique = false
	}
	ix.spec = spec.Bytes()
	return ch, nil
}

// setOption sets or (if remove) deletes an index spec option.
func setOption(spec *bsonkit.Doc, key string, v bsoncore.Value, remove bool) {
	if remove {
		spec.Delete(key)
		return
	}
	spec.Set(key, v)
}

// checkConvertUnique fails with CannotConvertIndexToUnique when documents
// share a key of ix; errInfo lists each group of conflicting _ids.
func (c *Collection) checkConvertUnique(ix *Index) error {
	var groups [][]bsoncore.Value
	var runKey []bsoncore.Value
	var run []RecordID
	flush := func() {
		if len(run) > 1 {
			ids := make([]bsoncore.Value, 0, len(run))
			for _, rid := range run {
				if r, ok := c.byRID.Get(&Record{RID: rid}); ok {
					ids = append(ids, r.ID)
				}
			}
			groups = append(groups, ids)
		}
	}
	ix.entries.Ascend(func(e indexEntry) bool {
		if run != nil && compareKeys(runKey, e.key) == 0 {
			if run[len(run)-1] != e.rid {
				run = append(run, e.rid)
			}
			return true
		}
		flush()
		runKey, run = e.key, []RecordID{e.rid}
		return true
	})
	flush()
	if len(groups) == 0 {
		return nil
	}
	e := mongoerr.New(mongoerr.CannotConvertIndexToUnique,
		"Cannot convert the index to unique. Please resolve conflicting documents before running collMod again.")
	viol := make([]bsoncore.Value, len(groups))
	for i, ids := range groups {
		viol[i] = bsonkit.DocValue(bsonkit.D("ids", bsonkit.Array(ids...)))
	}
	e.Extra = bsonkit.D("violations", bsonkit.Array(viol...))
	return e
}
