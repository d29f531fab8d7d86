package conformance

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/xdg-go/scram"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"

	"github.com/mlink-dev/mlink/mongosim"
	"github.com/mlink-dev/mlink/mongosim/auth"
	"github.com/mlink-dev/mlink/mongosim/simtest"
	"github.com/mlink-dev/mlink/mongosim/wire"
)

// Access-control tests start their own server with users, so they run on
// mongosim only (a real deployment's users are unknown here).

func authServer(t *testing.T) *mongosim.Server {
	t.Helper()
	if isReal() {
		t.Skip("starts its own mongosim server with users")
	}
	return simtest.StartWithUsers(t,
		auth.User{Name: "root", Password: "rootpw", Roles: []auth.Role{{Name: "root", DB: "admin"}}},
		auth.User{Name: "reader", Password: "readpw", Roles: []auth.Role{{Name: "read", DB: "app"}}},
		auth.User{Name: "writer", Password: "writepw", Roles: []auth.Role{{Name: "readWrite", DB: "app"}, {Name: "read", DB: "other"}}},
		auth.User{Name: "sha1only", Password: "pw1", Mechanisms: []string{auth.ScramSHA1}, Roles: []auth.Role{{Name: "readAnyDatabase", DB: "admin"}}},
		auth.User{Name: "monitor", Password: "monpw", Roles: []auth.Role{{Name: "clusterMonitor", DB: "admin"}}},
		auth.User{Name: "appuser", DB: "app", Password: "apppw", Roles: []auth.Role{{Name: "readWrite", DB: "app"}}},
	)
}

// userClient connects as user (after a successful handshake) with extra
// URI options.
func userClient(t *testing.T, s *mongosim.Server, user, password string, uriOpts ...string) *mongo.Client {
	t.Helper()
	c, err := mongo.Connect(options.Client().ApplyURI(simtest.UserURI(s.URI(), user, password, uriOpts...)).SetTimeout(20 * time.Second).SetHeartbeatInterval(simtest.HeartbeatInterval))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c
}

