package mlink

import (
	"strings"
	"testing"
)

// FuzzNewFilter checks the filter's rules hold for any patterns and any
// namespace: no panic; a valid filter echoes its patterns; system
// namespaces never match; exclude always wins; Match implies MayMatchDB;
// an exact "db.coll" pattern matches that namespace; errors name the
// offending pattern.
func FuzzNewFilter(f *testing.F) {
	for _, s := range [][3]string{
		{"shop.orders", "", "shop.orders"},
		{"shop.*", "shop.tmp", "shop.tmp"},
		{"/^crm\\./", "", "crm.leads"},
		{"/(/", "", "a.b"},
		{"shop", "", "shop.x"},
		{"", "admin.*", "admin.users"},
		{"a.b.c", "", "a.b.c"},
		{"/a/", "/b/", "ab.ba"},
		{"db.*x", "", "db.x"},
		{" a.b", "", "a.b"},
		{"a.$cmd", "", "a.$cmd"},
		{"local.*", "", "local.oplog.rs"},
		{"x.system.views", "", "x.system.views"},
		{"/", "", "a.b"},
		{"//", "", "a.b"},
		{"mlink.*", "", "mlink.checkpoints"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, inc, exc, nsText string) {
		var include, exclude []string
		if inc != "" {
			include = strings.Split(inc, "\n")
		}
		if exc != "" {
			exclude = strings.Split(exc, "\n")
		}
		flt, err := NewFilter(include, exclude)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "invalid namespace filter: pattern ") {
				t.Fatalf("error %q does not name a pattern", msg)
			}
			return
		}
		if strings.Join(flt.Include(), "\n") != strings.Join(include, "\n") || strings.Join(flt.Exclude(), "\n") != strings.Join(exclude, "\n") {
			t.Fatalf("patterns not echoed: %q %q -> %q %q", include, exclude, flt.Include(), flt.Exclude())
		}
		ns, err := ParseNamespace(nsText)
		if err != nil {
			return
		}
		matched := flt.Match(ns)
		if matched && ns.IsSystem() {
			t.Fatalf("system namespace %s matched", ns)
		}
		if matched && !flt.MayMatchDB(ns.DB) {
			t.Fatalf("%s matches but MayMatchDB(%q) is false", ns, ns.DB)
		}
		// The same patterns as both include and exclude select nothing.
		if both, err := NewFilter(include, include); err != nil || (len(include) > 0 && both.Match(ns)) {
			t.Fatalf("exclude did not win for %s with %q (err %v)", ns, include, err)
		}
		// An exact pattern for the namespace, when valid, selects it
		// unless it is a system namespace.
		if exact, err := NewFilter([]string{ns.String()}, nil); err == nil && exact.Match(ns) == ns.IsSystem() {
			t.Fatalf("exact pattern %q: Match = %v, IsSystem = %v", ns.String(), exact.Match(ns), ns.IsSystem())
		}
	})
}
