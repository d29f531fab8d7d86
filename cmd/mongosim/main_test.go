package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink/mongosim/auth"
	"github.com/mlink-dev/mlink/mongosim/simtest"
)

// startRun runs the command with args until the test ends and returns the
// n URIs it prints.
func startRun(t *testing.T, n int, args ...string) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("run did not stop on cancel")
		}
	})
	sc := bufio.NewScanner(pr)
	var uris []string
	for len(uris) < n && sc.Scan() {
		uris = append(uris, sc.Text())
	}
	go io.Copy(io.Discard, pr)
	if len(uris) != n {
		t.Fatalf("printed %v, want %d URIs", uris, n)
	}
	return uris
}

func connect(t *testing.T, uri string) *mongo.Client {
	t.Helper()
	return connectWithin(t, uri, 5*time.Second)
}

// connectWithin connects with a server selection timeout: how long a
// connection the server refuses takes to fail.
func connectWithin(t *testing.T, uri string, selection time.Duration) *mongo.Client {
	t.Helper()
	c, err := mongo.Connect(options.Client().ApplyURI(uri).SetTimeout(10 * time.Second).SetServerSelectionTimeout(selection))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c
}

func wantCode(t *testing.T, err error, code int) {
	t.Helper()
	var se mongo.ServerError
	if !errors.As(err, &se) || !se.HasErrorCode(code) {
		t.Fatalf("want server error code %d, got %v", code, err)
	}
}

func insertOne(c *mongo.Client, db string) error {
	_, err := c.Database(db).Collection("c").InsertOne(context.Background(), bson.D{{Key: "x", Value: 1}})
	return err
}

func TestRunPrintsURIsAndServes(t *testing.T) {
	uris := startRun(t, 2, "--ports", "0,0", "--version", "7.0.12", "--replset", "rsx")
	if !strings.HasSuffix(uris[0], "/?replicaSet=rsx") || !strings.HasSuffix(uris[1], "/?replicaSet=rsx") || uris[0] == uris[1] {
		t.Fatalf("printed %v", uris)
	}
	for _, u := range uris {
		var r bson.M
		if err := connect(t, u).Database("admin").RunCommand(context.Background(), bson.D{{Key: "buildInfo", Value: 1}}).Decode(&r); err != nil {
			t.Fatal(err)
		}
		if r["version"] != "7.0.12" {
			t.Fatalf("version %v", r["version"])
		}
	}
}

// --user turns access control on with SCRAM users whose roles apply.
func TestRunUsers(t *testing.T) {
	uri := startRun(t, 1, "--port", "0", "--user", "admin:s3cret:root", "--user", "app:p:w:d:readWrite@app,read@reports")[0]
	wantCode(t, insertOne(connect(t, uri), "app"), 13)

	app := connect(t, simtest.UserURI(uri, "app", "p:w:d"))
	if err := insertOne(app, "app"); err != nil {
		t.Fatalf("readWrite@app insert: %v", err)
	}
	if _, err := app.Database("reports").Collection("c").CountDocuments(context.Background(), bson.D{}); err != nil {
		t.Fatalf("read@reports count: %v", err)
	}
	wantCode(t, insertOne(app, "reports"), 13)
	wantCode(t, insertOne(app, "other"), 13)

	for _, mech := range []string{"SCRAM-SHA-256", "SCRAM-SHA-1"} {
		admin := connect(t, simtest.UserURI(uri, "admin", "s3cret", "authMechanism="+mech))
		if _, err := admin.ListDatabaseNames(context.Background(), bson.D{}); err != nil {
			t.Fatalf("root listDatabases with %s: %v", mech, err)
		}
	}
	if err := connectWithin(t, simtest.UserURI(uri, "app", "wrong"), time.Second).Ping(context.Background(), nil); err == nil {
		t.Fatal("wrong password accepted")
	}
}

