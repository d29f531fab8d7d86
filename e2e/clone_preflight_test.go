package e2e

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/clone"
	"github.com/mlink-dev/mlink/mongo"
	"github.com/mlink-dev/mlink/mongosim"
	"github.com/mlink-dev/mlink/mongosim/simtest"
)

// connect opens an mlink client closed when the test ends.
func connect(t *testing.T, uri string, role mongo.Role) *mongo.Client {
	t.Helper()
	c, err := mongo.Connect(context.Background(), uri, role)
	mustExec(t, err)
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// preflight plans with filter (this test's databases when nil) and runs
// preflight.
func preflight(t *testing.T, src, dst *mongo.Client, filter *mlink.Filter, opts clone.PreflightOptions) (clone.Report, error) {
	t.Helper()
	ctx := context.Background()
	plan, err := clone.BuildPlan(ctx, src, filter)
	mustExec(t, err)
	return clone.Preflight(ctx, src, dst, plan, opts)
}

func wantErrContaining(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("preflight passed; want an error containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

// TestPreflightRefusesStandalone: either side a standalone server (no
// replica set, so no change streams) is refused, naming the side.
func TestPreflightRefusesStandalone(t *testing.T) {
	if IsReal() {
		t.Skip("needs a standalone server: simulated with mongosim only")
	}
	standalone := simtest.Start(t, mongosim.Options{Standalone: true})
	rs := simtest.Start(t, mongosim.Options{ReplSetName: "rs9"})
	_, err := preflight(t, connect(t, standalone.URI(), mongo.RoleSource), connect(t, rs.URI(), mongo.RoleTarget), nil, clone.PreflightOptions{})
	wantErrContaining(t, err, "source is a standalone server", "replica set")
	_, err = preflight(t, connect(t, rs.URI(), mongo.RoleSource), connect(t, standalone.URI(), mongo.RoleTarget), nil, clone.PreflightOptions{})
	wantErrContaining(t, err, "target is a standalone server")
}

// TestPreflightRefusesOldVersions: MongoDB before 6.0.17 on either side is
// refused with the version found and the version needed; 6.0.17 passes.
func TestPreflightRefusesOldVersions(t *testing.T) {
	if IsReal() {
		t.Skip("needs servers of chosen versions: simulated with mongosim only")
	}
	old := simtest.Start(t, mongosim.Options{Version: "6.0.16", ReplSetName: "old"})
	ok := simtest.Start(t, mongosim.Options{Version: "6.0.17", ReplSetName: "ok"})
	newer := simtest.Start(t, mongosim.Options{Version: "8.0.4", ReplSetName: "new"})
	_, err := preflight(t, connect(t, old.URI(), mongo.RoleSource), connect(t, newer.URI(), mongo.RoleTarget), nil, clone.PreflightOptions{})
	wantErrContaining(t, err, "source runs MongoDB 6.0.16", "6.0.17 or newer")
	_, err = preflight(t, connect(t, newer.URI(), mongo.RoleSource), connect(t, old.URI(), mongo.RoleTarget), nil, clone.PreflightOptions{})
	wantErrContaining(t, err, "target runs MongoDB 6.0.16")
	rep, err := preflight(t, connect(t, ok.URI(), mongo.RoleSource), connect(t, newer.URI(), mongo.RoleTarget), nil, clone.PreflightOptions{})
	mustExec(t, err)
	if rep.Source.Version != "6.0.17" || rep.Target.Version != "8.0.4" {
		t.Errorf("report versions: source %q, target %q", rep.Source.Version, rep.Target.Version)
	}
}

// TestPreflightRefusesSameDeployment: the same deployment on both sides is
// refused, also when the two URIs spell the host differently.
func TestPreflightRefusesSameDeployment(t *testing.T) {
	e := NewEnv(t)
	uris := []string{e.SrcURI}
	if !IsReal() {
		uris = append(uris, strings.Replace(e.SrcURI, "127.0.0.1", "localhost", 1))
	}
	for _, uri := range uris {
		_, err := preflight(t, connect(t, e.SrcURI, mongo.RoleSource), connect(t, uri, mongo.RoleTarget), e.Filter(), clone.PreflightOptions{})
		wantErrContaining(t, err, "same deployment")
	}
}

// TestPreflightTargetHoldsData: namespaces of the plan that hold data on
// the target are refused by name; with OverwriteTarget preflight passes
// and the clone drops and re-creates them (target-only documents and
// options disappear), leaving untouched what the plan does not cover.
func TestPreflightTargetHoldsData(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	for _, c := range []string{"a", "b", "c"} {
		_, err := e.SrcColl("app", c).InsertOne(ctx, bson.D{{Key: "_id", Value: c}, {Key: "src", Value: true}})
		mustExec(t, err)
	}
	// On the target: a holds a stray document, b exists empty with other
	// options, outside holds data the filter does not select.
	_, err := e.DstColl("app", "a").InsertOne(ctx, bson.D{{Key: "_id", Value: "stray"}})
	mustExec(t, err)
	mustExec(t, e.Dst.Database(e.DB("app")).CreateCollection(ctx, "b", options.CreateCollection().SetCollation(&options.Collation{Locale: "fr"})))
	_, err = e.DstColl("other", "outside").InsertOne(ctx, bson.D{{Key: "_id", Value: 1}})
	mustExec(t, err)

	src, dst := e.Clients()
	filter := mlink.MustFilter([]string{e.DB("app") + ".*"}, nil)
	rep, err := preflight(t, src, dst, filter, clone.PreflightOptions{})
	wantErrContaining(t, err, "target already holds data", e.NS("app", "a"), "overwriteTarget")
	var ie *mlink.InputError
	if !errors.As(err, &ie) {
		t.Errorf("error is %T, want *mlink.InputError", err)
	}
	if strings.Contains(err.Error(), e.NS("app", "b")) {
		t.Errorf("empty target collection named as holding data: %v", err)
	}
	if !slices.Equal(rep.NonEmpty, []string{e.NS("app", "a")}) {
		t.Errorf("NonEmpty = %v, want [%s]", rep.NonEmpty, e.NS("app", "a"))
	}

	rep, err = preflight(t, src, dst, filter, clone.PreflightOptions{OverwriteTarget: true})
	mustExec(t, err)
	if !slices.Equal(rep.NonEmpty, []string{e.NS("app", "a")}) {
		t.Errorf("with overwrite, NonEmpty = %v, want it still listed", rep.NonEmpty)
	}
	e.runClone(t, clone.Options{Filter: filter})
	e.verifyClone(t, filter, false)
	for _, c := range []string{"a", "b", "c"} {
		compareDocs(t, e.Src, e.Dst, e.DB("app"), c)
	}
	sc, dc := listColls(t, e.Src, e.DB("app")), listColls(t, e.Dst, e.DB("app"))
	if string(sc["b"]) != string(dc["b"]) {
		t.Errorf("app.b was not re-created with the source options:\n source %s\n target %s", bson.Raw(sc["b"]), bson.Raw(dc["b"]))
	}
	if n := countDocs(t, e.DstColl("other", "outside")); n != 1 {
		t.Errorf("a namespace outside the plan changed: %d documents, want 1", n)
	}
}

// TestTimeseriesIsUnsupported: a time series collection the filter selects
// is listed as unsupported by the plan, preflight and the clone — never
// silently skipped — and nothing of it is written to the target.
func TestTimeseriesIsUnsupported(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	db := e.Src.Database(e.DB("metrics"))
	mustExec(t, db.CreateCollection(ctx, "cpu", options.CreateCollection().SetTimeSeriesOptions(
		options.TimeSeries().SetTimeField("ts").SetMetaField("host"))))
	_, err := db.Collection("cpu").InsertOne(ctx, bson.D{{Key: "ts", Value: bson.NewDateTimeFromTime(time.Now())}, {Key: "host", Value: "h1"}, {Key: "v", Value: 0.5}})
	mustExec(t, err)
	_, err = db.Collection("plain").InsertOne(ctx, bson.D{{Key: "_id", Value: 1}})
	mustExec(t, err)

	src, dst := e.Clients()
	ns := e.NS("metrics", "cpu")
	rep, err := preflight(t, src, dst, e.Filter(), clone.PreflightOptions{})
	mustExec(t, err)
	if len(rep.Unsupported) != 1 || rep.Unsupported[0].NS != ns || !strings.Contains(rep.Unsupported[0].Reason, "time series") {
		t.Errorf("preflight unsupported = %+v, want %s as a time series collection", rep.Unsupported, ns)
	}
	cl := e.runClone(t, clone.Options{})
	if u := cl.Unsupported(); len(u) != 1 || u[0].NS != ns {
		t.Errorf("clone unsupported = %+v, want [%s]", u, ns)
	}
	got := userNamespaces(t, e.Dst)
	if slices.Contains(got, ns) || slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "system.buckets") }) {
		t.Errorf("time series data reached the target: %v", got)
	}
	if !slices.Contains(got, e.NS("metrics", "plain")) {
		t.Errorf("the supported collection next to it was not cloned: %v", got)
	}
	// A resumed clone still reports it (the plan is kept in the checkpoint).
	again := clone.New(src, dst, clone.Options{Filter: e.Filter()})
	mustExec(t, again.Run(ctx))
	if u := again.Unsupported(); len(u) != 1 || u[0].NS != ns {
		t.Errorf("resumed clone unsupported = %+v, want [%s]", u, ns)
	}
}