// authStatus returns connectionStatus with showPrivileges.
func authStatus(t *testing.T, c *mongo.Client) bson.Raw {
	t.Helper()
	raw, err := c.Database("admin").RunCommand(ctxT(t), bson.D{{Key: "connectionStatus", Value: 1}, {Key: "showPrivileges", Value: true}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func authenticatedAs(t *testing.T, c *mongo.Client) string {
	t.Helper()
	users, err := authStatus(t, c).LookupErr("authInfo", "authenticatedUsers")
	if err != nil {
		t.Fatal(err)
	}
	vals, _ := users.Array().Values()
	if len(vals) != 1 {
		return ""
	}
	d := vals[0].Document()
	return d.Lookup("db").StringValue() + "." + d.Lookup("user").StringValue()
}

func TestAuthScramSHA256Default(t *testing.T) {
	s := authServer(t)
	c := userClient(t, s, "root", "rootpw")
	if got := authenticatedAs(t, c); got != "admin.root" {
		t.Fatalf("authenticated as %q", got)
	}
	if _, err := c.Database("app").Collection("c").InsertOne(ctxT(t), bson.D{{Key: "_id", Value: 1}}); err != nil {
		t.Fatalf("root insert: %v", err)
	}
}

func TestAuthScramSHA256Explicit(t *testing.T) {
	s := authServer(t)
	c := userClient(t, s, "writer", "writepw", "authMechanism=SCRAM-SHA-256")
	if got := authenticatedAs(t, c); got != "admin.writer" {
		t.Fatalf("authenticated as %q", got)
	}
}

func TestAuthScramSHA1(t *testing.T) {
	s := authServer(t)
	c := userClient(t, s, "sha1only", "pw1", "authMechanism=SCRAM-SHA-1")
	if got := authenticatedAs(t, c); got != "admin.sha1only" {
		t.Fatalf("authenticated as %q", got)
	}
	// The default mechanism negotiates SCRAM-SHA-1 for a SHA-1-only user.
	d := userClient(t, s, "sha1only", "pw1")
	if got := authenticatedAs(t, d); got != "admin.sha1only" {
		t.Fatalf("negotiated: authenticated as %q", got)
	}
}

func TestAuthSourceOtherDatabase(t *testing.T) {
	s := authServer(t)
	c := userClient(t, s, "appuser", "apppw", "authSource=app")
	if got := authenticatedAs(t, c); got != "app.appuser" {
		t.Fatalf("authenticated as %q", got)
	}
}

// authError connects with bad credentials and returns the handshake error.
func authError(t *testing.T, s *mongosim.Server, user, password string, uriOpts ...string) error {
	t.Helper()
	c := userClient(t, s, user, password, uriOpts...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.Ping(ctx, nil)
	if err == nil {
		t.Fatalf("%s with password %q authenticated", user, password)
	}
	return err
}

// wantAuthFailed asserts a handshake failed with AuthenticationFailed (18).
func wantAuthFailed(t *testing.T, err error) {
	t.Helper()
	var de driver.Error
	if errors.As(err, &de) {
		if de.Code != 18 || de.Name != "AuthenticationFailed" {
			t.Fatalf("want AuthenticationFailed (18), got %d %s: %v", de.Code, de.Name, err)
		}
		return
	}
	if !strings.Contains(err.Error(), "(AuthenticationFailed) Authentication failed.") {
		t.Fatalf("want AuthenticationFailed, got %T: %v", err, err)
	}
}

func TestAuthWrongPasswordFails(t *testing.T) {
	s := authServer(t)
	wantAuthFailed(t, authError(t, s, "root", "wrong"))
	wantAuthFailed(t, authError(t, s, "root", "wrong", "authMechanism=SCRAM-SHA-1"))
	wantAuthFailed(t, authError(t, s, "nobody", "pw", "authMechanism=SCRAM-SHA-256"))
	// A user without SHA-256 credentials cannot use SHA-256.
	wantAuthFailed(t, authError(t, s, "sha1only", "pw1", "authMechanism=SCRAM-SHA-256"))
	// The right user in the wrong authentication database.
	wantAuthFailed(t, authError(t, s, "appuser", "apppw", "authSource=admin", "authMechanism=SCRAM-SHA-256"))
}

func TestAuthUnauthenticatedCommands(t *testing.T) {
	s := authServer(t)
	c := simtest.Client(t, s.URI())
	db := c.Database("app")
	// The handshake and a few commands need no user.
	for _, cmd := range []bson.D{{{Key: "ping", Value: 1}}, {{Key: "hello", Value: 1}}, {{Key: "buildInfo", Value: 1}}, {{Key: "connectionStatus", Value: 1}}} {
		if err := c.Database("admin").RunCommand(ctxT(t), cmd).Err(); err != nil {
			t.Fatalf("%v without a user: %v", cmd, err)
		}
	}
	err := db.RunCommand(ctxT(t), bson.D{{Key: "find", Value: "c"}}).Err()
	wantCode(t, err, 13)
	if ce := cmdError(t, err); ce.Message != "Command find requires authentication" {
		t.Fatalf("message %q", ce.Message)
	}
	wantCode(t, db.RunCommand(ctxT(t), bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{bson.D{}}}}).Err(), 13)
	wantCode(t, c.Database("admin").RunCommand(ctxT(t), bson.D{{Key: "listDatabases", Value: 1}}).Err(), 13)
	wantCode(t, c.Database("admin").RunCommand(ctxT(t), bson.D{{Key: "serverStatus", Value: 1}}).Err(), 13)
	if got := authenticatedAs(t, c); got != "" {
		t.Fatalf("unauthenticated connectionStatus shows %q", got)
	}
}

func TestAuthReadOnlyUser(t *testing.T) {
	s := authServer(t)
	root := userClient(t, s, "root", "rootpw")
	if _, err := root.Database("app").Collection("c").InsertOne(ctxT(t), bson.D{{Key: "_id", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	c := userClient(t, s, "reader", "readpw")
	coll := c.Database("app").Collection("c")
	if n, err := coll.CountDocuments(ctxT(t), bson.D{}); err != nil || n != 1 {
		t.Fatalf("reader count %d %v", n, err)
	}
	_, err := coll.InsertOne(ctxT(t), bson.D{{Key: "_id", Value: 2}})
	wantCode(t, err, 13)
	if ce := cmdError(t, err); !strings.HasPrefix(ce.Message, "not authorized on app to execute command {") || !strings.Contains(ce.Message, "insert") {
		t.Fatalf("message %q", ce.Message)
	}
	_, err = coll.DeleteMany(ctxT(t), bson.D{})
	wantCode(t, err, 13)
	wantCode(t, c.Database("app").Collection("c").Drop(ctxT(t)), 13)
	// No privileges on other databases at all.
	_, err = c.Database("other").Collection("c").CountDocuments(ctxT(t), bson.D{})
	wantCode(t, err, 13)
}

func TestAuthConnectionStatusPrivileges(t *testing.T) {
	s := authServer(t)
	c := userClient(t, s, "writer", "writepw")
	raw := authStatus(t, c)
	roles := lookup(t, raw, "authInfo", "authenticatedUserRoles").Array()
	vals, _ := roles.Values()
	if len(vals) != 2 || vals[0].Document().Lookup("role").StringValue() != "readWrite" || vals[0].Document().Lookup("db").StringValue() != "app" {
		t.Fatalf("roles %s", roles)
	}
	privs, _ := lookup(t, raw, "authInfo", "authenticatedUserPrivileges").Array().Values()
	actionsOn := func(db string) map[string]bool {
		out := map[string]bool{}
		for _, p := range privs {
			res := p.Document().Lookup("resource").Document()
			if d, ok := res.Lookup("db").StringValueOK(); ok && d == db && res.Lookup("collection").StringValue() == "" {
				acts, _ := p.Document().Lookup("actions").Array().Values()
				for _, a := range acts {
					out[a.StringValue()] = true
				}
			}
		}
		return out
	}
	app, other := actionsOn("app"), actionsOn("other")
	for _, a := range []string{"find", "insert", "update", "remove", "changeStream", "listCollections", "createIndex", "dropCollection"} {
		if !app[a] {
			t.Errorf("readWrite on app lacks %s: %v", a, app)
		}
	}
	if !other["find"] || !other["changeStream"] || other["insert"] || other["remove"] {
		t.Errorf("read on other: %v", other)
	}
	// Without showPrivileges the list is absent.
	raw, err := c.Database("admin").RunCommand(ctxT(t), bson.D{{Key: "connectionStatus", Value: 1}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.LookupErr("authInfo", "authenticatedUserPrivileges"); err == nil {
		t.Fatalf("privileges without showPrivileges: %s", raw)
	}
}

func listedDatabases(t *testing.T, c *mongo.Client, filterAuthorized *bool) []string {
	t.Helper()
	cmd := bson.D{{Key: "listDatabases", Value: 1}, {Key: "nameOnly", Value: true}}
	if filterAuthorized != nil {
		cmd = append(cmd, bson.E{Key: "authorizedDatabases", Value: *filterAuthorized})
	}
	raw, err := c.Database("admin").RunCommand(ctxT(t), cmd).Raw()
	if err != nil {
		t.Fatal(err)
	}
	vals, _ := lookup(t, raw, "databases").Array().Values()
	var names []string
	for _, v := range vals {
		names = append(names, v.Document().Lookup("name").StringValue())
	}
	return names
}

func TestAuthListDatabasesFiltered(t *testing.T) {
	s := authServer(t)
	root := userClient(t, s, "root", "rootpw")
	for _, db := range []string{"app", "other", "secret"} {
		if _, err := root.Database(db).Collection("c").InsertOne(ctxT(t), bson.D{{Key: "x", Value: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	all := listedDatabases(t, root, nil)
	if strings.Join(all, ",") != "app,other,secret" && !strings.Contains(strings.Join(all, ","), "secret") {
		t.Fatalf("root sees %v", all)
	}
	writer := userClient(t, s, "writer", "writepw")
	if got := strings.Join(listedDatabases(t, writer, nil), ","); got != "app,other" {
		t.Fatalf("writer sees %q, want app,other", got)
	}
	yes, no := true, false
	if got := strings.Join(listedDatabases(t, writer, &yes), ","); got != "app,other" {
		t.Fatalf("writer with authorizedDatabases true sees %q", got)
	}
	err := writer.Database("admin").RunCommand(ctxT(t), bson.D{{Key: "listDatabases", Value: 1}, {Key: "authorizedDatabases", Value: false}}).Err()
	wantCode(t, err, 13)
	// clusterMonitor has the cluster-wide listDatabases action: it sees all.
	monitor := userClient(t, s, "monitor", "monpw")
	if got := listedDatabases(t, monitor, &no); len(got) != len(all) {
		t.Fatalf("clusterMonitor sees %v, want %v", got, all)
	}
	// totalSize sums only the listed databases.
	raw, err := writer.Database("admin").RunCommand(ctxT(t), bson.D{{Key: "listDatabases", Value: 1}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	vals, _ := lookup(t, raw, "databases").Array().Values()
	for _, v := range vals {
		sum += v.Document().Lookup("sizeOnDisk").AsInt64()
	}
	if got := lookup(t, raw, "totalSize").AsInt64(); got != sum {
		t.Fatalf("totalSize %d, sum of listed %d", got, sum)
	}
}

func TestAuthHelloSaslSupportedMechs(t *testing.T) {
	s := authServer(t)
	c := simtest.Client(t, s.URI())
	mechs := func(user string) []string {
		raw, err := c.Database("admin").RunCommand(ctxT(t), bson.D{{Key: "hello", Value: 1}, {Key: "saslSupportedMechs", Value: user}}).Raw()
		if err != nil {
			t.Fatal(err)
		}
		v, err := raw.LookupErr("saslSupportedMechs")
		if err != nil {
			return nil
		}
		vals, _ := v.Array().Values()
		var out []string
		for _, x := range vals {
			out = append(out, x.StringValue())
		}
		return out
	}
	if got := strings.Join(mechs("admin.root"), ","); got != "SCRAM-SHA-1,SCRAM-SHA-256" {
		t.Fatalf("root mechanisms %q", got)
	}
	if got := strings.Join(mechs("admin.sha1only"), ","); got != "SCRAM-SHA-1" {
		t.Fatalf("sha1only mechanisms %q", got)
	}
	if got := mechs("admin.nobody"); got != nil {
		t.Fatalf("unknown user has mechanisms %v", got)
	}
}

func TestAuthSpeculativeAuthentication(t *testing.T) {
	s := authServer(t)
	app := "speculative-" + simtest.DBName(t)
	c := userClient(t, s, "root", "rootpw", "appName="+app)
	if err := c.Ping(ctxT(t), nil); err != nil {
		t.Fatal(err)
	}
	// SCRAM-SHA-256 starts inside the handshake's hello: every connection
	// authenticates with saslContinue alone, never saslStart.
	counts := s.CommandCounts()[app]
	if counts["saslStart"] != 0 || counts["saslContinue"] == 0 {
		t.Fatalf("commands %v", counts)
	}
	// SCRAM-SHA-1 named explicitly is not speculative in the driver.
	app1 := app + "-sha1"
	d := userClient(t, s, "root", "rootpw", "appName="+app1, "authMechanism=SCRAM-SHA-1")
	if err := d.Ping(ctxT(t), nil); err != nil {
		t.Fatal(err)
	}
	if counts := s.CommandCounts()[app1]; counts["saslContinue"] == 0 {
		t.Fatalf("sha1 commands %v", counts)
	}
}

func TestAuthLogout(t *testing.T) {
	s := authServer(t)
	raw := dialRawAddr(t, s.Addr())
	conv := scramConversation(t, raw, "root", "rootpw")
	if !conv {
		t.Fatal("raw SCRAM conversation failed")
	}
	reply := raw.command(t, bson.D{{Key: "find", Value: "c"}, {Key: "$db", Value: "app"}})
	if lookup(t, reply, "ok").Double() != 1 {
		t.Fatalf("find after auth: %s", reply)
	}
	raw.command(t, bson.D{{Key: "logout", Value: 1}, {Key: "$db", Value: "admin"}})
	reply = raw.command(t, bson.D{{Key: "find", Value: "c"}, {Key: "$db", Value: "app"}})
	if lookup(t, reply, "code").Int32() != 13 {
		t.Fatalf("find after logout: %s", reply)
	}
}

func TestAuthSaslErrors(t *testing.T) {
	s := authServer(t)
	raw := dialRawAddr(t, s.Addr())
	reply := raw.command(t, bson.D{{Key: "saslStart", Value: 1}, {Key: "mechanism", Value: "PLAIN"}, {Key: "payload", Value: bson.Binary{Data: []byte("x")}}, {Key: "$db", Value: "admin"}})
	if lookup(t, reply, "code").Int32() != 334 || lookup(t, reply, "codeName").StringValue() != "MechanismUnavailable" {
		t.Fatalf("PLAIN: %s", reply)
	}
	reply = raw.command(t, bson.D{{Key: "saslContinue", Value: 1}, {Key: "conversationId", Value: 1}, {Key: "payload", Value: bson.Binary{Data: []byte("x")}}, {Key: "$db", Value: "admin"}})
	if lookup(t, reply, "code").Int32() != 17 {
		t.Fatalf("saslContinue without saslStart: %s", reply)
	}
}

// rawSession is a bare connection to a server of the test's own.
type rawSession struct {
	nc    net.Conn
	reqID int32
}

func dialRawAddr(t *testing.T, addr string) *rawSession {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawSession{nc: nc}
}

// command sends one OP_MSG and returns the reply body.
func (r *rawSession) command(t *testing.T, cmd bson.D) bson.Raw {
	t.Helper()
	r.reqID++
	if _, err := r.nc.Write(wire.AppendMsg(nil, r.reqID, 0, 0, bsoncore.Document(mustMarshal(t, cmd)))); err != nil {
		t.Fatal(err)
	}
	_, body, err := wire.ReadMessage(r.nc, nil)
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	m, err := wire.ParseMsg(body)
	if err != nil {
		t.Fatal(err)
	}
	return bson.Raw(m.Body)
}

// scramConversation authenticates r as user with SCRAM-SHA-256 through
// saslStart/saslContinue, as a driver does without speculation.
func scramConversation(t *testing.T, r *rawSession, user, password string) bool {
	t.Helper()
	client, err := scram.SHA256.NewClient(user, password, "")
	if err != nil {
		t.Fatal(err)
	}
	conv := client.NewConversation()
	msg, err := conv.Step("")
	if err != nil {
		t.Fatal(err)
	}
	reply := r.command(t, bson.D{{Key: "saslStart", Value: 1}, {Key: "mechanism", Value: "SCRAM-SHA-256"},
		{Key: "payload", Value: bson.Binary{Data: []byte(msg)}}, {Key: "$db", Value: "admin"}})
	for i := 0; i < 3; i++ {
		if lookup(t, reply, "ok").Double() != 1 {
			t.Logf("sasl reply %s", reply)
			return false
		}
		_, payload := lookup(t, reply, "payload").Binary()
		if lookup(t, reply, "done").Boolean() {
			return conv.Valid()
		}
		next, err := conv.Step(string(payload))
		if err != nil {
			t.Logf("client step: %v", err)
			return false
		}
		reply = r.command(t, bson.D{{Key: "saslContinue", Value: 1}, {Key: "conversationId", Value: lookup(t, reply, "conversationId").Int32()},
			{Key: "payload", Value: bson.Binary{Data: []byte(next)}}, {Key: "$db", Value: "admin"}})
	}
	return false
}

func TestAuthChangeStreamPrivileges(t *testing.T) {
	s := authServer(t)
	root := userClient(t, s, "root", "rootpw")
	if err := root.Database("app").CreateCollection(ctxT(t), "c"); err != nil {
		t.Fatal(err)
	}
	// read on app: a collection stream works.
	reader := userClient(t, s, "reader", "readpw")
	cs, err := reader.Database("app").Collection("c").Watch(ctxT(t), mongo.Pipeline{})
	if err != nil {
		t.Fatalf("reader watch: %v", err)
	}
	_ = cs.Close(context.Background())
	// No privilege on other databases, nor on the whole cluster.
	_, err = reader.Database("secret").Collection("c").Watch(ctxT(t), mongo.Pipeline{})
	wantCode(t, err, 13)
	_, err = reader.Watch(ctxT(t), mongo.Pipeline{})
	wantCode(t, err, 13)
	// readAnyDatabase covers a cluster-wide stream.
	any := userClient(t, s, "sha1only", "pw1")
	cs, err = any.Watch(ctxT(t), mongo.Pipeline{})
	if err != nil {
		t.Fatalf("readAnyDatabase cluster watch: %v", err)
	}
	_ = cs.Close(context.Background())
}
