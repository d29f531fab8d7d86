package mongosim

import (
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// Interim sort and projection support used until package query provides
// them: top-level sort keys only; projections are refused.

type interimSort struct{ keys bsonkit.Doc }

func (s *interimSort) Compare(a, b bsoncore.Document) int {
	for _, k := range s.keys {
		va, _ := a.LookupErr(k.Key)
		vb, _ := b.LookupErr(k.Key)
		if c := bsonkit.Compare(va, vb); c != 0 {
			if k.Value.AsInt64() < 0 {
				return -c
			}
			return c
		}
	}
	return 0
}

func compileSort(spec bsoncore.Document) (*sortSpec, error) {
	d, err := bsonkit.ParseDoc(spec)
	if err != nil || len(d) == 0 {
		return nil, err
	}
	for _, e := range d {
		if !bsonkit.IsNumber(e.Value.Type) {
			return nil, mongoerr.New(mongoerr.BadValue, "Illegal key in $sort specification: %s", e.Key)
		}
	}
	ss := &sortSpec{s: &interimSort{keys: d}}
	if len(d) == 1 {
		dir := 1
		if d[0].Value.AsInt64() < 0 {
			dir = -1
		}
		switch d[0].Key {
		case "$natural":
			ss.natural = dir
		case "_id":
			ss.idDir = dir
		}
	}
	return ss, nil
}

func compileProjection(spec bsoncore.Document) (docProjector, error) {
	if len(spec) <= 5 {
		return nil, nil
	}
	return nil, mongoerr.New(mongoerr.NotImplemented, "projection not supported yet")
}
