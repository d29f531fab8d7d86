package e2e

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/clone"
)

// filterDataset creates three databases of this test: shop (users, orders,
// logs and a view), crm (users, events) and tmp (scratch).
func filterDataset(t *testing.T, e *Env) {
	t.Helper()
	ctx := context.Background()
	for _, ns := range [][2]string{{"shop", "users"}, {"shop", "orders"}, {"shop", "logs"}, {"crm", "users"}, {"crm", "events"}, {"tmp", "scratch"}} {
		_, err := e.SrcColl(ns[0], ns[1]).InsertMany(ctx, []any{bson.D{{Key: "_id", Value: 1}, {Key: "ns", Value: ns[1]}}, bson.D{{Key: "_id", Value: 2}}})
		mustExec(t, err)
	}
	mustExec(t, e.Src.Database(e.DB("shop")).CreateView(ctx, "bigOrders", "orders", bson.A{}))
}

// userNamespaces lists every non-system namespace of a deployment (what a
// filter might have let through), as "db.coll".
func userNamespaces(t *testing.T, c *driver.Client) []string {
	t.Helper()
	ctx := context.Background()
	dbs, err := c.ListDatabaseNames(ctx, bson.D{})
	mustExec(t, err)
	var out []string
	for _, db := range dbs {
		if mlink.IsSystemDB(db) {
			continue
		}
		names, err := c.Database(db).ListCollectionNames(ctx, bson.D{})
		mustExec(t, err)
		for _, n := range names {
			if !strings.HasPrefix(n, "system.") {
				out = append(out, db+"."+n)
			}
		}
	}
	slices.Sort(out)
	return out
}

func TestCloneFilters(t *testing.T) {
	cases := []struct {
		name             string
		include, exclude func(e *Env) []string
		want             []string // db.coll of this test's databases
	}{{
		name:    "include only",
		include: func(e *Env) []string { return []string{e.NS("shop", "users"), e.NS("crm", "events")} },
		want:    []string{"crm.events", "shop.users"},
	}, {
		name: "exclude only",
		exclude: func(e *Env) []string {
			return append(otherDatabases(t, e), e.NS("shop", "logs"), e.DB("tmp")+".*")
		},
		want: []string{"crm.events", "crm.users", "shop.bigOrders", "shop.orders", "shop.users"},
	}, {
		name:    "include and exclude",
		include: func(e *Env) []string { return []string{e.DB("shop") + ".*", "/^" + e.DB("crm") + `\.u/`} },
		exclude: func(e *Env) []string { return []string{e.NS("shop", "orders")} },
		want:    []string{"crm.users", "shop.bigOrders", "shop.logs", "shop.users"},
	}, {
		name:    "whole database",
		include: func(e *Env) []string { return []string{e.DB("crm") + ".*"} },
		want:    []string{"crm.events", "crm.users"},
	}, {
		name:    "regex",
		include: func(e *Env) []string { return []string{"/^" + e.DB("") + `(shop|crm)\.(users|orders)$/`} },
		want:    []string{"crm.users", "shop.orders", "shop.users"},
	}, {
		name:    "exclude wins over include",
		include: func(e *Env) []string { return []string{e.NS("tmp", "scratch")} },
		exclude: func(e *Env) []string { return []string{"/scratch/"} },
		want:    nil,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEnv(t)
			filterDataset(t, e)
			var include, exclude []string
			if tc.include != nil {
				include = tc.include(e)
			}
			if tc.exclude != nil {
				exclude = tc.exclude(e)
			}
			filter, err := mlink.NewFilter(include, exclude)
			mustExec(t, err)
			before := userNamespaces(t, e.Dst)
			e.runClone(t, clone.Options{Filter: filter})

			var got []string
			for _, ns := range userNamespaces(t, e.Dst) {
				if _, found := slices.BinarySearch(before, ns); found {
					continue
				}
				if !strings.HasPrefix(ns, e.DB("")) {
					t.Errorf("clone created %s, outside this test's databases", ns)
					continue
				}
				got = append(got, strings.TrimPrefix(ns, e.DB("")))
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("target namespaces: got %v, want %v", got, tc.want)
			}
			// What was selected is equal, per the verifier over the same
			// filter and per the independent comparison of the selection.
			rep := e.verifyClone(t, filter, false)
			if n := len(rep.Namespaces); n != len(tc.want) {
				t.Errorf("verifier compared %d namespaces, want %d", n, len(tc.want))
			}
			for _, ns := range tc.want {
				db, coll, _ := strings.Cut(ns, ".")
				if coll != "bigOrders" {
					compareDocs(t, e.Src, e.Dst, e.DB(db), coll)
				}
			}
		})
	}
}

// otherDatabases returns db.* patterns for every source database that is
// not this test's (on a shared real deployment an exclude-only filter must
// not copy someone else's data).
func otherDatabases(t *testing.T, e *Env) []string {
	t.Helper()
	dbs, err := e.Src.ListDatabaseNames(context.Background(), bson.D{})
	mustExec(t, err)
	var out []string
	for _, db := range dbs {
		if !strings.HasPrefix(db, e.DB("")) && !mlink.IsSystemDB(db) {
			out = append(out, db+".*")
		}
	}
	return out
}

// TestStartRejectsInvalidFilters starts a sync with invalid patterns: the
// engine refuses before touching the target, naming every bad pattern.
func TestStartRejectsInvalidFilters(t *testing.T) {
	e := NewEnv(t)
	filterDataset(t, e)
	bad := []string{"nodot", "/unclosed", "db.col*", "/(/", " spaced.x", "db.$cmd", "a/b.c"}
	eng := e.newEngine(t, nil)
	before := userNamespaces(t, e.Dst)
	err := eng.Start(context.Background(), mlink.StartRequest{IncludeNamespaces: bad[:4], ExcludeNamespaces: bad[4:]})
	if err == nil {
		t.Fatal("start accepted invalid namespace patterns")
	}
	var ie *mlink.InputError
	if !errors.As(err, &ie) {
		t.Errorf("error is %T, want *mlink.InputError (a 400 for the API): %v", err, err)
	}
	for _, p := range bad {
		if !strings.Contains(err.Error(), `"`+p+`"`) {
			t.Errorf("error does not name pattern %q: %v", p, err)
		}
	}
	if st := eng.Status(context.Background()); st.State != mlink.StateIdle {
		t.Errorf("state after a rejected start: %s, want idle", st.State)
	}
	if after := userNamespaces(t, e.Dst); !slices.Equal(before, after) {
		t.Errorf("target namespaces changed: before %v, after %v", before, after)
	}
	n, err := e.Dst.Database(mlink.MetaDB).Collection(mlink.MetaSyncColl).CountDocuments(context.Background(), bson.D{})
	mustExec(t, err)
	if n != 0 {
		t.Errorf("a rejected start left %d sync checkpoint(s) on the target", n)
	}
}