func TestParseUser(t *testing.T) {
	cases := map[string]auth.User{
		"admin:x:root": {Name: "admin", DB: "admin", Password: "x", Roles: []auth.Role{{Name: "root", DB: "admin"}}},
		"app:p:w:d:readWrite@app,read@reports": {Name: "app", DB: "admin", Password: "p:w:d",
			Roles: []auth.Role{{Name: "readWrite", DB: "app"}, {Name: "read", DB: "reports"}}},
		"a:b@c:clusterMonitor": {Name: "a", DB: "admin", Password: "b@c", Roles: []auth.Role{{Name: "clusterMonitor", DB: "admin"}}},
	}
	for in, want := range cases {
		got, err := parseUser(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("parseUser(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
}

// --tls-cert/--tls-key serve TLS only; --tls-ca also requires a client
// certificate the CA signed.
func TestRunTLS(t *testing.T) {
	pki := simtest.NewPKI(t)
	f := pki.Files
	uri := startRun(t, 1, "--port", "0", "--tls-cert", f.ServerCertFile, "--tls-key", f.ServerKeyFile, "--tls-ca", f.CAFile)[0]
	if !strings.HasSuffix(uri, "&tls=true") {
		t.Fatalf("URI %s does not ask for TLS", uri)
	}
	ca := "&tlsCAFile=" + f.CAFile
	if err := connect(t, uri+ca+"&tlsCertificateKeyFile="+f.ClientFile).Ping(context.Background(), nil); err != nil {
		t.Fatalf("client with a CA-signed certificate: %v", err)
	}
	for what, u := range map[string]string{
		"no client certificate":          uri + ca,
		"certificate from another CA":    uri + ca + "&tlsCertificateKeyFile=" + f.OtherClientFile,
		"plain connection to TLS server": strings.TrimSuffix(uri, "&tls=true"),
	} {
		if err := connectWithin(t, u, time.Second).Ping(context.Background(), nil); err == nil {
			t.Errorf("%s: ping succeeded", what)
		}
	}

	// Without --tls-ca a client certificate is not needed.
	uri = startRun(t, 1, "--port", "0", "--tls-cert", f.ServerCertFile, "--tls-key", f.ServerKeyFile)[0]
	if err := connect(t, uri+ca).Ping(context.Background(), nil); err != nil {
		t.Fatalf("TLS without client certificate: %v", err)
	}
}

// oplogInserts returns the _ids of the inserts into db.c the oplog still
// holds, oldest first.
func oplogInserts(t *testing.T, c *mongo.Client, db string) []int32 {
	t.Helper()
	cur, err := c.Database("local").Collection("oplog.rs").Find(context.Background(),
		bson.D{{Key: "op", Value: "i"}, {Key: "ns", Value: db + ".c"}}, options.Find().SetSort(bson.D{{Key: "$natural", Value: 1}}))
	if err != nil {
		t.Fatal(err)
	}
	var docs []struct {
		O struct {
			ID int32 `bson:"_id"`
		} `bson:"o"`
	}
	if err := cur.All(context.Background(), &docs); err != nil {
		t.Fatal(err)
	}
	ids := make([]int32, len(docs))
	for i, d := range docs {
		ids[i] = d.O.ID
	}
	return ids
}

func insertN(t *testing.T, c *mongo.Client, db string, n, size int) {
	t.Helper()
	pad := strings.Repeat("x", size)
	for i := range n {
		if _, err := c.Database(db).Collection("c").InsertOne(context.Background(), bson.D{{Key: "_id", Value: int32(i)}, {Key: "pad", Value: pad}}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRunOplogRetention(t *testing.T) {
	c := connect(t, startRun(t, 1, "--port", "0", "--oplog-max-entries", "5", "--oplog-max-bytes", "0")[0])
	insertN(t, c, "db", 20, 10)
	if got, want := oplogInserts(t, c, "db"), []int32{15, 16, 17, 18, 19}; !reflect.DeepEqual(got, want) {
		t.Fatalf("entry-bounded oplog holds inserts %v, want %v", got, want)
	}

	// 50 inserts of 1 KB each under a 20,000-byte bound: fewer than 20
	// survive, the newest among them.
	c = connect(t, startRun(t, 1, "--port", "0", "--oplog-max-bytes", "20000")[0])
	insertN(t, c, "db", 50, 1024)
	got := oplogInserts(t, c, "db")
	if len(got) == 0 || len(got) >= 20 || got[len(got)-1] != 49 {
		t.Fatalf("byte-bounded oplog holds inserts %v", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]+1 {
			t.Fatalf("byte-bounded oplog holds inserts %v: not the newest contiguous run", got)
		}
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	pki := simtest.NewPKI(t)
	f := pki.Files
	cases := []struct {
		args []string
		want string // substring of the error
	}{
		{[]string{"--port", "notaport"}, "invalid port"},
		{[]string{"--port", "0", "--version", "4.4.0"}, "4.4.0"},
		{[]string{"--port", "0", "extra"}, "unexpected arguments"},
		{[]string{"--user", "alone"}, "want name:password:role"},
		{[]string{"--user", "app:hunter2"}, "want name:password:role"},
		{[]string{"--user", ":hunter2:root"}, "must not be empty"},
		{[]string{"--user", "app::root"}, "must not be empty"},
		{[]string{"--user", "app:hunter2:"}, "want role[@db]"},
		{[]string{"--user", "app:hunter2:readWrite@"}, "want role[@db]"},
		{[]string{"--port", "0", "--user", "app:hunter2:noSuchRole"}, "noSuchRole"},
		{[]string{"--port", "0", "--user", "app:hunter2:root@app"}, "admin"},
		{[]string{"--port", "0", "--tls-cert", f.ServerCertFile}, "go together"},
		{[]string{"--port", "0", "--tls-key", f.ServerKeyFile}, "go together"},
		{[]string{"--port", "0", "--tls-ca", f.CAFile}, "--tls-ca needs"},
		{[]string{"--port", "0", "--tls-cert", f.ServerCertFile, "--tls-key", f.CAFile}, "load TLS key pair"},
		{[]string{"--port", "0", "--tls-cert", f.ServerCertFile, "--tls-key", f.ServerKeyFile, "--tls-ca", f.ServerKeyFile}, "no PEM certificate"},
		{[]string{"--port", "0", "--oplog-max-bytes", "0"}, "cannot both be 0"},
		{[]string{"--port", "0", "--oplog-max-entries", "-1"}, "must not be negative"},
	}
	for _, c := range cases {
		err := run(context.Background(), c.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run %q: got %v, want an error containing %q", c.args, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("run %q: error shows the password: %v", c.args, err)
		}
	}
	if got := fmt.Sprint(&userList{"a:hunter2:root", "b:x:y:read"}); got != "a,b" {
		t.Errorf("userList prints %q", got)
	}
}
