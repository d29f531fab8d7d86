package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.uber.org/goleak"

	"github.com/mlink-dev/mlink/mongosim/simtest"
)

// runVerifyCLI runs "mlink verify args…" the way run does: the command's
// error printed scrubbed on stderr, the exit code from exitCodeOf.
func runVerifyCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	a := newApp()
	a.getenv = func(k string) string { return env[k] }
	var out, errOut bytes.Buffer
	a.stdout, a.stderr = &out, &errOut
	cmd := newVerifyCmd(a)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	if err != nil {
		fmt.Fprintln(&errOut, "Error:", a.redactor.String(err.Error()))
	}
	return exitCodeOf(err), out.String(), errOut.String()
}

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
	env := map[string]string{envSource: src.URI(), envTarget: dst.URI()}
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
