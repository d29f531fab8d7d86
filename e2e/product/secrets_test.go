package product

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/mongosim"
	"github.com/mlink-dev/mlink/mongosim/auth"
	"github.com/mlink-dev/mlink/mongosim/simtest"
	"github.com/mlink-dev/mlink/workload"
)

// Distinctive secrets: each has an alphanumeric core that survives any
// encoding, and characters that URIs, JSON and HTML escape differently.
const (
	srcPassword   = "Kx9#ZebraQuartz42/@%&<"
	dstPassword   = "Vv7+MangoLimeTango88:?=$"
	wrongPassword = "Qq1!WrongPapaya77@/"
	secretToken   = "tok-NebulaOtter53"
)

// withUser puts user:password (escaped as a URI needs) into uri.
func withUser(uri, user, password string) string {
	return strings.Replace(uri, "mongodb://", "mongodb://"+user+":"+url.QueryEscape(password)+"@", 1)
}

// secretForms returns every spelling of s that could leak: raw, URI
// escaped both ways, JSON escaped (with and without HTML escaping) and its
// alphanumeric core.
func secretForms(s, core string) []string {
	forms := []string{s, url.QueryEscape(s), url.PathEscape(s), core}
	if u := url.UserPassword("u", s).String(); strings.HasPrefix(u, "u:") {
		forms = append(forms, strings.TrimPrefix(u, "u:"))
	}
	b, _ := json.Marshal(s)
	forms = append(forms, strings.Trim(string(b), `"`))
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return append(forms, strings.Trim(strings.TrimSpace(sb.String()), `"`))
}

// transcript is everything a user or an operator could see.
type transcript struct {
	parts []string
	names []string
}

func (tr *transcript) add(name, text string) {
	tr.names = append(tr.names, name)
	tr.parts = append(tr.parts, text)
}

func (tr *transcript) cli(t *testing.T, env []string, args ...string) Result {
	t.Helper()
	res, err := Run(context.Background(), bin, env, 2*time.Minute, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, res)
	}
	tr.add("mlink "+args[0], res.Stdout+"\n"+res.Stderr)
	return res
}

func (tr *transcript) http(t *testing.T, method, url, body string, h http.Header) Reply {
	t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	rep, err := Do(context.Background(), method, url, b, h)
	if err != nil {
		t.Fatal(err)
	}
	tr.add(method+" "+url, string(rep.Body))
	return rep
}

