package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.uber.org/goleak"

	"github.com/mlink-dev/mlink/mongosim/simtest"
)

// runVerifyCLI runs "mlink verify args…" through run, as main does.
func runVerifyCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	a := newApp()
	a.getenv = func(k string) string { return env[k] }
	var out, errOut bytes.Buffer
	a.stdout, a.stderr = &out, &errOut
	code = run(context.Background(), append([]string{"verify"}, args...), a)
	return code, out.String(), errOut.String()
}

// quickClose shortens the driver's heartbeat so closing a client never waits
// long: a streaming hello that starts just as the client disconnects is not
// cancelled, and runs for a heartbeat interval (10 s by default).
func quickClose(uri string) string { return uri + "&heartbeatFrequencyMS=500" }

// noLeaks checks, after every other cleanup of the test, that no goroutine
// it started is left.
func noLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

func TestVerifyCLIErrorsExit2(t *testing.T) {
	noLeaks(t)
	const secret = "s3cr3tPass"
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no source", []string{"--target", "mongodb://h"}, nil, "--source (or MLINK_SOURCE_URI) is required"},
		{"no target", nil, map[string]string{envSource: "mongodb://h"}, "--target (or MLINK_TARGET_URI) is required"},
		{"bad filter", []string{"--source", "mongodb://h", "--target", "mongodb://h", "--include", "nodot"}, nil, "invalid namespace filter"},
		{"bad max-diffs", []string{"--source", "mongodb://h", "--target", "mongodb://h", "--max-diffs", "-1"}, nil, "--max-diffs -1"},
		{"bad parallel", []string{"--source", "mongodb://h", "--target", "mongodb://h", "--parallel", "0"}, nil, "--parallel 0"},
		{"unknown flag", []string{"--bogus"}, nil, "unknown flag: --bogus"},
		{"stray argument", []string{"extra"}, nil, `unknown command "extra"`},
		{"bad URI", []string{"--source", "mongodb://admin:" + secret + "@h:27017/?connectTimeoutMS=abc", "--target", "mongodb://h"}, nil, "source URI mongodb://admin:xxxxx@h:27017"},
		{"unreachable", []string{
			"--source", "mongodb://admin:" + secret + "@127.0.0.1:1/?serverSelectionTimeoutMS=300&directConnection=true",
			"--target", "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300"}, nil, "source 127.0.0.1:1 is not reachable"},
	} {
		code, stdout, stderr := runVerifyCLI(t, tc.env, tc.args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: code %d, stdout %q, stderr %q; want 2 and %q", tc.name, code, stdout, stderr, tc.want)
		}
		if strings.Contains(stderr, secret) {
			t.Errorf("%s: password leaked: %s", tc.name, stderr)
		}
	}
}

func TestVerifyCLIEqualAndDifferent(t *testing.T) {
	noLeaks(t)
	src, dst := simtest.StartPair(t)
	ctx := context.Background()
	// Only catalog differences here: a view on each side.
	for _, uri := range []string{src.URI(), dst.URI()} {
		db := simtest.Client(t, uri).Database("app")
		err := db.RunCommand(ctx, bson.D{{Key: "create", Value: "v"}, {Key: "viewOn", Value: "c"}, {Key: "pipeline", Value: bson.A{}}}).Err()
		if err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{envSource: quickClose(src.URI()), envTarget: quickClose(dst.URI())}
	code, stdout, stderr := runVerifyCLI(t, env)
	if code != 0 || stderr != "" || !strings.Contains(stdout, "EQUAL: 1 namespaces, 1 equal") || !strings.Contains(stdout, "= app.v: equal (view)") {
		t.Fatalf("equal: code %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}

	srcDB := simtest.Client(t, src.URI()).Database("app")
	if err := srcDB.RunCommand(ctx, bson.D{{Key: "create", Value: "w"}, {Key: "viewOn", Value: "c"}, {Key: "pipeline", Value: bson.A{}}}).Err(); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runVerifyCLI(t, env)
	if code != 1 || !strings.Contains(stdout, "DIFFERENT: 2 namespaces") || !strings.Contains(stdout, "app.w (view): missing on target") ||
		!strings.Contains(stderr, "source and target differ") {
		t.Fatalf("different: code %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	// The filter limits what is compared.
	if code, stdout, _ := runVerifyCLI(t, env, "--exclude", "app.w"); code != 0 {
		t.Fatalf("excluded difference: code %d\n%s", code, stdout)
	}

	code, stdout, _ = runVerifyCLI(t, env, "--json")
	var rep struct {
		Equal      bool `json:"equal"`
		Namespaces []struct {
			NS     string `json:"ns"`
			Status string `json:"status"`
		} `json:"namespaces"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout)
	}
	if code != 1 || rep.Equal || len(rep.Namespaces) != 2 || rep.Namespaces[1].NS != "app.w" || rep.Namespaces[1].Status != "missingOnTarget" {
		t.Fatalf("--json: code %d %s", code, stdout)
	}
}

func TestVerifyCLIDocumentDiffsAndFlags(t *testing.T) {
	noLeaks(t)
	src, dst := simtest.StartPair(t)
	ctx := context.Background()
	for i, uri := range []string{src.URI(), dst.URI()} {
		db := simtest.Client(t, uri).Database("shop")
		docs := []any{
			bson.D{{Key: "_id", Value: 1}, {Key: "sku", Value: "a"}},
			bson.D{{Key: "_id", Value: 2}, {Key: "sku", Value: "b"}, {Key: "qty", Value: 5}},
		}
		if i == 1 { // the target has the fields of _id 2 in another order
			docs[1] = bson.D{{Key: "_id", Value: 2}, {Key: "qty", Value: 5}, {Key: "sku", Value: "b"}}
		}
		if _, err := db.Collection("items").InsertMany(ctx, docs); err != nil {
			t.Fatal(err)
		}
		ttl := int32(3600)
		if i == 1 {
			ttl = 2147483647 // as mlink builds it during a sync
		}
		if err := db.RunCommand(ctx, bson.D{{Key: "createIndexes", Value: "items"}, {Key: "indexes", Value: bson.A{
			bson.D{{Key: "key", Value: bson.D{{Key: "at", Value: 1}}}, {Key: "name", Value: "at_1"}, {Key: "expireAfterSeconds", Value: ttl}},
		}}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{envSource: quickClose(src.URI()), envTarget: quickClose(dst.URI())}
	t.Log("setup done")
	code, stdout, _ := runVerifyCLI(t, env)
	t.Log("verify 1 done")
	for _, want := range []string{
		"shop.items (collection): different\n",
		"  index \"at_1\": different\n    expireAfterSeconds: source 3600, target 2147483647\n",
		"  documents: 2 on both sides\n",
		"  different (1):\n    _id {\"$numberInt\":\"2\"}\n",
	} {
		if code != 1 || !strings.Contains(stdout, want) {
			t.Fatalf("code %d, output lacks %q:\n%s", code, want, stdout)
		}
	}
	// --in-progress accepts the disabled TTL; the field order still differs.
	code, stdout, _ = runVerifyCLI(t, env, "--in-progress", "--max-diffs", "0")
	t.Log("verify 2 done")
	if code != 1 || strings.Contains(stdout, "at_1") || strings.Contains(stdout, "_id {") ||
		!strings.Contains(stdout, "_id ranges: 1 of 1 differ") || !strings.Contains(stdout, "sync in progress") {
		t.Fatalf("--in-progress --max-diffs 0: code %d\n%s", code, stdout)
	}
}
