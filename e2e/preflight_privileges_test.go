package e2e

import (
	"context"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/clone"
	"github.com/mlink-dev/mlink/mongo"
	"github.com/mlink-dev/mlink/mongosim/auth"
	"github.com/mlink-dev/mlink/mongosim/simtest"
)

// TestPreflightNamesMissingPrivileges: a source user who can read one
// database but cannot open a cluster-wide change stream, and a target user
// who can only read, are refused before anything is written, each missing
// action named.
func TestPreflightNamesMissingPrivileges(t *testing.T) {
	if IsReal() {
		t.Skip("needs servers with chosen users: simulated with mongosim only")
	}
	admin := auth.User{Name: "admin", Password: "adminpw", Roles: []auth.Role{{Name: "root", DB: "admin"}}}
	srcSim := simtest.StartWithUsers(t, admin, auth.User{Name: "reader", Password: "readerpw", Roles: []auth.Role{{Name: "read", DB: "shop"}}})
	dstSim := simtest.StartWithUsers(t, admin, auth.User{Name: "viewer", Password: "viewerpw", Roles: []auth.Role{{Name: "readAnyDatabase", DB: "admin"}}})
	ctx := context.Background()
	seed := simtest.Client(t, simtest.UserURI(srcSim.URI(), "admin", "adminpw"))
	_, err := seed.Database("shop").Collection("orders").InsertOne(ctx, bson.D{{Key: "_id", Value: 1}})
	mustExec(t, err)

	connect := func(uri string, role mongo.Role) *mongo.Client {
		c, err := mongo.Connect(ctx, uri, role)
		mustExec(t, err)
		t.Cleanup(func() { _ = c.Close(ctx) })
		return c
	}
	filter := mlink.MustFilter([]string{"shop.*"}, nil)
	check := func(src, dst *mongo.Client, want ...string) {
		t.Helper()
		plan, err := clone.BuildPlan(ctx, src, filter)
		mustExec(t, err)
		_, err = clone.Preflight(ctx, src, dst, plan, clone.PreflightOptions{})
		if err == nil {
			t.Fatal("preflight accepted users without the privileges mlink needs")
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("preflight error does not name %q: %v", w, err)
			}
		}
	}
	goodDst := connect(simtest.UserURI(dstSim.URI(), "admin", "adminpw"), mongo.RoleTarget)
	check(connect(simtest.UserURI(srcSim.URI(), "reader", "readerpw"), mongo.RoleSource), goodDst,
		"source user lacks", `"changeStream" on all databases`, `"listDatabases" on the cluster`)
	goodSrc := connect(simtest.UserURI(srcSim.URI(), "admin", "adminpw"), mongo.RoleSource)
	check(goodSrc, connect(simtest.UserURI(dstSim.URI(), "viewer", "viewerpw"), mongo.RoleTarget),
		"target user lacks", `"insert", "update", "remove", "createCollection"`, `on database mlink; `, `on database shop`)
}
