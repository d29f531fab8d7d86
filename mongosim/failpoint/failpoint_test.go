package failpoint

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

func strs(s ...string) bsoncore.Value {
	vals := make([]bsoncore.Value, len(s))
	for i, x := range s {
		vals[i] = bsonkit.String(x)
	}
	return bsonkit.Array(vals...)
}

func configure(t *testing.T, r *Registry, mode bsoncore.Value, data bsoncore.Document) int32 {
	t.Helper()
	cmd := bsonkit.D("configureFailPoint", bsonkit.String(FailCommand), "mode", mode, "data", bsonkit.DocValue(data))
	reply, err := r.Configure(cmd)
	if err != nil {
		t.Fatalf("configure: %v", err)
	}
	if keys := reply.String(); reply.Lookup("count").Type != bsoncore.TypeInt32 {
		t.Fatalf("reply %s", keys)
	}
	return reply.Lookup("count").Int32()
}

func code(err error) int32 {
	var me *mongoerr.Error
	if errors.As(err, &me) {
		return me.Code
	}
	return -1
}

var insert = Command{Name: "insert", NS: "db.c"}
var find = Command{Name: "find", NS: "db.c"}

func fails(t *testing.T, r *Registry, c Command) bool {
	t.Helper()
	a, err := r.FailCommand(c)
	if err != nil {
		t.Fatalf("FailCommand: %v", err)
	}
	return a != nil && a.Err != nil
}

func TestParseConfig(t *testing.T) {
	ok := []struct {
		mode bsoncore.Value
		want Config
	}{
		{bsonkit.String("off"), Config{Mode: Off}},
		{bsonkit.String("alwaysOn"), Config{Mode: AlwaysOn}},
		{bsonkit.DocValue(bsonkit.D("times", bsonkit.Int32(3))), Config{Mode: Times, N: 3}},
		{bsonkit.DocValue(bsonkit.D("times", bsonkit.Double(2))), Config{Mode: Times, N: 2}},
		{bsonkit.DocValue(bsonkit.D("skip", bsonkit.Int64(4))), Config{Mode: Skip, N: 4}},
		{bsonkit.DocValue(bsonkit.D("activationProbability", bsonkit.Double(0.25))), Config{Mode: Random, Probability: 0.25}},
	}
	for _, c := range ok {
		got, err := ParseConfig(bsonkit.D("configureFailPoint", bsonkit.String("failCommand"), "mode", c.mode))
		if err != nil || got.Mode != c.want.Mode || got.N != c.want.N || got.Probability != c.want.Probability {
			t.Errorf("mode %v: %+v %v", c.mode, got, err)
		}
	}
	bad := []struct {
		cmd  bsoncore.Document
		code int32
	}{
		{bsonkit.D("configureFailPoint", bsonkit.String("failCommand")), mongoerr.IllegalOperation},
		{bsonkit.D("mode", bsonkit.String("sometimes")), mongoerr.BadValue},
		{bsonkit.D("mode", bsonkit.Int32(1)), mongoerr.TypeMismatch},
		{bsonkit.D("mode", bsonkit.DocValue(bsonkit.D("times", bsonkit.Int32(-1)))), mongoerr.BadValue},
		{bsonkit.D("mode", bsonkit.DocValue(bsonkit.D("times", bsonkit.Int64(1<<40)))), mongoerr.BadValue},
		{bsonkit.D("mode", bsonkit.DocValue(bsonkit.D("times", bsonkit.String("1")))), mongoerr.TypeMismatch},
		{bsonkit.D("mode", bsonkit.DocValue(bsonkit.D("times", bsonkit.Double(1.5)))), mongoerr.BadValue},
		{bsonkit.D("mode", bsonkit.DocValue(bsonkit.D("skip", bsonkit.Int32(-2)))), mongoerr.BadValue},
		{bsonkit.D("mode", bsonkit.DocValue(bsonkit.D("activationProbability", bsonkit.String("x")))), mongoerr.TypeMismatch},
		{bsonkit.D("mode", bsonkit.DocValue(bsonkit.D("activationProbability", bsonkit.Double(1.5)))), mongoerr.BadValue},
		{bsonkit.D("mode", bsonkit.DocValue(bsonkit.D("often", bsonkit.Int32(1)))), mongoerr.BadValue},
		{bsonkit.D("mode", bsonkit.String("alwaysOn"), "data", bsonkit.Int32(1)), mongoerr.TypeMismatch},
	}
	for _, c := range bad {
		if _, err := ParseConfig(c.cmd); code(err) != c.code {
			t.Errorf("%v: %v, want code %d", c.cmd, err, c.code)
		}
	}
}

