package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink"
)

// Lease is the lease document: which daemon owns the target.
type Lease struct {
	Owner     string    `bson:"owner"`
	Host      string    `bson:"host"`
	PID       int64     `bson:"pid"`
	ExpiresAt time.Time `bson:"expiresAt"`
}

const leaseID = "lease"

// TakeLease takes or renews the lease for owner when it is free, expired,
// already owner's, or held by takeOver (an owner known to be dead; "" for
// none). Expiry is judged by the target's clock ($$NOW), so daemons on
// hosts with skewed clocks agree. When someone else holds it, ok is false
// and holder says who.
func (m *Meta) TakeLease(ctx context.Context, l Lease, ttl time.Duration, takeOver string) (ok bool, holder Lease, err error) {
	coll := m.c.c.Database(mlink.MetaDB).Collection(mlink.MetaLeaseColl)
	set := bson.A{bson.D{{Key: "$set", Value: bson.D{
		{Key: "owner", Value: l.Owner},
		{Key: "host", Value: l.Host},
		{Key: "pid", Value: l.PID},
		{Key: "expiresAt", Value: bson.D{{Key: "$add", Value: bson.A{"$$NOW", ttl.Milliseconds()}}}},
	}}}}
	mine := bson.A{
		bson.D{{Key: "owner", Value: l.Owner}},
		bson.D{{Key: "$expr", Value: bson.D{{Key: "$lt", Value: bson.A{"$expiresAt", "$$NOW"}}}}},
	}
	if takeOver != "" {
		mine = append(mine, bson.D{{Key: "owner", Value: takeOver}})
	}
	ours := bson.D{{Key: "_id", Value: leaseID}, {Key: "$or", Value: mine}}
	res, err := coll.UpdateOne(ctx, ours, set)
	if err != nil {
		return false, holder, fmt.Errorf("target: take the lease: %w", err)
	}
	if res.MatchedCount == 0 {
		// Maybe no lease yet: insert one. The filter must not match a lease
		// someone else holds (an upsert would overwrite it): with our owner
		// in it, a held lease makes the insert fail with a duplicate key,
		// as does losing a race with another daemon inserting at once.
		mineOnly := bson.D{{Key: "_id", Value: leaseID}, {Key: "owner", Value: l.Owner}}
		_, err = coll.UpdateOne(ctx, mineOnly, set, options.UpdateOne().SetUpsert(true))
		if err != nil && !HasCode(err, 11000) {
			return false, holder, fmt.Errorf("target: take the lease: %w", err)
		}
	}
	if _, err := m.Get(ctx, mlink.MetaLeaseColl, leaseID, &holder); err != nil {
		return false, holder, err
	}
	return holder.Owner == l.Owner, holder, nil
}

// ReleaseLease deletes the lease if owner still holds it.
func (m *Meta) ReleaseLease(ctx context.Context, owner string) error {
	_, err := m.c.c.Database(mlink.MetaDB).Collection(mlink.MetaLeaseColl).
		DeleteOne(ctx, bson.D{{Key: "_id", Value: leaseID}, {Key: "owner", Value: owner}})
	if err != nil {
		return fmt.Errorf("target: release the lease: %w", err)
	}
	return nil
}
