package conformance

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestPing(t *testing.T) {
	r := runCmd(t, suite.client.Database("admin"), bson.D{{Key: "ping", Value: 1}})
	if got := keys(t, r); got[0] != "ok" || lookup(t, r, "ok").Double() != 1 {
		t.Fatalf("ping reply %s", r)
	}
}

func TestUnknownCommand(t *testing.T) {
	err := cmdErr(t, newDB(t), bson.D{{Key: "frobnicateMongosim", Value: 1}})
	wantCode(t, err, 59)
	if !strings.Contains(err.Error(), "no such command: 'frobnicateMongosim'") {
		t.Fatalf("message: %v", err)
	}
}

func TestCommandNamesAreCaseSensitive(t *testing.T) {
	wantCode(t, cmdErr(t, suite.client.Database("admin"), bson.D{{Key: "PING", Value: 1}}), 59)
	wantCode(t, cmdErr(t, suite.client.Database("admin"), bson.D{{Key: "Hello", Value: 1}}), 59)
}

func TestErrorReplyShape(t *testing.T) {
	raw, err := suite.client.Database("admin").RunCommand(ctxT(t), bson.D{{Key: "noSuchCommandX", Value: 1}}).Raw()
	if err == nil {
		t.Fatal("want error")
	}
	k := keys(t, raw)
	if len(k) < 4 || k[0] != "ok" || k[1] != "errmsg" || k[2] != "code" || k[3] != "codeName" {
		t.Fatalf("error reply field order %v", k)
	}
	if lookup(t, raw, "ok").Double() != 0 || lookup(t, raw, "codeName").StringValue() != "CommandNotFound" {
		t.Fatalf("error reply %s", raw)
	}
}

func TestBuildInfo(t *testing.T) {
	r := runCmd(t, suite.client.Database("admin"), bson.D{{Key: "buildInfo", Value: 1}})
	version := lookup(t, r, "version").StringValue()
	arr, _ := lookup(t, r, "versionArray").Array().Values()
	if len(arr) != 4 {
		t.Fatalf("versionArray %v", arr)
	}
	parts := strings.Split(version, ".")
	for i := 0; i < 2; i++ {
		if parts[i] != strconv.Itoa(int(arr[i].Int32())) {
			t.Fatalf("version %q vs versionArray %v", version, arr)
		}
	}
	if lookup(t, r, "bits").AsInt64() != 64 {
		t.Error("bits != 64")
	}
	if lookup(t, r, "maxBsonObjectSize").Int32() != 16777216 {
		t.Error("maxBsonObjectSize")
	}
	if lookup(t, r, "gitVersion").Type != bson.TypeString {
		t.Error("gitVersion not a string")
	}
	if lookup(t, r, "modules").Type != bson.TypeArray {
		t.Error("modules not an array")
	}
	// buildinfo is accepted in lower case too, on any database.
	runCmd(t, newDB(t), bson.D{{Key: "buildinfo", Value: 1}})
}

func TestGetParameterFCV(t *testing.T) {
	admin := suite.client.Database("admin")
	r := runCmd(t, admin, bson.D{{Key: "getParameter", Value: 1}, {Key: "featureCompatibilityVersion", Value: 1}})
	fcv := lookup(t, r, "featureCompatibilityVersion", "version").StringValue()
	bi := runCmd(t, admin, bson.D{{Key: "buildInfo", Value: 1}})
	if !strings.HasPrefix(lookup(t, bi, "version").StringValue(), fcv+".") {
		t.Fatalf("fcv %q does not match version %s", fcv, lookup(t, bi, "version"))
	}
	all := runCmd(t, admin, bson.D{{Key: "getParameter", Value: "*"}})
	if lookup(t, all, "featureCompatibilityVersion", "version").StringValue() != fcv {
		t.Fatal("getParameter * lacks featureCompatibilityVersion")
	}
	wantCode(t, cmdErr(t, newDB(t), bson.D{{Key: "getParameter", Value: 1}, {Key: "featureCompatibilityVersion", Value: 1}}), 13)
	wantCode(t, cmdErr(t, admin, bson.D{{Key: "getParameter", Value: 1}, {Key: "noSuchParameterMongosim", Value: 1}}), 72)
}

