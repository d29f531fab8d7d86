package mongo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink"
)

// OpKind is the kind of one idempotent write.
type OpKind int

const (
	// OpUpsert replaces the document matching Filter with Doc, inserting it
	// when missing (insert and replace events).
	OpUpsert OpKind = iota
	// OpUpdate applies Update to the document matching Filter; a missing
	// document is left missing (update events).
	OpUpdate
	// OpDelete deletes the document matching Filter, if any.
	OpDelete
)

// WriteOp is one write of a change-event application.
type WriteOp struct {
	Kind   OpKind
	Filter bson.Raw // the event's documentKey
	Doc    bson.Raw // OpUpsert: the full document
	Update any      // OpUpdate: an update document (bson.D) or a pipeline (bson.A)
}

// BulkError is a failed write of an ordered bulk: Index is the failed op;
// every op before it was applied, none after it.
type BulkError struct {
	Index int
	Code  int
	Err   error
}

func (e *BulkError) Error() string {
	return fmt.Sprintf("write %d of bulk failed (code %d): %v", e.Index, e.Code, e.Err)
}
func (e *BulkError) Unwrap() error { return e.Err }

// BulkWrite applies ops to ns in order. Document validation is bypassed:
// the source already validated these writes.
func (c *Client) BulkWrite(ctx context.Context, ns mlink.Namespace, ops []WriteOp) error {
	if len(ops) == 0 {
		return nil
	}
	models := make([]driver.WriteModel, len(ops))
	for i, op := range ops {
		switch op.Kind {
		case OpUpsert:
			if hasDollarField(op.Doc) {
				// A replacement cannot hold $-prefixed field names
				// (MongoDB 5.0+ stores them); a pipeline can, as a literal.
				pipe := bson.A{bson.D{{Key: "$replaceWith", Value: bson.D{{Key: "$literal", Value: op.Doc}}}}}
				models[i] = driver.NewUpdateOneModel().SetFilter(op.Filter).SetUpdate(pipe).SetUpsert(true)
				continue
			}
			models[i] = driver.NewReplaceOneModel().SetFilter(op.Filter).SetReplacement(op.Doc).SetUpsert(true)
		case OpUpdate:
			models[i] = driver.NewUpdateOneModel().SetFilter(op.Filter).SetUpdate(op.Update)
		case OpDelete:
			models[i] = driver.NewDeleteOneModel().SetFilter(op.Filter)
		}
	}
	opts := options.BulkWrite().SetOrdered(true).SetBypassDocumentValidation(true)
	_, err := c.c.Database(ns.DB).Collection(ns.Coll).BulkWrite(ctx, models, opts)
	if err == nil {
		return nil
	}
	var bwe driver.BulkWriteException
	if errors.As(err, &bwe) && bwe.WriteConcernError == nil && len(bwe.WriteErrors) > 0 {
		we := bwe.WriteErrors[0]
		return &BulkError{Index: we.Index, Code: we.Code, Err: fmt.Errorf("%s: apply to %s: %w", c.role, ns, err)}
	}
	return fmt.Errorf("%s: apply to %s: %w", c.role, ns, err)
}

// hasDollarField reports a field name starting with '$' anywhere in doc.
func hasDollarField(doc bson.Raw) bool {
	elems, err := doc.Elements()
	if err != nil {
		return false // the server reports the malformed document
	}
	for _, el := range elems {
		if strings.HasPrefix(el.Key(), "$") {
			return true
		}
		switch v := el.Value(); v.Type {
		case bson.TypeEmbeddedDocument, bson.TypeArray:
			if hasDollarField(v.Value) {
				return true
			}
		}
	}
	return false
}

// InTransaction runs fn in one transaction on this client (retrying
// transient transaction errors as the driver's WithTransaction does).
func (c *Client) InTransaction(ctx context.Context, fn func(ctx context.Context) error) error {
	sess, err := c.c.StartSession()
	if err != nil {
		return fmt.Errorf("%s: start session: %w", c.role, err)
	}
	defer sess.EndSession(context.WithoutCancel(ctx))
	_, err = sess.WithTransaction(ctx, func(sctx context.Context) (any, error) { return nil, fn(sctx) })
	return err
}
