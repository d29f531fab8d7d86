package store

import (
	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// compileValidator compiles the collection's validator, if any and if a
// filter compiler is installed. Invalid validators fail creation with the
// compiler's error; valid ones mongosim cannot evaluate (NotImplemented,
// e.g. $jsonSchema) are kept in the options but not enforced.
func (c *Collection) compileValidator() error {
	c.validator = nil
	if c.validatorDoc == nil || len(bsonkit.MustParseDoc(c.validatorDoc)) == 0 || c.compile == nil {
		return nil
	}
	m, err := c.compile(c.validatorDoc)
	if notImplemented(err) {
		return nil // a valid validator mongosim cannot evaluate: kept, not enforced
	}
	if err != nil {
		return err
	}
	c.validator = m
	return nil
}

// Validator returns the validator document, validationLevel and
// validationAction as they apply (defaults "strict" and "error").
func (c *Collection) Validator() (bsoncore.Document, string, string) {
	level, action := c.validationLevel, c.validationAction
	if level == "" {
		level = "strict"
	}
	if action == "" {
		action = "error"
	}
	return c.validatorDoc, level, action
}

// Validate applies the collection's validator to a document about to be
// written: doc is the new document, old the document it replaces (nil for
// inserts). It returns DocumentValidationFailure (121) with errInfo
// {failingDocumentId} when the write must be rejected, nil otherwise:
// validationLevel "off", action "warn", "moderate" updates of documents that
// did not match before, and bypass all let the write through. errInfo's
// "details" explanation is not simulated.
func (c *Collection) Validate(doc, old bsoncore.Document, bypass bool) error {
	if bypass || c.validator == nil {
		return nil
	}
	_, level, action := c.Validator()
	if level == "off" || action == "warn" {
		return nil
	}
	if level == "moderate" && old != nil && !c.validator.Match(old) {
		return nil
	}
	if c.validator.Match(doc) {
		return nil
	}
	e := mongoerr.New(mongoerr.DocumentValidationFailure, "Document failed validation")
	id := doc.Lookup("_id")
	if id.Type == 0 {
		id = bsonkit.Null()
	}
	e.Extra = bsonkit.D("errInfo", bsonkit.DocValue(bsonkit.D("failingDocumentId", id)))
	return e
}
