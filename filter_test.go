package mlink

import (
	"strings"
	"testing"
)

func ns(s string) Namespace {
	n, err := ParseNamespace(s)
	if err != nil {
		panic(err)
	}
	return n
}

func TestFilterRules(t *testing.T) {
	cases := []struct {
		name             string
		include, exclude []string
		match, noMatch   []string
	}{
		{"empty means everything", nil, nil,
			[]string{"a.b", "shop.orders", "x.y.z"},
			[]string{"admin.users", "config.x", "local.oplog.rs", "mlink.checkpoint", "a.system.views", "a.system.js"}},
		{"include exact", []string{"shop.orders"}, nil,
			[]string{"shop.orders"}, []string{"shop.items", "shop.orders2", "other.orders"}},
		{"include db.*", []string{"shop.*"}, nil,
			[]string{"shop.orders", "shop.items.v2"}, []string{"shopx.orders", "other.a", "shop.system.views"}},
		{"exclude only", nil, []string{"shop.secret", "logs.*"},
			[]string{"shop.orders", "app.logs"}, []string{"shop.secret", "logs.a", "logs.b"}},
		{"exclude wins over include", []string{"shop.*"}, []string{"shop.secret"},
			[]string{"shop.orders"}, []string{"shop.secret", "other.a"}},
		{"regex on full name", []string{`/^shop\.ord/`}, []string{`/tmp$/`},
			[]string{"shop.orders", "shop.ord"}, []string{"shop.orders_tmp", "myshop.orders", "x.shop.ord"}},
		{"regex is unanchored", []string{`/ord/`}, nil,
			[]string{"shop.orders", "a.word"}, []string{"shop.items"}},
		{"system never matches even if included", []string{"admin.*", "/.*/"}, nil,
			[]string{"a.b"}, []string{"admin.x", "local.a", "a.system.buckets.t"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := NewFilter(c.include, c.exclude)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range c.match {
				if !f.Match(ns(s)) {
					t.Errorf("%s should match", s)
				}
			}
			for _, s := range c.noMatch {
				if f.Match(ns(s)) {
					t.Errorf("%s should not match", s)
				}
			}
		})
	}
}

func TestFilterInvalidPatternsAreNamed(t *testing.T) {
	for _, p := range []string{"", "nodot", ".coll", "db.", "/unterminated", "/(/", "//", "db.a*", " db.c", "a/b.c", "db.$x"} {
		_, err := NewFilter([]string{p}, nil)
		if err == nil {
			t.Errorf("pattern %q accepted", p)
			continue
		}
		if !strings.Contains(err.Error(), "\""+p+"\"") && !strings.Contains(err.Error(), strings.ReplaceAll(p, `\`, `\\`)) {
			t.Errorf("error for %q does not name it: %v", p, err)
		}
	}
	_, err := NewFilter([]string{"ok.a"}, []string{"bad"})
	if err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Fatalf("exclude pattern not validated: %v", err)
	}
}

func TestFilterMayMatchDB(t *testing.T) {
	f := MustFilter([]string{"shop.*", "crm.users"}, []string{"logs.*"})
	for db, want := range map[string]bool{"shop": true, "crm": true, "logs": false, "other": false, "admin": false, "mlink": false} {
		if got := f.MayMatchDB(db); got != want {
			t.Errorf("MayMatchDB(%s) = %v, want %v", db, got, want)
		}
	}
	re := MustFilter([]string{"/^a/"}, nil)
	if !re.MayMatchDB("anything") {
		t.Error("regex include must not rule out databases")
	}
	if !MustFilter(nil, []string{"x.y"}).MayMatchDB("x") {
		t.Error("excluding one collection must not rule out its database")
	}
}

func TestStateMachine(t *testing.T) {
	type step struct {
		s     State
		op    Op
		ff    bool
		allow bool
	}
	for _, c := range []step{
		{StateIdle, OpStart, false, true}, {StateRunning, OpStart, false, false},
		{StateFinalized, OpStart, false, true}, {StateRunning, OpPause, false, true},
		{StatePaused, OpPause, false, false}, {StatePaused, OpResume, false, true},
		{StateRunning, OpResume, false, false}, {StateFailed, OpResume, false, false},
		{StateFailed, OpResume, true, true}, {StatePaused, OpResume, true, false},
		{StateRunning, OpFinalize, false, true}, {StatePaused, OpFinalize, false, true},
		{StateIdle, OpFinalize, false, false}, {StateFinalizing, OpFinalize, false, false},
		{StateRunning, OpReset, false, false}, {StateFailed, OpReset, false, true},
		{StateFinalizing, OpPause, false, false},
	} {
		if got := Allowed(c.s, c.op, c.ff); got != c.allow {
			t.Errorf("Allowed(%s, %s, %v) = %v", c.s, c.op, c.ff, got)
		}
	}
	err := Check(StateFailed, OpResume, false)
	if err == nil || !strings.Contains(err.Error(), "failed") || !strings.Contains(err.Error(), "--from-failure") {
		t.Fatalf("unexpected: %v", err)
	}
}

func TestRedact(t *testing.T) {
	r := &Redactor{}
	uri := "mongodb://admin:s3cr%40t@h1:27017,h2/?replicaSet=rs0&authSource=admin"
	r.AddURI(uri)
	got := r.String("connect " + uri + " failed: auth s3cr@t rejected")
	if strings.Contains(got, "s3cr") {
		t.Fatalf("secret leaked: %s", got)
	}
	if !strings.Contains(got, "mongodb://admin:xxxxx@h1:27017") {
		t.Fatalf("user or host lost: %s", got)
	}
	if g := RedactURI("mongodb+srv://u:p@x.example.net/db?tlsCertificateKeyFilePassword=abc"); g != "mongodb+srv://u:xxxxx@x.example.net/db?tlsCertificateKeyFilePassword=xxxxx" {
		t.Fatalf("got %s", g)
	}
	if g := RedactURI("mongodb://h:1/"); g != "mongodb://h:1/" {
		t.Fatalf("credential-free URI changed: %s", g)
	}
}
