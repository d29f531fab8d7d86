package failpoint

import (
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// Command is the command being run, as failCommand's filters see it.
type Command struct {
	Name       string   // the command's name as registered ("hello")
	Aliases    []string // other names of the same command ("isMaster", "ismaster")
	AppName    string   // the connection's client metadata application.name
	NS         string   // the namespace it targets ("db.coll", or "db.$cmd")
	ThreadName string   // the connection's thread name ("conn12")
	Internal   bool     // run by the server itself rather than for a client
}

// Action is what a fired failCommand asks of the server, in this order:
// block, then close the connection (no reply), else fail with Err, else
// run the command. OverrideLabels applies to whatever error the command
// then returns: its errorLabels are exactly Labels.
type Action struct {
	Block           time.Duration
	CloseConnection bool
	Err             *mongoerr.Error
	Labels          []string
	OverrideLabels  bool
}

// FailMessage is the errmsg of errors failCommand injects.
const FailMessage = "Failing command via 'failCommand' failpoint"

// FailCommand evaluates the failCommand fail point for one command, as
// mongod does before running it. It returns nil when the point does not
// fire; an error when the fail point's data is invalid (the command then
// fails with it).
func (r *Registry) FailCommand(c Command) (*Action, error) {
	p := r.failCommand
	if !p.Enabled() {
		return nil, nil
	}
	var closeConn, block bool
	var code int64
	var hasCode bool
	data, fired := p.Evaluate(func(data bsoncore.Document) bool {
		closeConn = boolField(data, "closeConnection")
		block = boolField(data, "blockConnection")
		code, hasCode = intField(data, "errorCode")
		return matches(data, c) && (closeConn || block || hasCode)
	})
	if !fired {
		return nil, nil
	}
	a := &Action{}
	if v, err := data.LookupErr("errorLabels"); err == nil && v.Type == bsoncore.TypeArray {
		a.OverrideLabels = true
		a.Labels = stringList(v)
	}
	if block {
		ms, ok := intField(data, "blockTimeMS")
		if !ok {
			return nil, mongoerr.New(mongoerr.InvalidOptions, "must specify 'blockTimeMS' when 'blockConnection' is true")
		}
		if ms < 0 {
			return nil, mongoerr.New(mongoerr.InvalidOptions, "'blockTimeMS' must be non-negative")
		}
		a.Block = time.Duration(ms) * time.Millisecond
	}
	if closeConn {
		a.CloseConnection = true
		a.Err = &mongoerr.Error{Code: mongoerr.Location50985, Msg: FailMessage}
		return a, nil
	}
	extra, hasExtra, err := docField(data, "errorExtraInfo")
	if err != nil {
		return nil, err
	}
	if hasCode || hasExtra {
		if !codeHasExtraInfo(int32(code)) {
			// mongod parses errorExtraInfo with the code's ErrorExtraInfo
			// type; codes without one drop it.
			extra = nil
		}
		a.Err = &mongoerr.Error{Code: int32(code), Msg: FailMessage, Extra: extra}
		if a.OverrideLabels {
			a.Err.Labels = append([]string{}, a.Labels...)
		}
	}
	return a, nil
}

// codeHasExtraInfo: the codes whose errors carry extra fields in the reply
// (DuplicateKey's keyPattern/keyValue, DocumentValidationFailure's errInfo).
func codeHasExtraInfo(code int32) bool {
	return code == mongoerr.DuplicateKey || code == mongoerr.DocumentValidationFailure
}

// WriteConcernError evaluates failCommand after a command that supports
// write concern ran: when it fires, the reply gains writeConcernError
// (the data's document as given) and, if the data has errorLabels, those
// labels.
func (r *Registry) WriteConcernError(c Command) (wce bsoncore.Document, labels []string, hasLabels bool, fired bool) {
	p := r.failCommand
	if !p.Enabled() {
		return nil, nil, false, false
	}
	data, fired := p.Evaluate(func(data bsoncore.Document) bool {
		v, err := data.LookupErr("writeConcernError")
		return err == nil && v.Type == bsoncore.TypeEmbeddedDocument && matches(data, c)
	})
	if !fired {
		return nil, nil, false, false
	}
	wce = data.Lookup("writeConcernError").Document()
	if v, err := data.LookupErr("errorLabels"); err == nil && v.Type == bsoncore.TypeArray {
		labels, hasLabels = stringList(v), true
	}
	return wce, labels, hasLabels, true
}

// matches applies failCommand's filters (shouldActivateFailCommandFailPoint).
func matches(data bsoncore.Document, c Command) bool {
	if c.Name == "configureFailPoint" { // never failed, even if listed
		return false
	}
	if c.Internal && !boolField(data, "failInternalCommands") && !boolField(data, "failLocalClients") {
		return false
	}
	if v, err := data.LookupErr("threadName"); err == nil && (v.Type != bsoncore.TypeString || v.StringValue() != c.ThreadName) {
		return false
	}
	if v, err := data.LookupErr("appName"); err == nil && (v.Type != bsoncore.TypeString || v.StringValue() != c.AppName) {
		return false
	}
	if v, err := data.LookupErr("namespace"); err == nil && (v.Type != bsoncore.TypeString || v.StringValue() != c.NS) {
		return false
	}
	if _, err := data.LookupErr("failAllCommands"); err == nil {
		return true
	}
	v, err := data.LookupErr("failCommands")
	if err != nil || (v.Type != bsoncore.TypeArray && v.Type != bsoncore.TypeEmbeddedDocument) {
		return false
	}
	vals, _ := bsoncore.Document(v.Data).Values()
	for _, n := range vals {
		if n.Type != bsoncore.TypeString {
			continue
		}
		name := n.StringValue()
		if name == c.Name {
			return true
		}
		for _, a := range c.Aliases {
			if name == a {
				return true
			}
		}
	}
	return false
}

func boolField(d bsoncore.Document, key string) bool {
	v, err := d.LookupErr(key)
	return err == nil && v.Type == bsoncore.TypeBoolean && v.Boolean()
}

func intField(d bsoncore.Document, key string) (int64, bool) {
	v, err := d.LookupErr(key)
	if err != nil {
		return 0, false
	}
	return integer(v)
}

func docField(d bsoncore.Document, key string) (bsoncore.Document, bool, error) {
	v, err := d.LookupErr(key)
	if err != nil {
		return nil, false, nil
	}
	if v.Type != bsoncore.TypeEmbeddedDocument {
		return nil, false, mongoerr.New(mongoerr.TypeMismatch, "\"%s\" had the wrong type. Expected object, found %s", key, typeName(v.Type))
	}
	return v.Document(), true, nil
}

func stringList(v bsoncore.Value) []string {
	vals, _ := bsoncore.Document(v.Data).Values()
	out := make([]string, 0, len(vals))
	for _, x := range vals {
		if x.Type == bsoncore.TypeString {
			out = append(out, x.StringValue())
		}
	}
	return out
}
