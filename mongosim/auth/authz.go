package auth

import (
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// Privileges are the authenticated user's merged privileges (nil when not
// authenticated).
func (se *Session) Privileges() []Privilege { return se.privileges() }

// Allowed reports whether the authenticated user may perform action on
// db.coll (coll "" for database-level actions).
func (se *Session) Allowed(action, db, coll string) bool {
	for _, p := range se.privileges() {
		if p.Resource.matches(db, coll) && has(p.Actions, action) {
			return true
		}
	}
	return false
}

// AllowedCluster reports whether the user may perform a cluster action.
func (se *Session) AllowedCluster(action string) bool {
	for _, p := range se.privileges() {
		if (p.Resource.Cluster || p.Resource.AnyResource) && has(p.Actions, action) {
			return true
		}
	}
	return false
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ConnectionStatus is the connectionStatus reply body (without ok).
func (se *Session) ConnectionStatus(showPrivileges bool) bsoncore.Document {
	se.mu.Lock()
	su := se.user
	se.mu.Unlock()
	var users, roles, privs []bsoncore.Value
	if su != nil {
		users = append(users, bsonkit.DocValue(bsonkit.D("user", bsonkit.String(su.user.Name), "db", bsonkit.String(su.user.DB))))
		for _, r := range su.user.Roles {
			roles = append(roles, bsonkit.DocValue(bsonkit.D("role", bsonkit.String(r.Name), "db", bsonkit.String(r.DB))))
		}
		for _, p := range su.privs {
			privs = append(privs, bsonkit.DocValue(p.Document()))
		}
	}
	info := bsonkit.Doc{
		{Key: "authenticatedUsers", Value: bsonkit.Array(users...)},
		{Key: "authenticatedUserRoles", Value: bsonkit.Array(roles...)},
	}
	if showPrivileges {
		info = append(info, bsonkit.Elem{Key: "authenticatedUserPrivileges", Value: bsonkit.Array(privs...)})
	}
	return bsonkit.D("authInfo", info.Value())
}

// noAuthCommands run without authentication (mongod's requiresAuth false).
var noAuthCommands = map[string]bool{
	"hello": true, "isMaster": true, "ismaster": true, "saslStart": true, "saslContinue": true,
	"authenticate": true, "logout": true, "ping": true, "buildInfo": true, "buildinfo": true,
	"connectionStatus": true,
}

// RequiresAuth reports whether a command needs an authenticated user.
func RequiresAuth(command string) bool { return !noAuthCommands[command] }

// RequiresAuthError is Unauthorized for a command run before authenticating.
func RequiresAuthError(command string) *mongoerr.Error {
	return mongoerr.New(mongoerr.Unauthorized, "Command %s requires authentication", command)
}

// NotAuthorized is Unauthorized for a command the user lacks privileges for.
func NotAuthorized(db string, cmd bsoncore.Document) *mongoerr.Error {
	return mongoerr.New(mongoerr.Unauthorized, "not authorized on %s to execute command %s", db, cmd.String())
}

// Check is the privilege a command needs: an action on a namespace or on
// the cluster.
type Check struct {
	Action  string
	DB      string
	Coll    string
	Cluster bool
}

// CommandChecks maps the commands mongosim serves to the privileges they
// need (db is the command's database, coll its target collection or "").
// Commands absent from the map need only authentication (ping, getMore of
// one's own cursor, endSessions, transactions…).
func CommandChecks(command, db, coll string, changeStream bool) []Check {
	ns := func(actions ...string) []Check {
		out := make([]Check, len(actions))
		for i, a := range actions {
			out[i] = Check{Action: a, DB: db, Coll: coll}
		}
		return out
	}
	cluster := func(a string) []Check { return []Check{{Action: a, Cluster: true}} }
	switch command {
	case "find", "count", "distinct":
		return ns("find")
	case "aggregate":
		if changeStream {
			return ns("changeStream", "find")
		}
		return ns("find")
	case "insert":
		return ns("insert")
	case "update":
		return ns("update")
	case "delete":
		return ns("remove")
	case "findAndModify", "findandmodify":
		return ns("find", "update")
	case "listCollections":
		return ns("listCollections")
	case "listIndexes":
		return ns("listIndexes")
	case "collStats", "dataSize":
		return ns("collStats")
	case "dbStats":
		return ns("dbStats")
	case "dbHash":
		return ns("dbHash")
	case "killCursors":
		return ns("killCursors")
	case "create":
		return ns("createCollection")
	case "drop":
		return ns("dropCollection")
	case "createIndexes":
		return ns("createIndex")
	case "dropIndexes", "deleteIndexes":
		return ns("dropIndex")
	case "collMod":
		return ns("collMod")
	case "dropDatabase":
		return ns("dropDatabase")
	case "renameCollection":
		return ns("renameCollectionSameDB")
	case "listDatabases":
		return nil // filtered to what the user may see instead (authorizedDatabases)
	case "serverStatus", "replSetGetStatus", "hostInfo", "getCmdLineOpts", "getParameter", "getLog", "top",
		"replSetGetConfig", "connPoolStats", "appendOplogNote", "setParameter", "shutdown", "fsync":
		return cluster(command)
	case "currentOp":
		return cluster("inprog")
	case "killOp":
		return cluster("killop")
	case "configureFailPoint", "waitForFailPoint":
		return nil
	}
	return nil
}

// Authorize checks a command. With no authenticated user it fails with
// "requires authentication"; without a needed privilege, with "not
// authorized on <db> to execute command <cmd>".
func (se *Session) Authorize(command, db string, body bsoncore.Document, checks []Check) error {
	if !RequiresAuth(command) {
		return nil
	}
	if !se.Authenticated() {
		return RequiresAuthError(command)
	}
	for _, c := range checks {
		ok := false
		if c.Cluster {
			ok = se.AllowedCluster(c.Action)
		} else {
			ok = se.Allowed(c.Action, c.DB, c.Coll)
		}
		if !ok {
			return NotAuthorized(db, body)
		}
	}
	return nil
}

// CanSeeDatabase reports whether listDatabases (without the cluster
// action) should list db for this user: any privilege on it.
func (se *Session) CanSeeDatabase(db string) bool {
	if se.AllowedCluster("listDatabases") {
		return true
	}
	for _, p := range se.privileges() {
		r := p.Resource
		if r.AnyResource || (!r.Cluster && (r.DB == db || (r.DB == "" && db != "local" && db != "config"))) {
			return true
		}
	}
	return false
}
