package product

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
)

const testToken = "tok-4f1c9e2a7b"

// request is one API call and the reply it must get.
type request struct {
	name, method, path string
	body               string
	header             http.Header
	code               int
	msg                string // the error text must contain it
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// check sends r to the daemon and asserts the status code and message.
func (r request) check(t *testing.T, base string) Reply {
	t.Helper()
	h := r.header
	if h == nil {
		h = bearer(testToken)
	}
	var body []byte
	if r.body != "" {
		body = []byte(r.body)
	}
	rep, err := Do(context.Background(), r.method, base+r.path, body, h)
	if err != nil {
		t.Fatalf("%s: %v", r.name, err)
	}
	if rep.Code != r.code {
		t.Errorf("%s: %s %s = %d %s, want %d", r.name, r.method, r.path, rep.Code, rep.Body, r.code)
		return rep
	}
	if r.msg != "" {
		if got := rep.ErrorText(); !strings.Contains(got, r.msg) {
			t.Errorf("%s: error %q does not contain %q (body %s)", r.name, got, r.msg, rep.Body)
		}
		if !strings.HasPrefix(string(rep.Body), `{"ok":false,"error":`) {
			t.Errorf("%s: error body %s: want {\"ok\":false,\"error\":…}", r.name, rep.Body)
		}
	}
	return rep
}

// TestAPIErrorsThroughDaemon sends every kind of bad request to a real
// daemon (started with --api-token) and checks each reply's status code
// and message, through HTTP and through the CLI, in every state.
func TestAPIErrorsThroughDaemon(t *testing.T) {
	p := newPair(t)
	p.clients(t, p.srcURI, p.dstURI)
	loadSample(t, p.srcC, "er_", 400)
	// The target already holds data in a namespace the sync would copy.
	if _, err := p.dstC.Database("er_shop").Collection("orders").InsertOne(context.Background(), bson.D{{Key: "_id", Value: "stale"}}); err != nil {
		t.Fatal(err)
	}
	d := StartDaemon(t, bin, "--source", p.srcURI, "--target", p.dstURI, "--api-token", testToken)
	big := `{"includeNamespaces":["` + strings.Repeat("a", 1<<20) + `"]}`

	for _, r := range []request{
		{name: "malformed JSON", method: "POST", path: "/start", body: `{"includeNamespaces":`, code: 400, msg: "malformed JSON"},
		{name: "malformed JSON syntax", method: "POST", path: "/start", body: `{"includeNamespaces" ["a.b"]}`, code: 400, msg: "malformed JSON at byte"},
		{name: "trailing data", method: "POST", path: "/start", body: `{} {}`, code: 400, msg: "unexpected data after the object"},
		{name: "unknown field", method: "POST", path: "/start", body: `{"includeNamespace":["er_shop.orders"]}`, code: 400, msg: `unknown field "includeNamespace"`},
		{name: "unknown field on pause", method: "POST", path: "/pause", body: `{"now":true}`, code: 400, msg: `unknown field "now"`},
		{name: "wrong type array", method: "POST", path: "/start", body: `{"includeNamespaces":"er_shop.orders"}`, code: 400, msg: `field "includeNamespaces": want array of strings`},
		{name: "wrong type bool", method: "POST", path: "/start", body: `{"pauseOnInitialSync":"yes"}`, code: 400, msg: `field "pauseOnInitialSync": want boolean`},
		{name: "wrong type finalize", method: "POST", path: "/finalize", body: `{"ignoreHistoryLost":1}`, code: 400, msg: `field "ignoreHistoryLost": want boolean`},
		{name: "not an object", method: "POST", path: "/resume", body: `[]`, code: 400, msg: "request body must be a JSON object"},
		{name: "invalid pattern", method: "POST", path: "/start", body: `{"includeNamespaces":["shop"]}`, code: 400, msg: `pattern "shop"`},
		{name: "invalid regex", method: "POST", path: "/start", body: `{"excludeNamespaces":["/er_(/"]}`, code: 400, msg: `/er_(/`},
		{name: "pause when idle", method: "POST", path: "/pause", code: 409, msg: "cannot pause: sync is idle"},
		{name: "resume when idle", method: "POST", path: "/resume", body: `{}`, code: 409, msg: "cannot resume: sync is idle"},
		{name: "finalize when idle", method: "POST", path: "/finalize", code: 409, msg: "cannot finalize: sync is idle"},
		{name: "wrong method GET", method: "GET", path: "/start", code: 405, msg: "method GET not allowed on /start (allowed: POST)"},
		{name: "wrong method POST", method: "POST", path: "/status", code: 405, msg: "method POST not allowed on /status (allowed: GET, HEAD)"},
		{name: "wrong method DELETE", method: "DELETE", path: "/pause", code: 405, msg: "method DELETE not allowed on /pause (allowed: POST)"},
		{name: "body too large", method: "POST", path: "/start", body: big, code: 413, msg: "request body too large: limit is 1048576 bytes"},
		{name: "unknown path", method: "GET", path: "/stats", code: 404, msg: `unknown path "/stats"`},
		{name: "missing token", method: "GET", path: "/status", header: http.Header{}, code: 401, msg: "API token required: send Authorization: Bearer <token>"},
		{name: "missing token POST", method: "POST", path: "/start", header: http.Header{}, code: 401, msg: "API token required"},
		{name: "wrong token", method: "GET", path: "/status", header: bearer("tok-wrong"), code: 401, msg: "invalid API token"},
		{name: "wrong scheme", method: "GET", path: "/status", header: http.Header{"Authorization": {"Basic " + testToken}}, code: 401, msg: "API token required"},
		{name: "metrics without token", method: "GET", path: "/metrics", header: http.Header{}, code: 200},
		{name: "dashboard without token", method: "GET", path: "/", header: http.Header{}, code: 200},
		{name: "status with token", method: "GET", path: "/status", code: 200},
		{name: "HEAD status", method: "HEAD", path: "/status", code: 200},
		{name: "foreign Host header", method: "GET", path: "/status", code: 403, msg: `host "evil.example" refused`,
			header: http.Header{"Authorization": {"Bearer " + testToken}, "Host": {"evil.example"}}},
		{name: "cross-site POST", method: "POST", path: "/pause", code: 403, msg: "cross-origin request refused",
			header: http.Header{"Authorization": {"Bearer " + testToken}, "Origin": {"http://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}},
	} {
		rep := r.check(t, d.URL)
		switch r.code {
		case 405:
			if allow := rep.Header.Get("Allow"); !strings.Contains(r.msg, "(allowed: "+allow+")") {
				t.Errorf("%s: Allow header %q", r.name, allow)
			}
		case 401:
			if got := rep.Header.Get("WWW-Authenticate"); got != `Bearer realm="mlink"` {
				t.Errorf("%s: WWW-Authenticate %q", r.name, got)
			}
		}
	}

	// The CLI shows the same messages and exits 1.
	server := []string{"--server", d.URL}
	tok := []string{"--api-token", testToken}
	for _, c := range []struct {
		args []string
		env  []string
		msg  string
	}{
		{args: append([]string{"status"}, server...), msg: "API token required"},
		{args: append([]string{"status", "--api-token", "tok-wrong"}, server...), msg: "invalid API token"},
		{args: append([]string{"pause"}, server...), env: []string{"MLINK_API_TOKEN=" + testToken}, msg: "cannot pause: sync is idle"},
		{args: append(append([]string{"finalize"}, server...), tok...), msg: "cannot finalize: sync is idle"},
		{args: append(append([]string{"start", "--include", "shop"}, server...), tok...), msg: `pattern "shop"`},
		{args: append(append([]string{"start", "--include", "/^er_/"}, server...), tok...), msg: "er_shop.orders"},
	} {
		res, err := Run(context.Background(), bin, c.env, time.Minute, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		if res.Code != 1 || !strings.Contains(res.Stderr, "Error: ") || !strings.Contains(res.Stderr, c.msg) || res.Stdout != "" {
			t.Errorf("want exit 1 with an error naming %q:\n%s", c.msg, res)
		}
	}

	// Target holding data: refused, naming the namespace; state stays idle.
	request{name: "target holds data", method: "POST", path: "/start", body: `{"includeNamespaces":["/^er_/"],"overwriteTarget":false}`,
		code: 400, msg: "er_shop.orders"}.check(t, d.URL)
	c := d.Client(testToken)
	if st, err := c.Status(context.Background()); err != nil || st.State != mlink.StateIdle {
		t.Fatalf("after refused start: state %s, %v; want idle", st.State, err)
	}

	// Running (the source slowed down so the clone takes a while): the
	// state names itself in every refusal.
	p.src.SetReplyLatency(100 * time.Millisecond)
	request{name: "start with overwrite", method: "POST", path: "/start",
		body: `{"includeNamespaces":["/^er_/"],"overwriteTarget":true,"pauseOnInitialSync":true}`, code: 200}.check(t, d.URL)
	for _, r := range []request{
		{name: "start when running", method: "POST", path: "/start", code: 409, msg: "cannot start: sync is running"},
		{name: "resume when running", method: "POST", path: "/resume", code: 409, msg: "cannot resume: sync is running"},
		{name: "reset when running", method: "POST", path: "/reset", code: 409, msg: "cannot reset: sync is running"},
		{name: "finalize during the clone", method: "POST", path: "/finalize", code: 409, msg: "cannot finalize: sync is running: the initial clone is not complete yet"},
	} {
		r.check(t, d.URL)
	}
	if st, err := c.Status(context.Background()); err != nil || st.State != mlink.StateRunning || st.InitialSync.CloneCompleted {
		t.Fatalf("the clone should still be running: %+v, %v", st, err)
	}
	p.src.SetReplyLatency(0)
	WaitStatus(t, c, "paused on initial sync", time.Minute, func(st mlink.Status) bool { return st.State == mlink.StatePaused })
	for _, r := range []request{
		{name: "pause when paused", method: "POST", path: "/pause", code: 409, msg: "cannot pause: sync is paused"},
		{name: "start when paused", method: "POST", path: "/start", code: 409, msg: "cannot start: sync is paused"},
		{name: "resume from failure when paused", method: "POST", path: "/resume", body: `{"fromFailure":true}`, code: 409, msg: "cannot resume: sync is paused"},
		{name: "finalize when paused", method: "POST", path: "/finalize", code: 200},
	} {
		r.check(t, d.URL)
	}
	WaitStatus(t, c, "finalized", time.Minute, func(st mlink.Status) bool { return st.State == mlink.StateFinalized })
	for _, r := range []request{
		{name: "pause when finalized", method: "POST", path: "/pause", code: 409, msg: "cannot pause: sync is finalized"},
		{name: "resume when finalized", method: "POST", path: "/resume", code: 409, msg: "cannot resume: sync is finalized"},
		{name: "finalize when finalized", method: "POST", path: "/finalize", code: 409, msg: "cannot finalize: sync is finalized"},
	} {
		r.check(t, d.URL)
	}
	verifyCLI(t, p.srcURI, p.dstURI, "/^er_/")

	// A new sync after finalize finds the target full: refused, naming
	// every namespace that holds data.
	rep := request{name: "start again onto a full target", method: "POST", path: "/start", body: `{"includeNamespaces":["/^er_/"]}`, code: 400}.check(t, d.URL)
	for _, ns := range []string{"er_shop.orders", "er_shop.customers", "er_shop.products", "er_crm.contacts", "er_crm.sessions", "er_analytics.events"} {
		if !strings.Contains(rep.ErrorText(), ns) {
			t.Errorf("refusal %q does not name %s", rep.ErrorText(), ns)
		}
	}
	if st, err := c.Status(context.Background()); err != nil || st.State != mlink.StateFinalized {
		t.Errorf("after the refused start: state %s, %v; want finalized", st.State, err)
	}

	// No daemon at the address: the CLI names it.
	gone := "http://127.0.0.1:" + closedPort(t)
	res, err := Run(context.Background(), bin, nil, time.Minute, "status", "--server", gone)
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != 1 || !strings.Contains(res.Stderr, "cannot reach mlink at "+gone) {
		t.Errorf("status with no daemon: %s", res)
	}
}

// TestDaemonRefusesBadConfiguration starts the daemon with unusable
// settings: it must exit non-zero at once with a message naming the
// problem (and never the password).
func TestDaemonRefusesBadConfiguration(t *testing.T) {
	p := newPair(t)
	closed := closedPort(t)
	for _, c := range []struct {
		name string
		args []string
		msg  []string
	}{
		{"bad port in source URI", []string{"--source", "mongodb://src.example:notaport/", "--target", p.dstURI},
			[]string{"source URI mongodb://src.example:notaport/", `parsing "notaport"`}},
		{"bad scheme", []string{"--source", p.srcURI, "--target", "http://dst.example/"},
			[]string{"target URI http://dst.example/", `scheme must be "mongodb" or "mongodb+srv"`}},
		{"bad auth mechanism", []string{"--source", "mongodb://u:Pw-unseen-913@src.example/?authMechanism=BOGUS", "--target", p.dstURI},
			[]string{"source URI mongodb://u:xxxxx@src.example/", "invalid auth mechanism"}},
		{"missing target", []string{"--source", p.srcURI},
			[]string{"--target (or MLINK_TARGET_URI) is required"}},
		{"bad log level", []string{"--source", p.srcURI, "--target", p.dstURI, "--log-level", "loud"},
			[]string{`invalid log level "loud"`}},
		{"unreachable target", []string{"--source", p.srcURI, "--target", "mongodb://127.0.0.1:" + closed + "/?serverSelectionTimeoutMS=1500"},
			[]string{"target", "127.0.0.1:" + closed, "connection refused"}},
	} {
		start := time.Now()
		res, err := Run(context.Background(), bin, nil, time.Minute, append(append([]string{"serve"}, c.args...), "--port", "0", "--log-json")...)
		if err != nil {
			t.Fatal(err)
		}
		if res.Code == 0 || strings.Contains(res.Stderr, "mlink listening") {
			t.Errorf("%s: the daemon started:\n%s", c.name, res)
			continue
		}
		for _, m := range c.msg {
			if !strings.Contains(res.Stderr, m) {
				t.Errorf("%s: output does not name %q:\n%s", c.name, m, res)
			}
		}
		if strings.Contains(res.Output(), "Pw-unseen-913") {
			t.Errorf("%s: password in output:\n%s", c.name, res)
		}
		t.Logf("%s: exit %d after %s: %s", c.name, res.Code, time.Since(start).Round(time.Millisecond), strings.TrimSpace(res.Stderr))
	}
}

// TestUnreachableSource runs a daemon whose source does not answer: it
// serves the API, and a start fails with a message naming the source and
// why, leaving the sync idle.
func TestUnreachableSource(t *testing.T) {
	p := newPair(t)
	closed := closedPort(t)
	srcURI := "mongodb://127.0.0.1:" + closed + "/?replicaSet=rs0&serverSelectionTimeoutMS=1500"
	d := StartDaemon(t, bin, "--source", srcURI, "--target", p.dstURI)
	rep := request{name: "start with unreachable source", method: "POST", path: "/start", code: 500, msg: "source"}.check(t, d.URL)
	for _, want := range []string{"127.0.0.1:" + closed, "connection refused"} {
		if !strings.Contains(rep.ErrorText(), want) {
			t.Errorf("error %q does not name %q", rep.ErrorText(), want)
		}
	}
	res := CLI(t, bin, "start", "--server", d.URL)
	if res.Code != 1 || !strings.Contains(res.Stderr, "Error: source") || !strings.Contains(res.Stderr, "127.0.0.1:"+closed) {
		t.Errorf("mlink start with unreachable source:\n%s", res)
	}
	st, err := d.Client("").Status(context.Background())
	if err != nil || st.State != mlink.StateIdle || st.Info != "" {
		t.Fatalf("after failed start: state %s, info %q, %v; want idle", st.State, st.Info, err)
	}
}

// TestSecondDaemonRefused starts a second daemon on a target another one
// holds: it must exit non-zero saying so, and leave the first one working.
func TestSecondDaemonRefused(t *testing.T) {
	p := newPair(t)
	first := StartDaemon(t, bin, "--source", p.srcURI, "--target", p.dstURI)
	other := newPair(t) // even syncing from another source: one daemon per target
	for _, src := range []string{p.srcURI, other.srcURI} {
		res, err := Run(context.Background(), bin, nil, 20*time.Second, "serve", "--source", src, "--target", p.dstURI, "--port", "0", "--log-json")
		if err != nil {
			t.Fatalf("%v\n%s", err, res)
		}
		want := fmt.Sprintf("pid %d", first.PID())
		if res.Code == 0 || !strings.Contains(res.Stderr, "another mlink daemon") || !strings.Contains(res.Stderr, want) ||
			!strings.Contains(res.Stderr, "is already syncing to this target") {
			t.Errorf("second daemon: want a non-zero exit naming the daemon holding the target (%s):\n%s", want, res)
		}
		if strings.Contains(res.Stderr, "mlink listening") {
			t.Errorf("second daemon listened:\n%s", res)
		}
		t.Logf("second daemon: exit %d: %s", res.Code, strings.TrimSpace(res.Stderr))
	}
	if _, err := first.Client("").Status(context.Background()); err != nil {
		t.Fatalf("first daemon after the refusals: %v", err)
	}
	// Once the first stops (releasing the lease), a new one may start.
	if code, err := first.Stop(30 * time.Second); err != nil || code != 0 {
		t.Fatalf("first daemon stop: exit %d, %v\n%s", code, err, first.Output)
	}
	StartDaemon(t, bin, "--source", p.srcURI, "--target", p.dstURI)
}

// closedPort returns a local port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return strconv.Itoa(port)
}
