package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/api/apitest"
	"github.com/mlink-dev/mlink/metrics"
)

type reply struct {
	code   int
	body   string
	header http.Header
}

func send(t *testing.T, h http.Handler, method, path, body string, hdr ...string) reply {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return reply{code: rec.Code, body: strings.TrimSuffix(rec.Body.String(), "\n"), header: rec.Header()}
}

func expect(t *testing.T, got reply, code int, body string) {
	t.Helper()
	if got.code != code || got.body != body {
		t.Fatalf("got %d %s\nwant %d %s", got.code, got.body, code, body)
	}
}

func newTestHandler(ctrl Controller, opts Options) http.Handler {
	if opts.Gatherer == nil {
		reg := prometheus.NewRegistry()
		metrics.New(reg).SetState(mlink.StateRunning)
		opts.Gatherer = reg
	}
	return NewHandler(ctrl, opts)
}

func TestLifecycleThroughTheAPI(t *testing.T) {
	fake := &apitest.Controller{}
	h := newTestHandler(fake, Options{})
	const ok = `{"ok":true}`

	expect(t, send(t, h, "GET", "/status", ""), 200, `{"ok":true,"state":"idle","eventsProcessed":0}`)
	expect(t, send(t, h, "POST", "/pause", ""), 409, `{"ok":false,"error":"cannot pause: sync is idle"}`)
	expect(t, send(t, h, "POST", "/start", `{"includeNamespaces":["shop.*","/^crm\\./"],"excludeNamespaces":["shop.tmp"],"pauseOnInitialSync":true}`), 200, ok)
	expect(t, send(t, h, "POST", "/start", ""), 409, `{"ok":false,"error":"cannot start: sync is running"}`)
	expect(t, send(t, h, "GET", "/status", ""), 200, `{"ok":true,"state":"running","eventsProcessed":0}`)
	expect(t, send(t, h, "POST", "/pause", ""), 200, ok)
	expect(t, send(t, h, "POST", "/resume", `{"fromFailure":true}`), 409, `{"ok":false,"error":"cannot resume: sync is paused"}`)
	expect(t, send(t, h, "POST", "/resume", `{}`), 200, ok)
	expect(t, send(t, h, "POST", "/reset", ""), 409, `{"ok":false,"error":"cannot reset: sync is running"}`)
	expect(t, send(t, h, "POST", "/finalize", `{"ignoreHistoryLost":true}`), 200, ok)
	expect(t, send(t, h, "POST", "/finalize", ``), 409, `{"ok":false,"error":"cannot finalize: sync is finalizing"}`)
	fake.SetState(mlink.StateFinalized)
	expect(t, send(t, h, "POST", "/reset", "null"), 200, ok)

	fake.SetState(mlink.StateFailed)
	expect(t, send(t, h, "POST", "/resume", ""), 409,
		`{"ok":false,"error":"cannot resume: sync is failed (use resume --from-failure to retry from the last checkpoint)"}`)
	expect(t, send(t, h, "POST", "/resume", `{"fromFailure":true}`), 200, ok)

	calls := fake.Calls()
	var ops []string
	for _, c := range calls {
		ops = append(ops, string(c.Op))
	}
	if got := strings.Join(ops, ","); got != "start,pause,resume,finalize,reset,resume" {
		t.Fatalf("ops = %s", got)
	}
	start := calls[0].Start
	if fmt.Sprint(start.IncludeNamespaces) != `[shop.* /^crm\./]` || fmt.Sprint(start.ExcludeNamespaces) != "[shop.tmp]" ||
		!start.PauseOnInitialSync || start.OverwriteTarget {
		t.Fatalf("start request = %+v", start)
	}
	if !calls[3].Finalize.IgnoreHistoryLost || !calls[5].Resume.FromFailure {
		t.Fatalf("finalize/resume requests = %+v / %+v", calls[3].Finalize, calls[5].Resume)
	}
}