func TestConfigureUnknownFailPointAndCount(t *testing.T) {
	r := NewRegistry("hangBeforeFoo")
	_, err := r.Configure(bsonkit.D("configureFailPoint", bsonkit.String("noSuchPoint"), "mode", bsonkit.String("off")))
	if code(err) != mongoerr.FailPointSetFailed || err.(*mongoerr.Error).Msg != "noSuchPoint not found" {
		t.Fatalf("unknown point: %v", err)
	}
	if names := r.Names(); len(names) != 2 || names[0] != "failCommand" || names[1] != "hangBeforeFoo" {
		t.Fatalf("names %v", names)
	}
	data := bsonkit.D("failCommands", strs("insert"), "errorCode", bsonkit.Int32(2))
	if n := configure(t, r, bsonkit.String("alwaysOn"), data); n != 0 {
		t.Fatalf("first count %d", n)
	}
	fails(t, r, insert)
	fails(t, r, insert)
	fails(t, r, find) // not listed: not entered
	if n := configure(t, r, bsonkit.String("off"), data); n != 2 {
		t.Fatalf("count after two failures %d", n)
	}
	if fails(t, r, insert) {
		t.Fatal("off must not fire")
	}
}

func TestAlwaysOnError(t *testing.T) {
	r := NewRegistry()
	configure(t, r, bsonkit.String("alwaysOn"), bsonkit.D("failCommands", strs("find", "insert"), "errorCode", bsonkit.Int32(91)))
	a, err := r.FailCommand(find)
	if err != nil || a == nil || a.Err == nil {
		t.Fatalf("%v %v", a, err)
	}
	if a.Err.Code != 91 || a.Err.Msg != "Failing command via 'failCommand' failpoint" || a.CloseConnection || a.Block != 0 || a.OverrideLabels {
		t.Fatalf("action %+v err %+v", a, a.Err)
	}
	if !fails(t, r, insert) || fails(t, r, Command{Name: "update"}) {
		t.Fatal("only listed commands fail")
	}
	// configureFailPoint itself is never failed.
	configure(t, r, bsonkit.String("alwaysOn"), bsonkit.D("failCommands", strs("configureFailPoint"), "errorCode", bsonkit.Int32(2)))
	if fails(t, r, Command{Name: "configureFailPoint"}) {
		t.Fatal("configureFailPoint failed")
	}
	// Without errorCode, closeConnection or blockConnection the point does nothing.
	configure(t, r, bsonkit.String("alwaysOn"), bsonkit.D("failCommands", strs("find")))
	if a, _ := r.FailCommand(find); a != nil {
		t.Fatalf("inert data fired: %+v", a)
	}
	if r.Point(FailCommand).TimesEntered() != 2 {
		t.Fatalf("timesEntered %d", r.Point(FailCommand).TimesEntered())
	}
}

