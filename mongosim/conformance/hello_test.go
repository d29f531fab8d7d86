package conformance

import (
	"bytes"
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink/mongosim"
	"github.com/mlink-dev/mlink/mongosim/simtest"
)

func TestHelloReplicaSetFields(t *testing.T) {
	db := suite.client.Database("admin")
	r := runCmd(t, db, bson.D{{Key: "hello", Value: 1}})
	if !lookup(t, r, "isWritablePrimary").Boolean() {
		t.Fatalf("isWritablePrimary not true: %s", r)
	}
	setName := lookup(t, r, "setName").StringValue()
	if setName == "" {
		t.Fatal("empty setName")
	}
	primary := lookup(t, r, "primary").StringValue()
	if me := lookup(t, r, "me").StringValue(); me != primary {
		t.Fatalf("me %q != primary %q", me, primary)
	}
	hosts := lookup(t, r, "hosts").Array()
	found := false
	vals, _ := hosts.Values()
	for _, h := range vals {
		found = found || h.StringValue() == primary
	}
	if !found {
		t.Fatalf("primary %q not in hosts %s", primary, hosts)
	}
	if _, ok := lookup(t, r, "topologyVersion", "processId").ObjectIDOK(); !ok {
		t.Fatal("topologyVersion.processId not an ObjectId")
	}
	if _, ok := lookup(t, r, "topologyVersion", "counter").Int64OK(); !ok {
		t.Fatal("topologyVersion.counter not a long")
	}
	if _, ok := lookup(t, r, "electionId").ObjectIDOK(); !ok {
		t.Fatal("electionId not an ObjectId")
	}
	for field, want := range map[string]int32{
		"maxBsonObjectSize": 16777216, "maxMessageSizeBytes": 48000000, "maxWriteBatchSize": 100000,
		"logicalSessionTimeoutMinutes": 30, "minWireVersion": 0,
	} {
		if got := lookup(t, r, field).Int32(); got != want {
			t.Errorf("%s = %d, want %d", field, got, want)
		}
	}
	if mw := lookup(t, r, "maxWireVersion").Int32(); mw < 17 {
		t.Errorf("maxWireVersion %d < 17", mw)
	}
	if _, ok := lookup(t, r, "connectionId").AsInt64OK(); !ok {
		t.Error("connectionId not a number")
	}
	if lt := lookup(t, r, "localTime").Time(); time.Since(lt) > time.Minute || time.Until(lt) > time.Minute {
		t.Errorf("localTime %v far from now", lt)
	}
	if lookup(t, r, "ok").Double() != 1 {
		t.Error("ok != 1")
	}
	if _, _, ok := lookup(t, r, "$clusterTime", "clusterTime").TimestampOK(); !ok {
		t.Error("$clusterTime.clusterTime not a timestamp")
	}
	if _, _, ok := lookup(t, r, "operationTime").TimestampOK(); !ok {
		t.Error("operationTime not a timestamp")
	}
	if _, err := r.LookupErr("saslSupportedMechs"); err == nil {
		t.Error("saslSupportedMechs present without a request for it")
	}
	if _, err := r.LookupErr("ismaster"); err == nil {
		t.Error("hello reply carries legacy ismaster")
	}
}

func TestIsMasterLegacyField(t *testing.T) {
	r := runCmd(t, suite.client.Database("admin"), bson.D{{Key: "isMaster", Value: 1}})
	if !lookup(t, r, "ismaster").Boolean() {
		t.Fatalf("ismaster not true: %s", r)
	}
	if _, err := r.LookupErr("isWritablePrimary"); err == nil {
		t.Fatal("isMaster reply carries isWritablePrimary")
	}
	r = runCmd(t, suite.client.Database("admin"), bson.D{{Key: "ismaster", Value: 1}})
	if !lookup(t, r, "ismaster").Boolean() {
		t.Fatalf("lower-case ismaster alias: %s", r)
	}
}

func TestHelloFieldOrder(t *testing.T) {
	r := runCmd(t, suite.client.Database("admin"), bson.D{{Key: "hello", Value: 1}})
	k := keys(t, r)
	pos := map[string]int{}
	for i, name := range k {
		pos[name] = i
	}
	order := []string{"topologyVersion", "hosts", "setName", "isWritablePrimary", "primary", "me",
		"maxBsonObjectSize", "maxMessageSizeBytes", "maxWriteBatchSize", "localTime", "minWireVersion",
		"maxWireVersion", "ok", "$clusterTime", "operationTime"}
	for i := 1; i < len(order); i++ {
		if pos[order[i-1]] >= pos[order[i]] {
			t.Fatalf("%s should come before %s in %v", order[i-1], order[i], k)
		}
	}
}

func TestHelloSaslSupportedMechsAbsentWithoutUser(t *testing.T) {
	r := runCmd(t, suite.client.Database("admin"), bson.D{{Key: "hello", Value: 1}, {Key: "saslSupportedMechs", Value: "admin.nosuchuser_mongosim"}})
	if _, err := r.LookupErr("saslSupportedMechs"); err == nil {
		t.Fatalf("saslSupportedMechs reported for an unknown user: %s", r)
	}
}

func TestHelloConnectionIDsDiffer(t *testing.T) {
	c2 := simtest.Client(t, suite.uri)
	a := runCmd(t, suite.client.Database("admin"), bson.D{{Key: "hello", Value: 1}})
	b := runCmd(t, c2.Database("admin"), bson.D{{Key: "hello", Value: 1}})
	if lookup(t, a, "connectionId").AsInt64() == lookup(t, b, "connectionId").AsInt64() {
		t.Fatal("two clients share a connectionId")
	}
}