func TestOverwriteTargetDefault(t *testing.T) {
	for _, tc := range []struct {
		body       string
		daemonDflt bool
		want       bool
	}{
		{``, false, false},
		{``, true, true},
		{`{}`, true, true},
		{`{"overwriteTarget":false}`, true, false},
		{`{"overwriteTarget":true}`, false, true},
	} {
		fake := &apitest.Controller{}
		h := newTestHandler(fake, Options{DefaultOverwriteTarget: tc.daemonDflt})
		expect(t, send(t, h, "POST", "/start", tc.body), 200, `{"ok":true}`)
		if got := fake.Calls()[0].Start.OverwriteTarget; got != tc.want {
			t.Errorf("body %q, daemon default %v: overwriteTarget = %v, want %v", tc.body, tc.daemonDflt, got, tc.want)
		}
	}
}

func TestBadInputIs400NamingTheProblem(t *testing.T) {
	for _, tc := range []struct{ path, body, msg string }{
		{"/start", `{"includeNamespace":["a.b"]}`, `unknown field \"includeNamespace\"`},
		{"/start", `{"includeNamespaces":"a.b"}`, `field \"includeNamespaces\": want array of strings`},
		{"/start", `{"includeNamespaces":[1]}`, `field \"includeNamespaces\": want array of strings`},
		{"/start", `{"excludeNamespaces":{"a":1}}`, `field \"excludeNamespaces\": want array of strings`},
		{"/start", `{"pauseOnInitialSync":"yes"}`, `field \"pauseOnInitialSync\": want boolean`},
		{"/start", `{"overwriteTarget":1}`, `field \"overwriteTarget\": want boolean`},
		{"/start", `{"includeNamespaces":["shop"]}`, `invalid namespace filter: pattern \"shop\": want db.collection, db.* or /regex/`},
		{"/start", `{"excludeNamespaces":["/(/"]}`, "invalid namespace filter: pattern \\\"/(/\\\": error parsing regexp: missing closing ): `(`"},
		{"/start", `{"includeNamespaces":[`, `malformed JSON: unexpected end of input`},
		{"/start", `{"a" 1}`, `malformed JSON at byte 6: invalid character '1' after object key`},
		{"/start", `{} {}`, `malformed JSON: unexpected data after the object`},
		{"/start", `[]`, `request body must be a JSON object`},
		{"/start", `"x"`, `request body must be a JSON object`},
		{"/finalize", `{"ignoreHistoryLost":"true"}`, `field \"ignoreHistoryLost\": want boolean`},
		{"/finalize", `{"force":true}`, `unknown field \"force\"`},
		{"/resume", `{"fromFailure":null,"from_failure":true}`, `unknown field \"from_failure\"`},
		{"/resume", `{"fromFailure":"y"}`, `field \"fromFailure\": want boolean`},
		{"/pause", `{"now":true}`, `unknown field \"now\"`},
		{"/reset", `{"x`, `malformed JSON: unexpected end of input`},
	} {
		fake := &apitest.Controller{}
		fake.SetState(mlink.StateRunning)
		h := newTestHandler(fake, Options{})
		expect(t, send(t, h, "POST", tc.path, tc.body), 400, `{"ok":false,"error":"`+tc.msg+`"}`)
		if n := len(fake.Calls()); n != 0 {
			t.Fatalf("%s %s reached the controller (%d calls)", tc.path, tc.body, n)
		}
	}
}

func TestControllerErrorsMapToStatusCodes(t *testing.T) {
	fake := &apitest.Controller{}
	h := newTestHandler(fake, Options{})
	for _, tc := range []struct {
		err  error
		code int
		msg  string
	}{
		{&mlink.InputError{Msg: "target shop.orders is not empty"}, 400, "target shop.orders is not empty"},
		{fmt.Errorf("preflight: %w", &mlink.StateError{Op: mlink.OpStart, State: mlink.StateIdle, Reason: "lease held"}), 409, "preflight: cannot start: sync is idle: lease held"},
		{errors.New("connect: no reachable servers"), 500, "connect: no reachable servers"},
	} {
		fake.FailNext(tc.err)
		expect(t, send(t, h, "POST", "/start", ""), tc.code, `{"ok":false,"error":"`+tc.msg+`"}`)
	}
}

