package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink"
)

// Meta stores mlink's own documents (checkpoints, lease) in mlink.MetaDB on
// the target, with majority writes so a checkpoint never claims progress
// that a failover could roll back.
type Meta struct{ c *Client }

// Meta returns the metadata store on this (target) client.
func (c *Client) Meta() *Meta { return &Meta{c: c} }

// Put replaces (or inserts) the document with the given _id.
func (m *Meta) Put(ctx context.Context, coll string, id any, doc any) error {
	_, err := m.c.c.Database(mlink.MetaDB).Collection(coll).ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, doc, options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("target: save %s.%s %v: %w", mlink.MetaDB, coll, id, err)
	}
	return nil
}

// Get loads one document into out; found is false when it does not exist.
func (m *Meta) Get(ctx context.Context, coll string, id any, out any) (found bool, err error) {
	res := m.c.c.Database(mlink.MetaDB).Collection(coll).FindOne(ctx, bson.D{{Key: "_id", Value: id}})
	if err := res.Err(); err != nil {
		if isNoDocuments(err) {
			return false, nil
		}
		return false, fmt.Errorf("target: load %s.%s %v: %w", mlink.MetaDB, coll, id, err)
	}
	if err := res.Decode(out); err != nil {
		return false, fmt.Errorf("target: decode %s.%s %v: %w", mlink.MetaDB, coll, id, err)
	}
	return true, nil
}

// All loads every document of coll, sorted by sortKey, into out (a pointer
// to a slice).
func (m *Meta) All(ctx context.Context, coll string, sortKey string, out any) error {
	cur, err := m.c.c.Database(mlink.MetaDB).Collection(coll).Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: sortKey, Value: 1}}))
	if err != nil {
		return fmt.Errorf("target: load %s.%s: %w", mlink.MetaDB, coll, err)
	}
	if err := cur.All(ctx, out); err != nil {
		return fmt.Errorf("target: load %s.%s: %w", mlink.MetaDB, coll, err)
	}
	return nil
}

// Delete removes one document.
func (m *Meta) Delete(ctx context.Context, coll string, id any) error {
	_, err := m.c.c.Database(mlink.MetaDB).Collection(coll).DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return fmt.Errorf("target: delete %s.%s %v: %w", mlink.MetaDB, coll, id, err)
	}
	return nil
}

// Drop removes a whole metadata collection (forgetting a run's state).
func (m *Meta) Drop(ctx context.Context, coll string) error {
	if err := m.c.c.Database(mlink.MetaDB).Collection(coll).Drop(ctx); err != nil {
		return fmt.Errorf("target: drop %s.%s: %w", mlink.MetaDB, coll, err)
	}
	return nil
}

// Find loads the documents of coll matching filter into out (a pointer to
// a slice).
func (m *Meta) Find(ctx context.Context, coll string, filter bson.D, out any) error {
	cur, err := m.c.c.Database(mlink.MetaDB).Collection(coll).Find(ctx, filter)
	if err != nil {
		return fmt.Errorf("target: load %s.%s: %w", mlink.MetaDB, coll, err)
	}
	if err := cur.All(ctx, out); err != nil {
		return fmt.Errorf("target: load %s.%s: %w", mlink.MetaDB, coll, err)
	}
	return nil
}

// DeleteMany removes the documents of coll matching filter.
func (m *Meta) DeleteMany(ctx context.Context, coll string, filter bson.D) error {
	if _, err := m.c.c.Database(mlink.MetaDB).Collection(coll).DeleteMany(ctx, filter); err != nil {
		return fmt.Errorf("target: delete from %s.%s: %w", mlink.MetaDB, coll, err)
	}
	return nil
}