func TestTimesAndSkipCountOnlyMatchingCommands(t *testing.T) {
	r := NewRegistry()
	data := bsonkit.D("failCommands", strs("insert"), "errorCode", bsonkit.Int32(11600))
	configure(t, r, bsonkit.DocValue(bsonkit.D("times", bsonkit.Int32(2))), data)
	var got []bool
	for _, c := range []Command{find, insert, find, insert, insert, find} {
		got = append(got, fails(t, r, c))
	}
	want := []bool{false, true, false, true, false, false}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("times: %v, want %v", got, want)
		}
	}
	if r.Point(FailCommand).Config().Mode != Off {
		t.Fatal("times exhausted turns the point off")
	}
	// {times: 0} still fires once, as mongod's counter does.
	configure(t, r, bsonkit.DocValue(bsonkit.D("times", bsonkit.Int32(0))), data)
	if !fails(t, r, insert) || fails(t, r, insert) {
		t.Fatal("times 0")
	}
	configure(t, r, bsonkit.DocValue(bsonkit.D("skip", bsonkit.Int32(2))), data)
	got = got[:0]
	for _, c := range []Command{insert, find, insert, insert, find, insert} {
		got = append(got, fails(t, r, c))
	}
	want = []bool{false, false, false, true, false, true}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("skip: %v, want %v", got, want)
		}
	}
}

func TestActivationProbability(t *testing.T) {
	r := NewRegistry()
	data := bsonkit.D("failCommands", strs("find"), "errorCode", bsonkit.Int32(2))
	configure(t, r, bsonkit.DocValue(bsonkit.D("activationProbability", bsonkit.Double(0))), data)
	for i := 0; i < 100; i++ {
		if fails(t, r, find) {
			t.Fatal("probability 0 fired")
		}
	}
	configure(t, r, bsonkit.DocValue(bsonkit.D("activationProbability", bsonkit.Int32(1))), data)
	for i := 0; i < 100; i++ {
		if !fails(t, r, find) {
			t.Fatal("probability 1 did not fire")
		}
	}
	// A fixed sequence of draws decides 0.5 exactly.
	p := r.Point(FailCommand)
	draws := []float64{0.1, 0.7, 0.49, 0.5, 0.99}
	i := 0
	p.random = func() float64 { d := draws[i]; i++; return d }
	configure(t, r, bsonkit.DocValue(bsonkit.D("activationProbability", bsonkit.Double(0.5))), data)
	var got []bool
	for range draws {
		got = append(got, fails(t, r, find))
	}
	want := []bool{true, false, true, false, false}
	for k := range want {
		if got[k] != want[k] {
			t.Fatalf("random: %v, want %v", got, want)
		}
	}
}

