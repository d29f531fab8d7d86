package dashboard

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestPageHasTheStableIDs(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET / = %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	body := rec.Body.String()
	for _, id := range []string{"state", "lag", "lag-chart", "events", "clone-total", "warnings", "index-failures",
		"clone-collections", "token", "btn-pause", "btn-resume", "btn-finalize", "info", "error"} {
		if n := strings.Count(body, `id="`+id+`"`); n != 1 {
			t.Errorf("id %q appears %d times, want 1", id, n)
		}
	}
	if !regexp.MustCompile(`<canvas id="lag-chart" data-points="0"`).MatchString(body) {
		t.Error("lag chart canvas lacks data-points")
	}
	// Self-contained: nothing loaded from elsewhere.
	for _, bad := range []string{"http://", "https://", "<script src", "<link "} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	// Every value from the daemon is written with textContent, never as HTML.
	if strings.Contains(body, "innerHTML") {
		t.Error("page uses innerHTML")
	}
}

func TestCSPAllowsExactlyTheInlineScriptAndStyle(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	policy := rec.Header().Get("Content-Security-Policy")
	if strings.Contains(policy, "unsafe-inline") || !strings.HasPrefix(policy, "default-src 'none'; ") {
		t.Fatalf("policy = %s", policy)
	}
	for tag, directive := range map[string]string{"script": "script-src", "style": "style-src"} {
		m := regexp.MustCompile(`(?s)<` + tag + `>(.*?)</` + tag + `>`).FindStringSubmatch(rec.Body.String())
		if m == nil {
			t.Fatalf("no inline <%s>", tag)
		}
		sum := sha256.Sum256([]byte(m[1]))
		want := directive + " 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "';"
		if !strings.Contains(policy, want) {
			t.Errorf("policy lacks %s", want)
		}
	}
	if rec.Header().Get("X-Frame-Options") != "DENY" {
		t.Error("page can be framed")
	}
}
