package mongo

import "testing"

func TestAllows(t *testing.T) {
	acts := func(a ...string) map[string]bool {
		m := map[string]bool{}
		for _, x := range a {
			m[x] = true
		}
		return m
	}
	privs := []Privilege{
		{DB: "", SystemBuckets: true, Actions: acts("insert")},       // readWriteAnyDatabase's bucket entry
		{DB: "shop", Collection: "", Actions: acts("find")},          // read on shop
		{DB: "", Collection: "orders", Actions: acts("update")},      // orders in any db
		{Cluster: true, Actions: acts("listDatabases")},              // cluster action
		{DB: "crm", Collection: "contacts", Actions: acts("remove")}, // one collection
	}
	cases := []struct {
		action, db, coll string
		cluster, want    bool
	}{
		{"insert", "shop", "", false, false}, // only bucket collections were granted
		{"find", "shop", "", false, true},
		{"find", "crm", "", false, false},
		{"update", "any", "orders", false, true},
		{"update", "any", "items", false, false},
		{"listDatabases", "", "", true, true},
		{"listDatabases", "shop", "", false, false},
		{"remove", "crm", "contacts", false, true},
		{"remove", "crm", "", false, false},
	}
	for _, c := range cases {
		if got := Allows(privs, c.action, c.db, c.coll, c.cluster); got != c.want {
			t.Errorf("Allows(%s on %q.%q cluster=%v) = %v, want %v", c.action, c.db, c.coll, c.cluster, got, c.want)
		}
	}
	if !Allows([]Privilege{{AnyResource: true, Actions: acts("find")}}, "find", "x", "", false) {
		t.Error("anyResource must allow everything")
	}
}