func TestServerStatus(t *testing.T) {
	r := runCmd(t, suite.client.Database("admin"), bson.D{{Key: "serverStatus", Value: 1}})
	if lookup(t, r, "process").StringValue() != "mongod" {
		t.Errorf("process %s", lookup(t, r, "process"))
	}
	for _, f := range []string{"host", "version"} {
		if lookup(t, r, f).StringValue() == "" {
			t.Errorf("empty %s", f)
		}
	}
	if _, ok := lookup(t, r, "pid").AsInt64OK(); !ok {
		t.Error("pid not a number")
	}
	if _, ok := lookup(t, r, "uptimeMillis").Int64OK(); !ok {
		t.Error("uptimeMillis not a long")
	}
	if _, ok := lookup(t, r, "uptime").DoubleOK(); !ok {
		t.Error("uptime not a double")
	}
	if lt := lookup(t, r, "localTime").Time(); time.Since(lt) > time.Minute {
		t.Error("localTime stale")
	}
	if cur := lookup(t, r, "connections", "current").Int32(); cur < 1 {
		t.Errorf("connections.current %d", cur)
	}
	lookup(t, r, "connections", "available")
	lookup(t, r, "connections", "totalCreated")
	for _, op := range []string{"insert", "query", "update", "delete", "getmore", "command"} {
		if _, ok := lookup(t, r, "opcounters", op).AsInt64OK(); !ok {
			t.Errorf("opcounters.%s not a number", op)
		}
	}
	if lookup(t, r, "repl", "setName").StringValue() == "" || !lookup(t, r, "repl", "isWritablePrimary").Boolean() {
		t.Errorf("repl section %s", lookup(t, r, "repl"))
	}
	if lookup(t, r, "repl", "primary").StringValue() != lookup(t, r, "repl", "me").StringValue() {
		t.Error("repl.primary != repl.me")
	}
}

func TestServerStatusOpcountersCount(t *testing.T) {
	sim(t) // a real server is shared with other clients: its counters move on their own
	admin := suite.client.Database("admin")
	before := runCmd(t, admin, bson.D{{Key: "serverStatus", Value: 1}})
	coll := newDB(t).Collection("ops")
	insertDocs(t, coll, bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "_id", Value: 2}}, bson.D{{Key: "_id", Value: 3}})
	if _, err := coll.UpdateOne(ctxT(t), bson.D{{Key: "_id", Value: 1}}, bson.D{{Key: "$set", Value: bson.D{{Key: "a", Value: 1}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.DeleteMany(ctxT(t), bson.D{{Key: "_id", Value: bson.D{{Key: "$gte", Value: 2}}}}); err != nil {
		t.Fatal(err)
	}
	findAll(t, coll, bson.D{})
	after := runCmd(t, admin, bson.D{{Key: "serverStatus", Value: 1}})
	delta := func(op string) int64 {
		return lookup(t, after, "opcounters", op).AsInt64() - lookup(t, before, "opcounters", op).AsInt64()
	}
	if d := delta("insert"); d != 3 {
		t.Errorf("insert delta %d, want 3", d)
	}
	if d := delta("update"); d != 1 {
		t.Errorf("update delta %d, want 1", d)
	}
	if d := delta("delete"); d != 1 {
		t.Errorf("delete delta %d, want 1 (one statement)", d)
	}
	if d := delta("query"); d < 1 {
		t.Errorf("query delta %d", d)
	}
}

func TestHostInfoConnectionStatusWhatsMyURI(t *testing.T) {
	admin := suite.client.Database("admin")
	hi := runCmd(t, admin, bson.D{{Key: "hostInfo", Value: 1}})
	if lookup(t, hi, "system", "hostname").StringValue() == "" {
		t.Error("hostInfo.system.hostname empty")
	}
	cs := runCmd(t, admin, bson.D{{Key: "connectionStatus", Value: 1}})
	if lookup(t, cs, "authInfo", "authenticatedUsers").Type != bson.TypeArray {
		t.Error("connectionStatus.authInfo.authenticatedUsers not an array")
	}
	cs = runCmd(t, admin, bson.D{{Key: "connectionStatus", Value: 1}, {Key: "showPrivileges", Value: true}})
	if lookup(t, cs, "authInfo", "authenticatedUserPrivileges").Type != bson.TypeArray {
		t.Error("showPrivileges: authenticatedUserPrivileges not an array")
	}
	me := runCmd(t, admin, bson.D{{Key: "whatsmyuri", Value: 1}})
	if you := lookup(t, me, "you").StringValue(); !strings.Contains(you, ":") {
		t.Errorf("whatsmyuri you=%q", you)
	}
}

func TestEndSessionsAccepted(t *testing.T) {
	admin := suite.client.Database("admin")
	lsid := bson.D{{Key: "id", Value: bson.Binary{Subtype: 4, Data: make([]byte, 16)}}}
	runCmd(t, admin, bson.D{{Key: "endSessions", Value: bson.A{lsid}}})
	runCmd(t, admin, bson.D{{Key: "killSessions", Value: bson.A{}}})
}

func TestReplSetGetStatus(t *testing.T) {
	r := runCmd(t, suite.client.Database("admin"), bson.D{{Key: "replSetGetStatus", Value: 1}})
	if lookup(t, r, "set").StringValue() == "" || lookup(t, r, "myState").AsInt64() != 1 {
		t.Fatalf("replSetGetStatus %s", r)
	}
	members, _ := lookup(t, r, "members").Array().Values()
	primaries := 0
	for _, m := range members {
		if m.Document().Lookup("stateStr").StringValue() == "PRIMARY" {
			primaries++
		}
	}
	if primaries != 1 {
		t.Fatalf("%d primaries", primaries)
	}
}
