package auth

import (
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func loggedIn(t *testing.T, store *Store, user, password, source string) *Session {
	t.Helper()
	sess := store.NewSession()
	if _, err := driverAuth(t, sess, ScramSHA256, user, password, source); err != nil {
		t.Fatal(err)
	}
	return sess
}

func TestReadOnlyVersusReadWrite(t *testing.T) {
	store := newTestStore(t)
	reader := loggedIn(t, store, "reader", "secret", "app")
	writer := loggedIn(t, store, "writer", "IXJ", "admin")
	root := loggedIn(t, store, "alice", "pencil", "admin")
	cases := []struct {
		sess     *Session
		action   string
		db, coll string
		want     bool
	}{
		{reader, "find", "app", "c", true},
		{reader, "changeStream", "app", "c", true},
		{reader, "listCollections", "app", "", true},
		{reader, "insert", "app", "c", false},
		{reader, "find", "other", "c", false},
		{reader, "find", "app", "system.js", true},
		{reader, "find", "app", "system.users", false},
		{writer, "insert", "app", "c", true},
		{writer, "update", "app", "c", true},
		{writer, "remove", "app", "c", true},
		{writer, "createIndex", "app", "c", true},
		{writer, "collMod", "app", "c", false},
		{writer, "bypassDocumentValidation", "app", "c", false},
		{writer, "insert", "other", "c", false},
		{writer, "find", "local", "oplog.rs", true}, // clusterMonitor reads local
		{root, "insert", "anything", "c", true},
		{root, "find", "local", "oplog.rs", true},
		{root, "collMod", "x", "y", true},
	}
	for _, c := range cases {
		if got := c.sess.Allowed(c.action, c.db, c.coll); got != c.want {
			name, _, _ := c.sess.User()
			t.Errorf("%s %s on %s.%s: %v, want %v", name, c.action, c.db, c.coll, got, c.want)
		}
	}
	if reader.AllowedCluster("listDatabases") || !writer.AllowedCluster("serverStatus") || !root.AllowedCluster("replSetGetStatus") {
		t.Fatal("cluster actions")
	}
	if !reader.CanSeeDatabase("app") || reader.CanSeeDatabase("other") || !writer.CanSeeDatabase("other") {
		t.Fatal("CanSeeDatabase")
	}
}

func TestAuthorize(t *testing.T) {
	store := newTestStore(t)
	anon := store.NewSession()
	body := bsonkit.D("insert", bsonkit.String("c"), "$db", bsonkit.String("app"))
	err := anon.Authorize("insert", "app", body, CommandChecks("insert", "app", "c", false))
	if me, ok := err.(*mongoerr.Error); !ok || me.Code != mongoerr.Unauthorized || me.Msg != "Command insert requires authentication" {
		t.Fatalf("anonymous: %v", err)
	}
	for _, cmd := range []string{"hello", "isMaster", "saslStart", "saslContinue", "ping", "buildInfo", "connectionStatus"} {
		if err := anon.Authorize(cmd, "admin", nil, nil); err != nil {
			t.Fatalf("%s without auth: %v", cmd, err)
		}
	}
	reader := loggedIn(t, store, "reader", "secret", "app")
	err = reader.Authorize("insert", "app", body, CommandChecks("insert", "app", "c", false))
	me, ok := err.(*mongoerr.Error)
	if !ok || me.Code != mongoerr.Unauthorized || !strings.HasPrefix(me.Msg, "not authorized on app to execute command {") {
		t.Fatalf("reader insert: %v", err)
	}
	if err := reader.Authorize("aggregate", "app", nil, CommandChecks("aggregate", "app", "c", true)); err != nil {
		t.Fatalf("reader change stream: %v", err)
	}
	if err := reader.Authorize("serverStatus", "admin", nil, CommandChecks("serverStatus", "admin", "", false)); err == nil {
		t.Fatal("reader serverStatus must be refused")
	}
	reader.Logout()
	if reader.Authenticated() {
		t.Fatal("logout")
	}
}

func TestConnectionStatusShapes(t *testing.T) {
	store := newTestStore(t)
	anon := store.NewSession().ConnectionStatus(true)
	if got := anon.Lookup("authInfo").Document(); strings.Join(docKeys(got), ",") != "authenticatedUsers,authenticatedUserRoles,authenticatedUserPrivileges" {
		t.Fatalf("anonymous authInfo %v", got)
	}
	if vals, _ := anon.Lookup("authInfo", "authenticatedUsers").Array().Values(); len(vals) != 0 {
		t.Fatal("anonymous users")
	}
	if keys := docKeys(store.NewSession().ConnectionStatus(false).Lookup("authInfo").Document()); len(keys) != 2 {
		t.Fatalf("without showPrivileges: %v", keys)
	}

	reader := loggedIn(t, store, "reader", "secret", "app")
	info := reader.ConnectionStatus(true).Lookup("authInfo").Document()
	users, _ := info.Lookup("authenticatedUsers").Array().Values()
	if len(users) != 1 || users[0].Document().Lookup("user").StringValue() != "reader" || users[0].Document().Lookup("db").StringValue() != "app" {
		t.Fatalf("users %v", users)
	}
	roles, _ := info.Lookup("authenticatedUserRoles").Array().Values()
	if len(roles) != 1 || roles[0].Document().Lookup("role").StringValue() != "read" {
		t.Fatalf("roles %v", roles)
	}
	privs, _ := info.Lookup("authenticatedUserPrivileges").Array().Values()
	if len(privs) != 2 {
		t.Fatalf("read role privileges: %d", len(privs))
	}
	p0 := privs[0].Document()
	if strings.Join(docKeys(p0), ",") != "resource,actions" {
		t.Fatalf("privilege keys %v", docKeys(p0))
	}
	res := p0.Lookup("resource").Document()
	if res.Lookup("db").StringValue() != "app" || res.Lookup("collection").StringValue() != "" {
		t.Fatalf("resource %v", res)
	}
	acts := strs(p0.Lookup("actions"))
	want := "changeStream,collStats,dbHash,dbStats,find,killCursors,listCollections,listIndexes,listSearchIndexes,planCacheRead"
	if strings.Join(acts, ",") != want {
		t.Fatalf("read actions %v", acts)
	}
	if privs[1].Document().Lookup("resource", "collection").StringValue() != "system.js" {
		t.Fatal("system.js privilege")
	}

	// readAnyDatabase: every normal namespace, listDatabases on the cluster,
	// system.js everywhere and time-series buckets.
	any := loggedIn(t, store, "only256", "pw", "admin")
	privs, _ = any.ConnectionStatus(true).Lookup("authInfo", "authenticatedUserPrivileges").Array().Values()
	var shapes []string
	for _, p := range privs {
		shapes = append(shapes, p.Document().Lookup("resource").String())
	}
	wantShapes := []string{`{"db": "","collection": ""}`, `{"cluster": true}`, `{"db": "","collection": "system.js"}`, `{"db": "","system_buckets": ""}`}
	if strings.Join(shapes, "|") != strings.Join(wantShapes, "|") {
		t.Fatalf("readAnyDatabase resources %v", shapes)
	}
	if acts := strs(privs[1].Document().Lookup("actions")); strings.Join(acts, ",") != "listDatabases" {
		t.Fatalf("cluster actions %v", acts)
	}

	// root has the cluster actions a sync tool's preflight needs.
	root := loggedIn(t, store, "alice", "pencil", "admin")
	for _, a := range []string{"listDatabases", "serverStatus", "replSetGetStatus", "appendOplogNote", "setFeatureCompatibilityVersion"} {
		if !root.AllowedCluster(a) {
			t.Errorf("root lacks %s", a)
		}
	}
	for _, a := range []string{"find", "insert", "update", "remove", "createCollection", "createIndex", "dropCollection",
		"dropIndex", "collMod", "bypassDocumentValidation", "changeStream", "listCollections", "listIndexes", "collStats"} {
		if !root.Allowed(a, "app", "c") {
			t.Errorf("root lacks %s", a)
		}
	}
}

func strs(v bsoncore.Value) []string {
	vals, _ := v.Array().Values()
	out := make([]string, len(vals))
	for i, x := range vals {
		out[i] = x.StringValue()
	}
	return out
}

func TestSessionConcurrentUse(t *testing.T) {
	store := newTestStore(t)
	sess := store.NewSession()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			_ = sess.ConnectionStatus(true)
			_ = sess.Allowed("find", "app", "c")
		}
	}()
	if _, err := driverAuth(t, sess, ScramSHA256, "reader", "secret", "app"); err != nil {
		t.Fatal(err)
	}
	<-done
}
