package mongosim

import (
	"context"
	"os"
	"runtime"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// Server information and session commands.

func init() {
	register(command{name: "ping", handler: handlePing})
	register(command{name: "buildInfo", aliases: []string{"buildinfo"}, handler: handleBuildInfo})
	register(command{name: "getParameter", adminOnly: true, handler: handleGetParameter})
	register(command{name: "serverStatus", handler: handleServerStatus})
	register(command{name: "hostInfo", handler: handleHostInfo})
	register(command{name: "connectionStatus", handler: handleConnectionStatus})
	register(command{name: "whatsmyuri", handler: handleWhatsMyURI})
	register(command{name: "endSessions", handler: handleEndSessions})         // txn_session.go
	register(command{name: "killSessions", handler: handleEndSessions})        // txn_session.go
	register(command{name: "killAllSessions", handler: handleKillAllSessions}) // txn_session.go
	register(command{name: "refreshSessions", handler: handleEmpty})
	register(command{name: "startSession", handler: handleStartSession})
	register(command{name: "getCmdLineOpts", adminOnly: true, handler: handleGetCmdLineOpts})
	register(command{name: "getLog", adminOnly: true, handler: handleGetLog})
	register(command{name: "replSetGetStatus", adminOnly: true, handler: handleReplSetGetStatus})
}

func handlePing(context.Context, *request) (bsoncore.Document, error)  { return nil, nil }
func handleEmpty(context.Context, *request) (bsoncore.Document, error) { return nil, nil }

func handleBuildInfo(_ context.Context, req *request) (bsoncore.Document, error) {
	vi := req.srv.version
	return bsonkit.D(
		"version", bsonkit.String(vi.str),
		"gitVersion", bsonkit.String("0000000000000000000000000000000000000000"),
		"modules", bsonkit.Array(),
		"allocator", bsonkit.String("system"),
		"javascriptEngine", bsonkit.String("none"),
		"sysInfo", bsonkit.String("deprecated"),
		"versionArray", bsonkit.Array(bsonkit.Int32(vi.parts[0]), bsonkit.Int32(vi.parts[1]), bsonkit.Int32(vi.parts[2]), bsonkit.Int32(0)),
		"openssl", bsonkit.DocValue(bsonkit.D("running", bsonkit.String("disabled"))),
		"buildEnvironment", bsonkit.DocValue(bsonkit.D("distmod", bsonkit.String("mongosim"), "target_arch", bsonkit.String(runtime.GOARCH), "target_os", bsonkit.String(runtime.GOOS))),
		"bits", bsonkit.Int32(64),
		"debug", bsonkit.Bool(false),
		"maxBsonObjectSize", bsonkit.Int32(maxBSONObjectSize),
		"storageEngines", bsonkit.Array(bsonkit.String("devnull"), bsonkit.String("wiredTiger")),
	), nil
}

// parameters are the server parameters getParameter knows, in its output order.
func (s *Server) parameters() bsonkit.Doc {
	var d bsonkit.Doc
	d.Append("authenticationMechanisms", bsonkit.Array(bsonkit.String("SCRAM-SHA-1"), bsonkit.String("SCRAM-SHA-256")))
	d.Append("cursorTimeoutMillis", bsonkit.Int64(int64(s.cursors.timeout/time.Millisecond)))
	d.Append("featureCompatibilityVersion", bsonkit.DocValue(bsonkit.D("version", bsonkit.String(s.version.fcv))))
	d.Append("internalQueryMaxBlockingSortMemoryUsageBytes", bsonkit.Int32(100*1024*1024))
	d.Append("maxBSONDepth", bsonkit.Int32(200))
	d.Append("periodicNoopIntervalSecs", bsonkit.Int32(int32(s.opts.NoopInterval/time.Second)))
	d.Append("transactionLifetimeLimitSeconds", bsonkit.Int32(60))
	return d
}

// handleGetParameter: {getParameter: 1, name: 1, ...} or {getParameter: "*"}.
func handleGetParameter(_ context.Context, req *request) (bsoncore.Document, error) {
	params := req.srv.parameters()
	first := req.arg("getParameter")
	if first.Type == bsoncore.TypeString && first.StringValue() == "*" {
		return params.Bytes(), nil
	}
	if first.Type == bsoncore.TypeEmbeddedDocument {
		if v, err := first.Document().LookupErr("allParameters"); err == nil && bsonkit.Truthy(v) {
			return params.Bytes(), nil
		}
	}
	elems, _ := req.body.Elements()
	var out bsonkit.Doc
	for _, e := range elems[1:] {
		k := e.Key()
		if isGenericArg(k) {
			continue
		}
		v := params.Get(k)
		if bsonkit.IsMissing(v) {
			return nil, mongoerr.New(mongoerr.InvalidOptions, "no option found to get")
		}
		out.Append(k, v)
	}
	if len(out) == 0 {
		return nil, mongoerr.New(mongoerr.InvalidOptions, "no option found to get")
	}
	return out.Bytes(), nil
}

// isGenericArg reports command arguments every command accepts.
func isGenericArg(k string) bool {
	switch k {
	case "$db", "lsid", "txnNumber", "$clusterTime", "$readPreference", "readConcern", "writeConcern",
		"comment", "maxTimeMS", "apiVersion", "apiStrict", "apiDeprecationErrors", "autocommit",
		"startTransaction", "$audit", "$client", "$configServerState", "mayBypassWriteBlocking", "$queryOptions":
		return true
	}
	return false
}

func handleServerStatus(_ context.Context, req *request) (bsoncore.Document, error) {
	s := req.srv
	now := time.Now()
	up := now.Sub(s.started)
	cur := int32(s.currentConns())
	st := &s.stats
	var d bsonkit.Doc
	d.Append("host", bsonkit.String(hostname()))
	d.Append("version", bsonkit.String(s.version.str))
	d.Append("process", bsonkit.String("mongod"))
	d.Append("pid", bsonkit.Int64(int64(os.Getpid())))
	d.Append("uptime", bsonkit.Double(float64(int64(up.Seconds()))))
	d.Append("uptimeMillis", bsonkit.Int64(up.Milliseconds()))
	d.Append("uptimeEstimate", bsonkit.Int64(int64(up.Seconds())))
	d.Append("localTime", bsonkit.DateTime(now.UnixMilli()))
	d.Append("connections", bsonkit.DocValue(bsonkit.D(
		"current", bsonkit.Int32(cur),
		"available", bsonkit.Int32(838860-cur),
		"totalCreated", bsonkit.Int32(int32(st.totalConns.Load())),
		"active", bsonkit.Int32(1),
	)))
	d.Append("opcounters", bsonkit.DocValue(bsonkit.D(
		"insert", bsonkit.Int64(st.insert.Load()),
		"query", bsonkit.Int64(st.query.Load()),
		"update", bsonkit.Int64(st.update.Load()),
		"delete", bsonkit.Int64(st.delete.Load()),
		"getmore", bsonkit.Int64(st.getmore.Load()),
		"command", bsonkit.Int64(st.command.Load()),
	)))
	if !s.opts.Standalone {
		secs, inc, wall := s.clock.lastWriteTime()
		opTime := bsonkit.DocValue(bsonkit.D("ts", bsonkit.Timestamp(secs, inc), "t", bsonkit.Int64(1)))
		primary, tv := s.topologyState()
		var repl bsonkit.Doc
		repl.Append("topologyVersion", bsonkit.DocValue(tv))
		repl.Append("hosts", bsonkit.Array(bsonkit.String(s.addr)))
		repl.Append("setName", bsonkit.String(s.opts.ReplSetName))
		repl.Append("setVersion", bsonkit.Int32(1))
		repl.Append("isWritablePrimary", bsonkit.Bool(primary))
		repl.Append("secondary", bsonkit.Bool(!primary))
		if primary {
			repl.Append("primary", bsonkit.String(s.addr))
		}
		repl.Append("me", bsonkit.String(s.addr))
		if primary {
			repl.Append("electionId", bsonkit.ObjectID(s.electID))
		}
		repl.Append("lastWrite", bsonkit.DocValue(bsonkit.D("opTime", opTime, "lastWriteDate", bsonkit.DateTime(wall.UnixMilli()))))
		repl.Append("rbid", bsonkit.Int32(1))
		d.Append("repl", repl.Value())
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	d.Append("mem", bsonkit.DocValue(bsonkit.D(
		"bits", bsonkit.Int32(64),
		"resident", bsonkit.Int32(int32(ms.Sys>>20)),
		"virtual", bsonkit.Int32(int32(ms.Sys>>20)),
		"supported", bsonkit.Bool(true),
	)))
	d.Append("metrics", bsonkit.DocValue(bsonkit.D(
		"cursor", bsonkit.DocValue(bsonkit.D("open", bsonkit.DocValue(bsonkit.D(
			"noTimeout", bsonkit.Int64(0), "total", bsonkit.Int64(int64(s.cursors.count())))))),
	)))
	d.Append("storageEngine", bsonkit.DocValue(bsonkit.D(
		"name", bsonkit.String("wiredTiger"), "supportsCommittedReads", bsonkit.Bool(true), "persistent", bsonkit.Bool(false))))
	if !s.opts.Standalone {
		d.Append("oplogTruncation", bsonkit.DocValue(s.oplogTruncationStatus())) // oplog_view.go
	}
	return d.Bytes(), nil
}

func handleHostInfo(_ context.Context, req *request) (bsoncore.Document, error) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return bsonkit.D(
		"system", bsonkit.DocValue(bsonkit.D(
			"currentTime", bsonkit.DateTime(time.Now().UnixMilli()),
			"hostname", bsonkit.String(hostname()),
			"cpuAddrSize", bsonkit.Int32(64),
			"memSizeMB", bsonkit.Int64(int64(ms.Sys>>20)),
			"numCores", bsonkit.Int32(int32(runtime.NumCPU())),
			"cpuArch", bsonkit.String(runtime.GOARCH),
			"numaEnabled", bsonkit.Bool(false),
		)),
		"os", bsonkit.DocValue(bsonkit.D("type", bsonkit.String(runtime.GOOS), "name", bsonkit.String(runtime.GOOS))),
		"extra", bsonkit.DocValue(emptyDoc),
	), nil
}

// handleConnectionStatus reports the connection's user, roles and (with
// showPrivileges) privileges; without access control nobody is
// authenticated (showPrivileges adds an empty privilege list, as mongod).
func handleConnectionStatus(_ context.Context, req *request) (bsoncore.Document, error) {
	show, err := boolArg("connectionStatus", "showPrivileges", req.arg("showPrivileges"), false)
	if err != nil {
		return nil, err
	}
	if body, ok := connectionStatusBody(req, show); ok {
		return body, nil
	}
	info := bsonkit.Doc{
		{Key: "authenticatedUsers", Value: bsonkit.Array()},
		{Key: "authenticatedUserRoles", Value: bsonkit.Array()},
	}
	if show {
		info.Append("authenticatedUserPrivileges", bsonkit.Array())
	}
	return bsonkit.D("authInfo", info.Value()), nil
}

func handleWhatsMyURI(_ context.Context, req *request) (bsoncore.Document, error) {
	you := ""
	if req.conn != nil {
		you = req.conn.nc.RemoteAddr().String()
	}
	return bsonkit.D("you", bsonkit.String(you)), nil
}

func handleStartSession(context.Context, *request) (bsoncore.Document, error) {
	var id [16]byte
	copy(id[:], newUUID())
	return bsonkit.D(
		"id", bsonkit.DocValue(bsonkit.D("id", bsonkit.Binary(4, id[:]))),
		"timeoutMinutes", bsonkit.Int32(30),
	), nil
}

func handleGetCmdLineOpts(_ context.Context, req *request) (bsoncore.Document, error) {
	argv := []bsoncore.Value{bsonkit.String("mongod")}
	parsed := bsonkit.D("net", bsonkit.DocValue(bsonkit.D("bindIp", bsonkit.String("127.0.0.1"))))
	if !req.srv.opts.Standalone {
		argv = append(argv, bsonkit.String("--replSet"), bsonkit.String(req.srv.opts.ReplSetName))
		parsed = bsonkit.D(
			"net", bsonkit.DocValue(bsonkit.D("bindIp", bsonkit.String("127.0.0.1"))),
			"replication", bsonkit.DocValue(bsonkit.D("replSet", bsonkit.String(req.srv.opts.ReplSetName))),
		)
	}
	return bsonkit.D("argv", bsonkit.Array(argv...), "parsed", bsonkit.DocValue(parsed)), nil
}

func handleGetLog(_ context.Context, req *request) (bsoncore.Document, error) {
	v := req.arg("getLog")
	if v.Type == bsoncore.TypeString && v.StringValue() == "*" {
		return bsonkit.D("names", bsonkit.Array(bsonkit.String("global"), bsonkit.String("startupWarnings"))), nil
	}
	return bsonkit.D("totalLinesWritten", bsonkit.Int32(0), "log", bsonkit.Array()), nil
}

func handleReplSetGetStatus(_ context.Context, req *request) (bsoncore.Document, error) {
	s := req.srv
	if s.opts.Standalone {
		return nil, mongoerr.New(mongoerr.NoReplicationEnabled, "not running with --replSet")
	}
	last, wallMS := s.lastApplied() // the newest oplog entry (oplog_view.go)
	opTime := bsonkit.DocValue(bsonkit.D("ts", bsonkit.Timestamp(last.T, last.I), "t", bsonkit.Int64(replTerm)))
	now := time.Now()
	state, stateStr := int32(1), "PRIMARY"
	if !s.IsWritablePrimary() {
		state, stateStr = 2, "SECONDARY"
	}
	member := bsonkit.Doc{
		{Key: "_id", Value: bsonkit.Int32(0)},
		{Key: "name", Value: bsonkit.String(s.addr)},
		{Key: "health", Value: bsonkit.Double(1)},
		{Key: "state", Value: bsonkit.Int32(state)},
		{Key: "stateStr", Value: bsonkit.String(stateStr)},
		{Key: "uptime", Value: bsonkit.Int32(int32(now.Sub(s.started).Seconds()))},
		{Key: "optime", Value: opTime},
		{Key: "optimeDate", Value: bsonkit.DateTime(wallMS)},
		{Key: "lastAppliedWallTime", Value: bsonkit.DateTime(wallMS)},
		{Key: "lastDurableWallTime", Value: bsonkit.DateTime(wallMS)},
	}
	if state == 1 {
		member.Append("electionId", bsonkit.ObjectID(s.electID))
	}
	member.Append("self", bsonkit.Bool(true))
	return bsonkit.D(
		"set", bsonkit.String(s.opts.ReplSetName),
		"date", bsonkit.DateTime(now.UnixMilli()),
		"myState", bsonkit.Int32(state),
		"term", bsonkit.Int64(1),
		"heartbeatIntervalMillis", bsonkit.Int64(2000),
		"optimes", bsonkit.DocValue(s.replOpTimes()),
		"members", bsonkit.Array(member.Value()),
	), nil
}

// newUUID returns 16 random bytes shaped as a version 4 UUID.
func newUUID() []byte {
	var u [16]byte
	_, _ = rand32(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u[:]
}