func TestCloseBlockAndLabels(t *testing.T) {
	r := NewRegistry()
	configure(t, r, bsonkit.String("alwaysOn"), bsonkit.D("failCommands", strs("insert"), "closeConnection", bsonkit.Bool(true)))
	a, err := r.FailCommand(insert)
	if err != nil || a == nil || !a.CloseConnection || a.Block != 0 {
		t.Fatalf("close: %+v %v", a, err)
	}
	configure(t, r, bsonkit.String("alwaysOn"), bsonkit.D("failCommands", strs("insert"), "closeConnection", bsonkit.Bool(false), "errorCode", bsonkit.Int32(6)))
	if a, _ := r.FailCommand(insert); a == nil || a.CloseConnection || a.Err.Code != 6 {
		t.Fatalf("closeConnection false: %+v", a)
	}
	configure(t, r, bsonkit.String("alwaysOn"), bsonkit.D("failCommands", strs("insert"), "blockConnection", bsonkit.Bool(true),
		"blockTimeMS", bsonkit.Int32(250), "errorCode", bsonkit.Int32(91), "errorLabels", strs("RetryableWriteError")))
	a, err = r.FailCommand(insert)
	if err != nil || a.Block != 250*time.Millisecond || a.Err.Code != 91 || !a.OverrideLabels ||
		len(a.Labels) != 1 || a.Labels[0] != "RetryableWriteError" || len(a.Err.Labels) != 1 {
		t.Fatalf("block+error: %+v %v", a, err)
	}
	// Block only: the command then runs normally.
	configure(t, r, bsonkit.String("alwaysOn"), bsonkit.D("failCommands", strs("find"), "blockConnection", bsonkit.Bool(true), "blockTimeMS", bsonkit.Int64(5)))
	if a, _ := r.FailCommand(find); a == nil || a.Err != nil || a.Block != 5*time.Millisecond || a.OverrideLabels {
		t.Fatalf("block only: %+v", a)
	}
	// An empty errorLabels array removes every label the server would add.
	configure(t, r, bsonkit.String("alwaysOn"), bsonkit.D("failCommands", strs("find"), "errorCode", bsonkit.Int32(189), "errorLabels", strs()))
	if a, _ := r.FailCommand(find); !a.OverrideLabels || len(a.Labels) != 0 {
		t.Fatalf("empty labels: %+v", a)
	}
	for _, data := range []bsoncore.Document{
		bsonkit.D("failCommands", strs("find"), "blockConnection", bsonkit.Bool(true)),
		bsonkit.D("failCommands", strs("find"), "blockConnection", bsonkit.Bool(true), "blockTimeMS", bsonkit.Int32(-1)),
	} {
		configure(t, r, bsonkit.String("alwaysOn"), data)
		if _, err := r.FailCommand(find); code(err) != mongoerr.InvalidOptions {
			t.Fatalf("bad blockTimeMS: %v", err)
		}
	}
	// Extra info reaches the reply only for codes that have an extra-info
	// type in mongod (DuplicateKey: keyPattern, keyValue).
	extra := bsonkit.D("keyPattern", bsonkit.DocValue(bsonkit.D("a", bsonkit.Int32(1))), "keyValue", bsonkit.DocValue(bsonkit.D("a", bsonkit.Int32(2))))
	configure(t, r, bsonkit.String("alwaysOn"), bsonkit.D("failCommands", strs("find"), "errorCode", bsonkit.Int32(11000), "errorExtraInfo", bsonkit.DocValue(extra)))
	if a, _ := r.FailCommand(find); string(a.Err.Extra) != string(extra) {
		t.Fatalf("errorExtraInfo: %+v", a.Err)
	}
	configure(t, r, bsonkit.String("alwaysOn"), bsonkit.D("failCommands", strs("find"), "errorCode", bsonkit.Int32(2), "errorExtraInfo", bsonkit.DocValue(extra)))
	if a, _ := r.FailCommand(find); a.Err.Code != 2 || a.Err.Extra != nil {
		t.Fatalf("errorExtraInfo for a code without extra info: %+v", a.Err)
	}
	configure(t, r, bsonkit.String("alwaysOn"), bsonkit.D("failCommands", strs("find"), "errorCode", bsonkit.Int32(2), "errorExtraInfo", bsonkit.Int32(1)))
	if _, err := r.FailCommand(find); code(err) != mongoerr.TypeMismatch {
		t.Fatalf("errorExtraInfo not an object: %v", err)
	}
}

func TestFilters(t *testing.T) {
	r := NewRegistry()
	configure(t, r, bsonkit.String("alwaysOn"), bsonkit.D("failCommands", strs("isMaster"), "errorCode", bsonkit.Int32(94), "appName", bsonkit.String("probe")))
	hello := Command{Name: "hello", Aliases: []string{"isMaster", "ismaster"}, AppName: "probe", NS: "admin.$cmd"}
	if !fails(t, r, hello) {
		t.Fatal("alias isMaster must match hello")
	}
	other := hello
	other.AppName = "app"
	if fails(t, r, other) {
		t.Fatal("appName filter")
	}
	configure(t, r, bsonkit.String("alwaysOn"), bsonkit.D("failCommands", strs("find"), "errorCode", bsonkit.Int32(2), "namespace", bsonkit.String("db.other")))
	if fails(t, r, find) || !fails(t, r, Command{Name: "find", NS: "db.other"}) {
		t.Fatal("namespace filter")
	}
	configure(t, r, bsonkit.String("alwaysOn"), bsonkit.D("failAllCommands", bsonkit.Bool(true), "errorCode", bsonkit.Int32(2)))
	if !fails(t, r, Command{Name: "ping"}) || fails(t, r, Command{Name: "ping", Internal: true}) {
		t.Fatal("failAllCommands applies to client commands only")
	}
	configure(t, r, bsonkit.String("alwaysOn"), bsonkit.D("failAllCommands", bsonkit.Bool(true), "errorCode", bsonkit.Int32(2), "failInternalCommands", bsonkit.Bool(true)))
	if !fails(t, r, Command{Name: "ping", Internal: true}) {
		t.Fatal("failInternalCommands")
	}
	configure(t, r, bsonkit.String("alwaysOn"), bsonkit.D("failCommands", strs("find"), "errorCode", bsonkit.Int32(2), "threadName", bsonkit.String("conn7")))
	if fails(t, r, find) || !fails(t, r, Command{Name: "find", ThreadName: "conn7"}) {
		t.Fatal("threadName filter")
	}
}

