package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/mlink-dev/mlink"
	"github.com/mlink-dev/mlink/clone"
	"github.com/mlink-dev/mlink/engine"
	"github.com/mlink-dev/mlink/repl"
	"github.com/mlink-dev/mlink/verify"
)

// newEngine starts an mlink engine between the test's source and target.
func (e *Env) newEngine(t *testing.T, tune func(*engine.Config)) *engine.Engine {
	t.Helper()
	cfg := engine.Config{
		SourceURI: e.SrcURI, TargetURI: e.DstURI,
		Clone: clone.Options{CheckpointInterval: 100 * time.Millisecond},
		Repl:  repl.Options{CheckpointInterval: 200 * time.Millisecond, MaxAwait: 100 * time.Millisecond, SourceTimeInterval: 200 * time.Millisecond},
	}
	if tune != nil {
		tune(&cfg)
	}
	eng, err := engine.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	return eng
}

// waitStatus polls the engine's status until cond holds; a failed sync or
// the timeout ends the test.
func waitStatus(t *testing.T, eng *engine.Engine, what string, timeout time.Duration, cond func(mlink.Status) bool) mlink.Status {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := eng.Status(context.Background())
		if cond(st) {
			return st
		}
		if st.State == mlink.StateFailed {
			t.Fatalf("sync failed while waiting for %s: %s", what, st.Error)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; status: state=%s info=%q error=%q", what, st.State, st.Info, st.Error)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func initialSyncDone(st mlink.Status) bool { return st.InitialSync != nil && st.InitialSync.Completed }

// finalizeAndVerify finalizes the sync, then checks source and target are
// equal with the verifier and with the independent comparison.
func (e *Env) finalizeAndVerify(t *testing.T, eng *engine.Engine) {
	t.Helper()
	if err := eng.Finalize(context.Background(), mlink.FinalizeRequest{}); err != nil {
		t.Fatalf("finalize: %v (sync error: %s)", err, failedStatus(eng))
	}
	st := waitStatus(t, eng, "finalized", 2*time.Minute, func(st mlink.Status) bool { return st.State == mlink.StateFinalized })
	for _, f := range st.IndexFailures {
		t.Errorf("index failure: %+v", f)
	}
	e.verifyEqual(t)
	e.AssertSameData(t)
}

// verifyEqual runs mlink's verifier over this test's namespaces.
func (e *Env) verifyEqual(t *testing.T) {
	t.Helper()
	src, dst := e.Clients()
	rep, err := verify.Run(context.Background(), src, dst, verify.Options{Filter: e.Filter()})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !rep.Equal() {
		var b strings.Builder
		_ = rep.WriteText(&b)
		t.Fatalf("verifier found differences:\n%s", b.String())
	}
}

// run runs a command on the source and fails the test on error.
func (e *Env) run(t *testing.T, db string, cmd bson.D) bson.Raw {
	t.Helper()
	res, err := e.Src.Database(e.DB(db)).RunCommand(context.Background(), cmd).Raw()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprint(cmd[0].Key), err)
	}
	return res
}

// failedStatus reports the engine's error when it failed.
func failedStatus(eng interface {
	Status(context.Context) mlink.Status
}) string {
	st := eng.Status(context.Background())
	if st.State == mlink.StateFailed {
		return st.Error
	}
	return ""
}

// failTargetOnce arms mongod's failCommand fail point on the target for
// one command matching data (failCommands, errorCode, blockConnection …);
// the test's end turns it off.
func (e *Env) failTargetOnce(t *testing.T, data bson.D) {
	t.Helper()
	mustExec(t, e.Dst.Database("admin").RunCommand(context.Background(), bson.D{
		{Key: "configureFailPoint", Value: "failCommand"},
		{Key: "mode", Value: bson.D{{Key: "times", Value: 1}}},
		{Key: "data", Value: data},
	}).Err())
	t.Cleanup(func() {
		_ = e.Dst.Database("admin").RunCommand(context.Background(), bson.D{{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: "off"}}).Err()
	})
}