func TestRoutingErrors(t *testing.T) {
	h := newTestHandler(&apitest.Controller{}, Options{})
	expect(t, send(t, h, "GET", "/nope", ""), 404, `{"ok":false,"error":"unknown path \"/nope\""}`)
	expect(t, send(t, h, "GET", "/status/", ""), 404, `{"ok":false,"error":"unknown path \"/status/\""}`)

	r := send(t, h, "GET", "/start", "")
	expect(t, r, 405, `{"ok":false,"error":"method GET not allowed on /start (allowed: POST)"}`)
	if r.header.Get("Allow") != "POST" {
		t.Fatalf("Allow = %q", r.header.Get("Allow"))
	}
	r = send(t, h, "POST", "/status", "")
	expect(t, r, 405, `{"ok":false,"error":"method POST not allowed on /status (allowed: GET, HEAD)"}`)
	if r.header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("Allow = %q", r.header.Get("Allow"))
	}
	r = send(t, h, "DELETE", "/", "")
	if r.code != 405 || r.header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("DELETE / = %d Allow %q", r.code, r.header.Get("Allow"))
	}
	if r := send(t, h, "HEAD", "/status", ""); r.code != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("HEAD /status = %d %v", r.code, r.header)
	}
	if r := send(t, h, "GET", "/status", ""); r.header.Get("Cache-Control") != "no-store" || r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("headers = %v", r.header)
	}
}

func TestBodyLimit(t *testing.T) {
	fake := &apitest.Controller{}
	h := newTestHandler(fake, Options{})
	big := `{"includeNamespaces":["` + strings.Repeat("a", MaxBodyBytes) + `.b"]}`
	expect(t, send(t, h, "POST", "/start", big), 413, `{"ok":false,"error":"request body too large: limit is 1048576 bytes (1 MiB)"}`)
	// Just under the limit is read (and then judged on its content).
	justUnder := `{"includeNamespaces":["a.b"]}` + strings.Repeat(" ", MaxBodyBytes-len(`{"includeNamespaces":["a.b"]}`))
	expect(t, send(t, h, "POST", "/start", justUnder), 200, `{"ok":true}`)
	if len(fake.Calls()) != 1 {
		t.Fatalf("calls = %d", len(fake.Calls()))
	}
}

func TestTokenEnforcement(t *testing.T) {
	fake := &apitest.Controller{}
	h := newTestHandler(fake, Options{Token: "tok-123"})
	const missing = `{"ok":false,"error":"API token required: send Authorization: Bearer <token>"}`
	const invalid = `{"ok":false,"error":"invalid API token"}`
	for _, path := range []string{"/start", "/pause", "/resume", "/finalize", "/reset"} {
		r := send(t, h, "POST", path, "")
		expect(t, r, 401, missing)
		if r.header.Get("WWW-Authenticate") != `Bearer realm="mlink"` {
			t.Fatalf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
		}
		expect(t, send(t, h, "POST", path, "", "Authorization", "Bearer tok-12"), 401, invalid)
		expect(t, send(t, h, "POST", path, "", "Authorization", "Bearer tok-1234"), 401, invalid)
		expect(t, send(t, h, "POST", path, "", "Authorization", "Basic tok-123"), 401, missing)
	}
	expect(t, send(t, h, "GET", "/status", ""), 401, missing)
	// Unauthenticated requests never reach the controller, even with a wrong method.
	expect(t, send(t, h, "GET", "/start", ""), 401, missing)
	if n := len(fake.Calls()); n != 0 {
		t.Fatalf("controller got %d calls without a token", n)
	}

	expect(t, send(t, h, "GET", "/status", "", "Authorization", "Bearer tok-123"), 200, `{"ok":true,"state":"idle","eventsProcessed":0}`)
	expect(t, send(t, h, "POST", "/start", "", "Authorization", "bearer tok-123"), 200, `{"ok":true}`)
	if r := send(t, h, "GET", "/metrics", ""); r.code != 200 || !strings.Contains(r.body, `mlink_state{state="running"} 1`) {
		t.Fatalf("/metrics without token = %d %s", r.code, r.body)
	}
	if r := send(t, h, "GET", "/", ""); r.code != 200 || !strings.Contains(r.body, `id="lag-chart"`) {
		t.Fatalf("dashboard without token = %d", r.code)
	}
}

