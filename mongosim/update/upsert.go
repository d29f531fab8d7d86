package update

import (
	"sort"
	"strings"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// maxUserDocSize is BSONObjMaxUserSize.
const maxUserDocSize = 16 * 1024 * 1024

// SeedUpsert builds the document an upsert starts from, out of the query's
// equality predicates (path → value, as query.Matcher.Equalities returns
// them): paths are applied in sorted order, dotted paths create nested
// documents, and two equalities on the same path or on a path and its
// prefix fail with NotSingleValueField as in mongod.
func SeedUpsert(equalities bsonkit.Doc) (bsoncore.Document, error) {
	eq := append(bsonkit.Doc(nil), equalities...)
	sort.SliceStable(eq, func(i, j int) bool { return eq[i].Key < eq[j].Key })
	seen := map[string]bool{}
	for _, e := range eq {
		parts := strings.Split(e.Key, ".")
		for i := len(parts); i >= 1; i-- {
			prefix := strings.Join(parts[:i], ".")
			if !seen[prefix] {
				continue
			}
			if i == len(parts) {
				return nil, mongoerr.New(mongoerr.NotSingleValueField, "cannot infer query fields to set, path '%s' is matched twice", e.Key)
			}
			return nil, mongoerr.New(mongoerr.NotSingleValueField,
				"cannot infer query fields to set, both paths '%s' and '%s' are matched", e.Key, prefix)
		}
		seen[e.Key] = true
	}
	root := newContainer("", bsoncore.TypeEmbeddedDocument)
	for _, e := range eq {
		if err := setAtPath(root, strings.Split(e.Key, "."), e.Value); err != nil {
			return nil, err
		}
	}
	return root.value().Data, nil
}

// Seed is SeedUpsert for this update: a replacement upsert takes only the
// _id equality from the query (which must then name _id exactly).
func (u *Update) Seed(equalities bsonkit.Doc) (bsoncore.Document, error) {
	if u.kind != Replacement {
		return SeedUpsert(equalities)
	}
	var only bsonkit.Doc
	for _, e := range equalities {
		switch {
		case e.Key == "_id":
			only = append(only, e)
		case strings.HasPrefix(e.Key, "_id."):
			return nil, mongoerr.New(mongoerr.NotExactValueField,
				"field at '_id' must be exactly specified, field at sub-path '%s'found", e.Key)
		}
	}
	return SeedUpsert(only)
}

// setAtPath is pathsupport::setElementAtPath on the seed document.
func setAtPath(root *mval, parts []string, v bsoncore.Value) error {
	cur := root
	for i, part := range parts {
		next := cur.child(part)
		if next == nil {
			_, err := createPathAt(parts[i:], cur, newLeaf("", v))
			return err
		}
		if i == len(parts)-1 {
			next.set(v)
			return nil
		}
		if !next.isContainer() {
			return mongoerr.New(mongoerr.PathNotViable, "cannot use the part (%s of %s) to traverse the element ({%s})",
				part, strings.Join(parts, "."), next.String())
		}
		cur = next
	}
	return nil
}

// FinalizeUpsert makes the applied upsert document insertable as mongod
// does: _id moved to the front (or a new ObjectId from newID put there),
// then the storage checks (_id type, top-level $-prefixed names unless
// allowDollar: a pipeline's result may hold them) and the 16 MiB limit.
func FinalizeUpsert(doc bsoncore.Document, newID func() [12]byte, allowDollar bool) (bsoncore.Document, error) {
	elems, err := doc.Elements()
	if err != nil {
		return nil, mongoerr.New(mongoerr.InvalidBSON, "invalid upsert document: %v", err)
	}
	idPos := -1
	for i, e := range elems {
		if e.Key() == "_id" {
			idPos = i
			break
		}
	}
	if idPos != 0 {
		idx, b := bsoncore.AppendDocumentStart(make([]byte, 0, len(doc)+17))
		if idPos < 0 {
			b = bsoncore.AppendObjectIDElement(b, "_id", newID())
		} else {
			b = append(b, elems[idPos]...)
		}
		for i, e := range elems {
			if i != idPos {
				b = append(b, e...)
			}
		}
		b, _ = bsoncore.AppendDocumentEnd(b, idx)
		doc = b
	}
	if err := validateStorage(doc, allowDollar); err != nil {
		return nil, err
	}
	if len(doc) > maxUserDocSize {
		return nil, mongoerr.New(mongoerr.Location17420, "Document to upsert is larger than %d", maxUserDocSize)
	}
	return doc, nil
}