func TestHelloSimAddressesAndWireVersions(t *testing.T) {
	sim(t)
	for _, tc := range []struct {
		version string
		wire    int32
	}{{"6.0.17", 17}, {"7.0.12", 21}, {"8.0.4", 25}} {
		s := simtest.Start(t, mongosim.Options{Version: tc.version, ReplSetName: "rsx"})
		c := simtest.Client(t, s.URI())
		r := runCmd(t, c.Database("admin"), bson.D{{Key: "hello", Value: 1}})
		if got := lookup(t, r, "maxWireVersion").Int32(); got != tc.wire {
			t.Errorf("%s: maxWireVersion %d, want %d", tc.version, got, tc.wire)
		}
		if got := lookup(t, r, "me").StringValue(); got != s.Addr() {
			t.Errorf("%s: me %q, want %q", tc.version, got, s.Addr())
		}
		if got := lookup(t, r, "setName").StringValue(); got != "rsx" {
			t.Errorf("setName %q", got)
		}
		bi := runCmd(t, c.Database("admin"), bson.D{{Key: "buildInfo", Value: 1}})
		if got := lookup(t, bi, "version").StringValue(); got != tc.version {
			t.Errorf("buildInfo version %q, want %q", got, tc.version)
		}
	}
}

func TestStartRejectsUnsupportedVersion(t *testing.T) {
	sim(t)
	if _, err := mongosim.Start(context.Background(), mongosim.Options{Version: "5.0.3"}); err == nil {
		t.Fatal("5.0.3 accepted")
	}
	if _, err := mongosim.Start(context.Background(), mongosim.Options{Version: "eight"}); err == nil {
		t.Fatal("non-numeric version accepted")
	}
}

func TestStandaloneMode(t *testing.T) {
	sim(t)
	s := simtest.Start(t, mongosim.Options{Standalone: true})
	if want := "mongodb://" + s.Addr() + "/?directConnection=true"; s.URI() != want {
		t.Fatalf("URI %q, want %q", s.URI(), want)
	}
	c := simtest.Client(t, s.URI())
	r := runCmd(t, c.Database("admin"), bson.D{{Key: "hello", Value: 1}})
	for _, absent := range []string{"setName", "hosts", "primary", "me", "$clusterTime", "operationTime", "electionId"} {
		if _, err := r.LookupErr(absent); err == nil {
			t.Errorf("standalone hello has %s", absent)
		}
	}
	if !lookup(t, r, "isWritablePrimary").Boolean() {
		t.Fatal("standalone not writable")
	}
	coll := c.Database("sa").Collection("c")
	if _, err := coll.InsertOne(ctxT(t), bson.D{{Key: "_id", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	if n, err := coll.CountDocuments(ctxT(t), bson.D{}); err != nil || n != 1 {
		t.Fatalf("count %d %v", n, err)
	}
}

func TestDirectConnectionToReplicaSetMember(t *testing.T) {
	s := sim(t)
	c := simtest.Client(t, "mongodb://"+s.Addr()+"/?directConnection=true")
	r := runCmd(t, c.Database("admin"), bson.D{{Key: "ping", Value: 1}})
	if lookup(t, r, "ok").Double() != 1 {
		t.Fatal(r)
	}
}

// The streaming protocol: a hello carrying this server's topologyVersion and
// maxAwaitTimeMS waits that long (the topology never changes); a foreign
// processId is answered at once.
func TestStreamingHelloWaits(t *testing.T) {
	sim(t)
	db := suite.client.Database("admin")
	first := runCmd(t, db, bson.D{{Key: "hello", Value: 1}})
	tv := lookup(t, first, "topologyVersion").Document()
	start := time.Now()
	runCmd(t, db, bson.D{{Key: "hello", Value: 1}, {Key: "topologyVersion", Value: tv}, {Key: "maxAwaitTimeMS", Value: int64(300)}})
	if d := time.Since(start); d < 290*time.Millisecond {
		t.Fatalf("streaming hello answered after %v, want ≥ 300ms", d)
	}
	other := bson.D{{Key: "processId", Value: bson.NewObjectID()}, {Key: "counter", Value: int64(0)}}
	start = time.Now()
	runCmd(t, db, bson.D{{Key: "hello", Value: 1}, {Key: "topologyVersion", Value: other}, {Key: "maxAwaitTimeMS", Value: int64(5000)}})
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("stale topologyVersion waited %v", d)
	}
	err := cmdErr(t, db, bson.D{{Key: "hello", Value: 1}, {Key: "maxAwaitTimeMS", Value: int64(5)}})
	wantCode(t, err, 31368)
	wantCode(t, cmdErr(t, db, bson.D{{Key: "hello", Value: 1}, {Key: "topologyVersion", Value: tv}}), 31368)
}

func TestClusterTimeSignatureUnsigned(t *testing.T) {
	sim(t)
	r := runCmd(t, suite.client.Database("admin"), bson.D{{Key: "ping", Value: 1}})
	sig := lookup(t, r, "$clusterTime", "signature").Document()
	sub, hash := lookup(t, sig, "hash").Binary()
	if sub != 0 || !bytes.Equal(hash, make([]byte, 20)) {
		t.Fatalf("signature hash %d %x", sub, hash)
	}
	if lookup(t, sig, "keyId").Int64() != 0 {
		t.Fatal("keyId != 0")
	}
	if got := keys(t, lookup(t, r, "$clusterTime").Document()); len(got) != 2 || got[0] != "clusterTime" || got[1] != "signature" {
		t.Fatalf("$clusterTime fields %v", got)
	}
}
