package mongosim

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/auth"
	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// Access control (Options.Users): SCRAM conversations, authorization of
// every command, and the replies that depend on the user.

func init() {
	register(command{name: "saslStart", handler: handleSaslStart})
	register(command{name: "saslContinue", handler: handleSaslContinue})
	register(command{name: "logout", handler: handleLogout})
}

// sessionOf returns the connection's auth session, or an error when access
// control is off (mongod then has no users to authenticate as).
func sessionOf(req *request) (*auth.Session, error) {
	if req.conn == nil || req.conn.auth == nil {
		return nil, mongoerr.New(mongoerr.AuthenticationFailed, "Authentication failed.")
	}
	return req.conn.auth, nil
}

func handleSaslStart(_ context.Context, req *request) (bsoncore.Document, error) {
	se, err := sessionOf(req)
	if err != nil {
		return nil, err
	}
	return se.SaslStart(req.db, req.body)
}

func handleSaslContinue(_ context.Context, req *request) (bsoncore.Document, error) {
	se, err := sessionOf(req)
	if err != nil {
		return nil, err
	}
	return se.SaslContinue(req.db, req.body)
}

func handleLogout(_ context.Context, req *request) (bsoncore.Document, error) {
	if req.conn != nil && req.conn.auth != nil {
		req.conn.auth.Logout()
	}
	return nil, nil
}

// authorize checks req against the connection's user (access control on).
func (s *Server) authorize(req *request) error {
	if req.conn == nil || req.conn.auth == nil {
		return nil
	}
	coll := ""
	if v := req.arg(req.name); v.Type == bsoncore.TypeString {
		coll = v.StringValue()
	}
	checks := auth.CommandChecks(req.name, req.db, coll, req.changeStream)
	if req.name == "listDatabases" {
		if err := checkListDatabases(req); err != nil {
			return err
		}
	}
	return req.conn.auth.Authorize(req.name, req.db, req.body, checks)
}

// checkListDatabases: authorizedDatabases false needs the cluster-wide
// listDatabases action.
func checkListDatabases(req *request) error {
	se := req.conn.auth
	if !se.Authenticated() {
		return nil // Authorize reports it
	}
	if v := req.arg("authorizedDatabases"); v.Type == bsoncore.TypeBoolean && !v.Boolean() && !se.AllowedCluster("listDatabases") {
		return auth.NotAuthorized(req.db, req.body)
	}
	return nil
}

// filterListDatabases keeps the databases the user may see: all of them
// with the cluster listDatabases action (unless authorizedDatabases is
// true), else those the user has any privilege on. totalSize is the sum of
// what is listed.
func filterListDatabases(req *request, body bsoncore.Document) bsoncore.Document {
	if req.conn == nil || req.conn.auth == nil {
		return body
	}
	se := req.conn.auth
	explicit := req.arg("authorizedDatabases")
	if se.AllowedCluster("listDatabases") && !(explicit.Type == bsoncore.TypeBoolean && explicit.Boolean()) {
		return body
	}
	arr, err := body.LookupErr("databases")
	if err != nil || arr.Type != bsoncore.TypeArray {
		return body
	}
	vals, _ := arr.Array().Values()
	var kept []bsoncore.Value
	var total int64
	for _, v := range vals {
		if v.Type != bsoncore.TypeEmbeddedDocument {
			continue
		}
		d := v.Document()
		name, ok := d.Lookup("name").StringValueOK()
		if !ok || !hasPrivilegeOn(se, name) {
			continue
		}
		if n, ok := d.Lookup("sizeOnDisk").AsInt64OK(); ok {
			total += n
		}
		kept = append(kept, v)
	}
	var out bsonkit.Doc
	elems, _ := body.Elements()
	for _, e := range elems {
		switch e.Key() {
		case "databases":
			out.Append("databases", bsonkit.Array(kept...))
		case "totalSize":
			out.Append("totalSize", bsonkit.Int64(total))
		case "totalSizeMb":
			out.Append("totalSizeMb", bsonkit.Int64(total/(1024*1024)))
		default:
			out.Append(e.Key(), e.Value())
		}
	}
	return out.Bytes()
}

// hasPrivilegeOn: any privilege whose resource covers database db (or a
// collection in it), not counting cluster-only resources.
func hasPrivilegeOn(se *auth.Session, db string) bool {
	for _, p := range se.Privileges() {
		r := p.Resource
		switch {
		case r.AnyResource:
			return true
		case r.Cluster:
			continue
		case r.DB == db:
			return true
		case r.DB == "" && db != "local" && db != "config":
			return true
		}
	}
	return false
}

// connectionStatusBody is connectionStatus under access control.
func connectionStatusBody(req *request, showPrivileges bool) (bsoncore.Document, bool) {
	if req.conn == nil || req.conn.auth == nil {
		return nil, false
	}
	return req.conn.auth.ConnectionStatus(showPrivileges), true
}

// helloAuthFields appends saslSupportedMechs and speculativeAuthenticate
// to a hello reply when the client asked and access control is on.
func (s *Server) helloAuthFields(req *request, d *bsonkit.Doc) {
	if req.conn == nil || req.conn.auth == nil || s.authStore == nil {
		return
	}
	if v := req.arg("saslSupportedMechs"); v.Type == bsoncore.TypeString {
		if mechs, ok := s.authStore.SupportedMechs(v.StringValue()); ok {
			vals := make([]bsoncore.Value, len(mechs))
			for i, m := range mechs {
				vals[i] = bsonkit.String(m)
			}
			d.Append("saslSupportedMechs", bsonkit.Array(vals...))
		}
	}
	if v := req.arg("speculativeAuthenticate"); v.Type == bsoncore.TypeEmbeddedDocument {
		if reply, ok := req.conn.auth.Speculative(v.Document()); ok {
			d.Append("speculativeAuthenticate", bsonkit.DocValue(reply))
		}
	}
}