// TestNoSecretInAnyOutput runs the whole lifecycle with SCRAM users on both
// sides and credentials in the URIs, plus failures involving them (wrong
// password, bad option), and searches every daemon log line, status reply,
// CLI output and error reply for the passwords and the API token in every
// spelling.
func TestNoSecretInAnyOutput(t *testing.T) {
	users := func(extra auth.User) []auth.User {
		return []auth.User{
			{Name: "admin", Password: "adminpw", Iterations: 4096, Roles: []auth.Role{{Name: "root", DB: "admin"}}},
			extra,
		}
	}
	// The roles the README asks for on each side, nothing more.
	src := simtest.Start(t, mongosim.Options{ReplSetName: "rs0", NoopInterval: time.Second, Users: users(auth.User{
		Name: "mlinksrc", Password: srcPassword, Iterations: 4096,
		Roles: []auth.Role{{Name: "readAnyDatabase", DB: "admin"}, {Name: "clusterMonitor", DB: "admin"}}})})
	dst := simtest.Start(t, mongosim.Options{ReplSetName: "rs1", NoopInterval: time.Second, Users: users(auth.User{
		Name: "mlinkdst", Password: dstPassword, Iterations: 4096,
		Roles: []auth.Role{{Name: "readWriteAnyDatabase", DB: "admin"}, {Name: "dbAdminAnyDatabase", DB: "admin"}}})})
	srcURI, dstURI := withUser(src.URI(), "mlinksrc", srcPassword), withUser(dst.URI(), "mlinkdst", dstPassword)
	loader := simtest.Client(t, withUser(src.URI(), "admin", "adminpw"))
	loadSample(t, loader, "sc_", 1500)

	var tr transcript
	env := []string{"MLINK_SOURCE_URI=" + srcURI, "MLINK_TARGET_URI=" + dstURI, "MLINK_API_TOKEN=" + secretToken}
	d := StartDaemonEnv(t, bin, env, "--log-level", "debug")
	tok := bearer(secretToken)
	server := []string{"--server", d.URL}
	status := func() mlink.Status {
		rep := tr.http(t, "GET", d.URL+"/status", "", tok)
		var st mlink.Status
		if err := json.Unmarshal(rep.Body, &st); err != nil || rep.Code != 200 {
			t.Fatalf("status: %d %s", rep.Code, rep.Body)
		}
		return st
	}
	waitState := func(what string, cond func(mlink.Status) bool) mlink.Status {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			st := status()
			if cond(st) {
				return st
			}
			if st.State == mlink.StateFailed || time.Now().After(deadline) {
				t.Fatalf("waiting for %s: state %s, error %q", what, st.State, st.Error)
			}
			time.Sleep(100 * time.Millisecond) // polling interval
		}
	}

	if res := tr.cli(t, env, append([]string{"start", "--include", "/^sc_/"}, server...)...); res.Code != 0 {
		t.Fatalf("start: %s", res)
	}
	writer := workload.StartWriter(context.Background(), loader, workload.WriterOptions{DB: "sc_live", Rate: 200, DDLEvery: 40, Seed: 9})
	defer writer.Stop()
	st := waitState("initial sync", func(st mlink.Status) bool { return st.InitialSync != nil && st.InitialSync.Completed })
	if !strings.Contains(st.Source, "mlinksrc:"+mlink.Mask+"@") || !strings.Contains(st.Target, "mlinkdst:"+mlink.Mask+"@") {
		t.Errorf("status shows source %q, target %q: want the user names with masked passwords", st.Source, st.Target)
	}
	waitState("replicated events", func(st mlink.Status) bool { return st.EventsProcessed >= 200 })
	tr.cli(t, env, append([]string{"status"}, server...)...)
	tr.cli(t, env, append([]string{"status", "--json"}, server...)...)

	// Error replies.
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/start", ""},
		{"POST", "/start", `{"includeNamespaces":["sc_shop"]}`},
		{"POST", "/resume", `{"fromFailure":"no"}`},
		{"POST", "/pause", `{`},
		{"GET", "/start", ""},
		{"GET", "/nowhere", ""},
	} {
		if rep := tr.http(t, r.method, d.URL+r.path, r.body, tok); rep.Code < 400 {
			t.Fatalf("%s %s: %d, want an error", r.method, r.path, rep.Code)
		}
	}
	tr.http(t, "GET", d.URL+"/status", "", http.Header{})
	tr.http(t, "GET", d.URL+"/status", "", bearer("tok-"+wrongPassword))
	tr.http(t, "GET", d.URL+"/metrics", "", nil)
	tr.http(t, "GET", d.URL+"/", "", nil)

	for _, step := range [][]string{{"pause"}, {"status"}, {"resume"}, {"resume"}, {"start"}} {
		tr.cli(t, env, append(step, server...)...)
	}
	waitState("running", func(st mlink.Status) bool { return st.State == mlink.StateRunning })
	if err := writer.Stop(); err != nil {
		t.Fatal(err)
	}
	tr.cli(t, env, append([]string{"finalize"}, server...)...)
	if res := tr.cli(t, env, append([]string{"status", "--watch", "--interval", "200ms"}, server...)...); res.Code != 0 {
		t.Fatalf("status --watch: %s", res)
	}
	st = status()
	if st.State != mlink.StateFinalized {
		t.Fatalf("state %s, want finalized", st.State)
	}
	res := tr.cli(t, nil, "verify", "--source", srcURI, "--target", dstURI, "--include", "/^sc_/")
	if res.Code != 0 || !strings.Contains(res.Stdout, "EQUAL") || !strings.Contains(res.Stdout, "mlinksrc:"+mlink.Mask+"@") {
		t.Fatalf("verify: %s", res)
	}

	// Failures that carry the credentials: a wrong password, a bad option.
	wrongDst := withUser(dst.URI(), "mlinkdst", wrongPassword)
	res = tr.cli(t, nil, "verify", "--source", srcURI, "--target", wrongDst)
	if res.Code != 2 || !strings.Contains(res.Stderr, "target ") || !strings.Contains(res.Stderr, "Authentication failed") {
		t.Errorf("verify with a wrong password: want exit 2 naming the target's authentication failure: %s", res)
	}
	res = tr.cli(t, nil, "serve", "--port", "0", "--source", srcURI, "--target", dstURI+"&authMechanism=BOGUS")
	if res.Code != 1 || !strings.Contains(res.Stderr, "invalid auth mechanism") {
		t.Errorf("serve with a bad option: %s", res)
	}
	other := newPair(t) // a daemon of its own (the target is leased to the first)
	bad := StartDaemon(t, bin, "--source", withUser(src.URI(), "mlinksrc", wrongPassword), "--target", other.dstURI, "--log-level", "debug")
	rep := tr.http(t, "POST", bad.URL+"/start", "", nil)
	if rep.Code != 500 || !strings.Contains(rep.ErrorText(), "source") || !strings.Contains(strings.ToLower(rep.ErrorText()), "auth") {
		t.Errorf("start with a wrong source password: %d %s; want 500 naming the source's authentication", rep.Code, rep.Body)
	}
	if code, err := bad.Stop(30 * time.Second); err != nil || code != 0 {
		t.Errorf("second daemon stop: %d %v", code, err)
	}
	tr.add("wrong-password daemon output", bad.Output.String())
	if code, err := d.Stop(30 * time.Second); err != nil || code != 0 {
		t.Errorf("daemon stop: %d %v", code, err)
	}
	tr.add("daemon output", d.Output.String())
	// The URIs did reach the logs, masked.
	if !hasLog(d.Output, "mlink listening", func(l LogLine) bool {
		return strings.Contains(l.Str("source"), "mlinksrc:"+mlink.Mask+"@") && strings.Contains(l.Str("target"), "mlinkdst:"+mlink.Mask+"@")
	}) {
		t.Errorf("no 'mlink listening' line with the masked URIs:\n%s", d.Output)
	}
	if n := len(d.Output.JSONLogs()); n < 20 || n != len(d.Output.Lines()) {
		t.Errorf("daemon wrote %d JSON log lines of %d lines: want every line JSON, and a real run's worth", n, len(d.Output.Lines()))
	}

	secrets := map[string][]string{
		"source password": secretForms(srcPassword, "ZebraQuartz42"),
		"target password": secretForms(dstPassword, "MangoLimeTango88"),
		"wrong password":  secretForms(wrongPassword, "WrongPapaya77"),
		"API token":       secretForms(secretToken, "NebulaOtter53"),
	}
	var total int
	for i, text := range tr.parts {
		total += len(text)
		for what, forms := range secrets {
			for _, f := range forms {
				if strings.Contains(text, f) {
					t.Errorf("%s (as %q) appears in %s:\n%s", what, f, tr.names[i], text)
				}
			}
		}
	}
	t.Logf("searched %d outputs (%d bytes, %d daemon log lines) for %d secrets", len(tr.parts), total, len(d.Output.Lines()), len(secrets))
}