func TestWriteConcernError(t *testing.T) {
	r := NewRegistry()
	wce := bsonkit.D("code", bsonkit.Int32(91), "errmsg", bsonkit.String("Replication is being shut down"))
	configure(t, r, bsonkit.DocValue(bsonkit.D("times", bsonkit.Int32(1))), bsonkit.D("failCommands", strs("insert"),
		"writeConcernError", bsonkit.DocValue(wce), "errorLabels", strs("RetryableWriteError")))
	// The pre-command evaluation does not fire (nothing to fail) and does
	// not use up the single activation.
	if a, _ := r.FailCommand(insert); a != nil {
		t.Fatalf("pre-command: %+v", a)
	}
	if _, _, _, fired := r.WriteConcernError(find); fired {
		t.Fatal("find is not listed")
	}
	got, labels, hasLabels, fired := r.WriteConcernError(insert)
	if !fired || string(got) != string(wce) || !hasLabels || len(labels) != 1 || labels[0] != "RetryableWriteError" {
		t.Fatalf("wce %v %v %v %v", got, labels, hasLabels, fired)
	}
	if _, _, _, fired := r.WriteConcernError(insert); fired {
		t.Fatal("times 1 fired twice")
	}
}

func TestWaitForFailPoint(t *testing.T) {
	r := NewRegistry()
	configure(t, r, bsonkit.String("alwaysOn"), bsonkit.D("failCommands", strs("find"), "errorCode", bsonkit.Int32(2)))
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		done <- r.WaitForFailPoint(ctx, bsonkit.D("waitForFailPoint", bsonkit.String(FailCommand), "timesEntered", bsonkit.Int32(2), "maxTimeMS", bsonkit.Int32(60000)))
	}()
	fails(t, r, find)
	fails(t, r, find)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("waitForFailPoint did not return after two activations")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := r.WaitForFailPoint(ctx, bsonkit.D("waitForFailPoint", bsonkit.String(FailCommand), "timesEntered", bsonkit.Int32(10), "maxTimeMS", bsonkit.Int32(20)))
	if code(err) != mongoerr.MaxTimeMSExpired {
		t.Fatalf("timeout: %v", err)
	}
	if err := r.WaitForFailPoint(ctx, bsonkit.D("waitForFailPoint", bsonkit.String("nope"), "timesEntered", bsonkit.Int32(1), "maxTimeMS", bsonkit.Int32(1))); code(err) != mongoerr.NoSuchKey {
		t.Fatalf("unknown: %v", err)
	}
}

func TestConcurrentTimesFireExactly(t *testing.T) {
	r := NewRegistry()
	configure(t, r, bsonkit.DocValue(bsonkit.D("times", bsonkit.Int32(100))), bsonkit.D("failCommands", strs("insert"), "errorCode", bsonkit.Int32(2)))
	var fired atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if a, _ := r.FailCommand(insert); a != nil {
					fired.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if fired.Load() != 100 || r.Point(FailCommand).TimesEntered() != 100 {
		t.Fatalf("fired %d times, entered %d", fired.Load(), r.Point(FailCommand).TimesEntered())
	}
}