func TestCrossOriginPostsAreRefused(t *testing.T) {
	fake := &apitest.Controller{}
	h := newTestHandler(fake, Options{})
	expect(t, send(t, h, "POST", "/start", "{}", "Sec-Fetch-Site", "cross-site"), 403, `{"ok":false,"error":"cross-origin request refused"}`)
	expect(t, send(t, h, "POST", "/start", "{}", "Origin", "https://evil.example"), 403, `{"ok":false,"error":"cross-origin request refused"}`)
	// The dashboard's own same-origin calls and curl (no Origin) pass.
	expect(t, send(t, h, "POST", "/start", "{}", "Sec-Fetch-Site", "same-origin"), 200, `{"ok":true}`)
	expect(t, send(t, h, "POST", "/pause", ""), 200, `{"ok":true}`)
	if n := len(fake.Calls()); n != 2 {
		t.Fatalf("calls = %d, want 2", n)
	}
}

func TestRepliesNeverCarryCredentials(t *testing.T) {
	const pw = "hunter2pw"
	red := &mlink.Redactor{}
	red.AddURI("mongodb://bob:" + pw + "@src:27017")
	fake := &apitest.Controller{}
	fake.SetStatus(mlink.Status{
		Info:          "cloning",
		Error:         "lost mongodb://bob:" + pw + "@src:27017",
		Source:        "mongodb://bob:" + pw + "@src:27017",
		Warnings:      []mlink.Warning{{Kind: "x", Message: "driver said " + pw}},
		IndexFailures: []mlink.IndexFailure{{Namespace: "a.b", Index: "i", Error: "auth " + pw}},
		Extra:         map[string]string{"k": pw},
	})
	h := newTestHandler(fake, Options{Redactor: red})
	r := send(t, h, "GET", "/status", "")
	if r.code != 200 || strings.Contains(r.body, pw) || !strings.Contains(r.body, `"source":"mongodb://bob:xxxxx@src:27017"`) {
		t.Fatalf("status = %d %s", r.code, r.body)
	}
	if st := fake.Status(context.Background()); st.Warnings[0].Message != "driver said "+pw {
		t.Fatalf("redaction modified the controller's status: %q", st.Warnings[0].Message)
	}
	fake.FailNext(errors.New("dial mongodb://bob:" + pw + "@src:27017: refused"))
	expect(t, send(t, h, "POST", "/start", ""), 500, `{"ok":false,"error":"dial mongodb://bob:xxxxx@src:27017: refused"}`)
}

// slowController blocks pause until released; its panic op panics.
type slowController struct {
	*apitest.Controller
	release chan struct{}
}

func (c slowController) Pause(ctx context.Context) error {
	<-c.release
	return nil
}

func (c slowController) Reset(ctx context.Context) error { panic("engine bug") }

func TestSlowAndPanickingOperations(t *testing.T) {
	ctrl := slowController{Controller: &apitest.Controller{}, release: make(chan struct{})}
	defer close(ctrl.release)
	h := newTestHandler(ctrl, Options{OpTimeout: 50 * time.Millisecond})
	began := time.Now()
	expect(t, send(t, h, "POST", "/pause", ""), 500, `{"ok":false,"error":"pause did not complete within 50ms; check GET /status"}`)
	if d := time.Since(began); d > 5*time.Second {
		t.Fatalf("handler blocked %v", d)
	}
	expect(t, send(t, h, "POST", "/reset", ""), 500, `{"ok":false,"error":"internal error"}`)
}

func TestLoopbackHostsOnly(t *testing.T) {
	fake := &apitest.Controller{}
	h := newTestHandler(fake, Options{LoopbackHostsOnly: true})
	for _, host := range []string{"127.0.0.1:2242", "localhost:2242", "LOCALHOST", "[::1]:2242", "127.0.0.2"} {
		req := httptest.NewRequest("GET", "/status", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Errorf("Host %q: %d %s", host, rec.Code, rec.Body)
		}
	}
	for _, host := range []string{"evil.example:2242", "10.0.0.1:2242", "localhost.evil.example", ""} {
		req := httptest.NewRequest("POST", "/start", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		want := `{"ok":false,"error":"host \"` + host + `\" refused: the API answers only to localhost and loopback addresses"}` + "\n"
		if rec.Code != 403 || rec.Body.String() != want {
			t.Errorf("Host %q: %d %s", host, rec.Code, rec.Body)
		}
	}
	if n := len(fake.Calls()); n != 0 {
		t.Fatalf("refused hosts reached the controller: %d calls", n)
	}
}
