// Package mongosim is an in-process MongoDB-compatible single-node replica
// set: a TCP server speaking the wire protocol, answering hello as a
// primary, and running CRUD, cursor and catalog commands over an in-memory
// store. It is test infrastructure and the demo's embedded server; MongoDB's
// documentation is its specification.
package mongosim

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/auth"
	"github.com/mlink-dev/mlink/mongosim/failpoint"
	"github.com/mlink-dev/mlink/mongosim/query"
	"github.com/mlink-dev/mlink/mongosim/store"
)

// Options configure a server. The zero value is a usable 8.0 primary of
// replica set "rs0" on a random loopback port.
type Options struct {
	// Version is the MongoDB version reported ("6.0.x", "7.0.x", "8.0.x").
	Version string
	// ReplSetName is the replica set name (default "rs0").
	ReplSetName string
	// Standalone runs without a replica set: no setName, hosts or cluster time.
	Standalone bool
	// Addr is the listen address (default "127.0.0.1:0").
	Addr string
	// NoopInterval is how often an idle primary writes a no-op to advance
	// its cluster time (default 10s, as a replica set does).
	NoopInterval time.Duration
	// Logger receives connection and error logs (default: discarded).
	Logger *slog.Logger
	// Users turns access control on: every command but the handshake,
	// authentication and a few others needs a user authenticated with
	// SCRAM-SHA-256 or SCRAM-SHA-1. Empty (the default): no access control.
	Users []auth.User
	// TLS, when set, makes the server accept TLS connections only. Its
	// Certificates are the server's; ClientAuth tls.RequireAndVerifyClientCert
	// with ClientCAs requires client certificates. Clients then connect with
	// tls=true (URI adds it) and tlsCAFile=<the CA>.
	TLS *tls.Config
	// OplogRetention bounds the simulated oplog (change-stream history);
	// zero means the default (see changestream_server.go).
	OplogRetention OplogRetention
}

// Server is one running simulated mongod.
type Server struct {
	opts    Options
	version versionInfo
	ln      net.Listener
	addr    string // host:port as reported in hello
	log     *slog.Logger
	started time.Time

	// mu guards store: write lock for writes and DDL, read lock per read batch.
	mu    sync.RWMutex
	store *store.Store

	clock     clusterClock
	cursors   *cursorManager
	writes    writeSignal
	processID [12]byte
	electID   [12]byte

	stats serverStats

	failpoints   *failpoint.Registry
	authStore    *auth.Store // nil: access control off
	cmdLog       commandLog
	topo         topoState    // primary or stepped down; topologyVersion
	replyLatency atomic.Int64 // time.Duration added before every reply
	refuseUntil  atomic.Int64 // unix nanos: accepted connections are closed until then
	streams      streamCursors

	// repl: change-stream history, sessions and transactions (changestream_server.go, txn_*.go).
	repl replState

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	connMu   sync.Mutex
	conns    map[*conn]struct{}
	nextConn atomic.Int64
	closed   bool
}

type serverStats struct {
	insert, query, update, delete, getmore, command atomic.Int64
	totalConns                                      atomic.Int64
}

// Start listens and serves until Close or ctx is done.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Version == "" {
		opts.Version = "8.0.4"
	}
	vi, err := parseVersion(opts.Version)
	if err != nil {
		return nil, err
	}
	if opts.ReplSetName == "" && !opts.Standalone {
		opts.ReplSetName = "rs0"
	}
	if opts.Standalone {
		opts.ReplSetName = ""
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.NoopInterval <= 0 {
		opts.NoopInterval = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	var authStore *auth.Store
	if len(opts.Users) > 0 {
		if authStore, err = auth.NewStore(opts.Users); err != nil {
			return nil, fmt.Errorf("mongosim: users: %w", err)
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("mongosim: listen %s: %w", opts.Addr, err)
	}
	addr := ln.Addr().String()
	if opts.TLS != nil {
		ln = tls.NewListener(ln, opts.TLS.Clone())
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Server{
		opts:    opts,
		version: vi,
		ln:      ln,
		addr:    addr,
		log:     opts.Logger,
		started: time.Now(),
		store:   store.New(),
		ctx:     sctx,
		cancel:  cancel,
		conns:   make(map[*conn]struct{}),

		failpoints: failpoint.NewRegistry(),
		authStore:  authStore,
	}
	s.topo.init()
	s.cursors = newCursorManager(s)
	s.store.SetFilterCompiler(func(f bsoncore.Document) (store.Matcher, error) { return query.Compile(f) })
	_, _ = rand.Read(s.processID[:])
	// electionId as a fresh single-node set reports it: 0x7fffffff, term 1.
	s.electID = [12]byte{0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1}
	s.clock.init(time.Now())
	s.initRepl()

	s.wg.Add(3)
	go s.acceptLoop()
	go s.noopLoop()
	go s.cursors.reapLoop(sctx)
	if ctx.Done() != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			select {
			case <-ctx.Done():
				_ = s.shutdown()
			case <-sctx.Done():
			}
		}()
	}
	s.log.Info("mongosim listening", "addr", s.addr, "version", opts.Version, "replSet", opts.ReplSetName)
	return s, nil
}

// Addr returns the host:port the server listens on.
func (s *Server) Addr() string { return s.addr }

// URI returns a connection string for the Go driver (and mongosh/pymongo).
func (s *Server) URI() string {
	uri := "mongodb://" + s.addr + "/?replicaSet=" + s.opts.ReplSetName
	if s.opts.Standalone {
		uri = "mongodb://" + s.addr + "/?directConnection=true"
	}
	if s.opts.TLS != nil {
		uri += "&tls=true"
	}
	return uri
}

// Version returns the MongoDB version the server reports.
func (s *Server) Version() string { return s.opts.Version }

// Close stops accepting, closes every connection and waits for all
// goroutines of the server to end.
func (s *Server) Close() error {
	err := s.shutdown()
	s.wg.Wait()
	return err
}

func (s *Server) shutdown() error {
	s.connMu.Lock()
	if s.closed {
		s.connMu.Unlock()
		return nil
	}
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.connMu.Unlock()
	s.cancel()
	s.closeRepl()
	s.topo.stop()
	err := s.ln.Close()
	for _, c := range conns {
		_ = c.nc.Close()
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("mongosim: close listener: %w", err)
	}
	return nil
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("accept failed", "err", err)
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		if tc, ok := nc.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(true)
		}
		if s.refusing() {
			_ = nc.Close()
			continue
		}
		c := &conn{srv: s, nc: nc, id: s.nextConn.Add(1)}
		if s.authStore != nil {
			c.auth = s.authStore.NewSession()
		}
		s.connMu.Lock()
		if s.closed {
			s.connMu.Unlock()
			_ = nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.connMu.Unlock()
		s.stats.totalConns.Add(1)
		go c.serve()
	}
}

func (s *Server) removeConn(c *conn) {
	s.connMu.Lock()
	delete(s.conns, c)
	s.connMu.Unlock()
}

func (s *Server) currentConns() int {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	return len(s.conns)
}

// versionInfo is what hello and buildInfo derive from Options.Version.
type versionInfo struct {
	str            string
	parts          [4]int32
	maxWireVersion int32
	fcv            string
}

func parseVersion(v string) (versionInfo, error) {
	fields := strings.Split(v, ".")
	if len(fields) < 2 || len(fields) > 3 {
		return versionInfo{}, fmt.Errorf("mongosim: version %q: want major.minor[.patch]", v)
	}
	vi := versionInfo{str: v}
	for i, f := range fields {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return versionInfo{}, fmt.Errorf("mongosim: version %q: bad component %q", v, f)
		}
		vi.parts[i] = int32(n)
	}
	if len(fields) == 2 {
		vi.str = v + ".0"
	}
	switch {
	case vi.parts[0] == 6 && vi.parts[1] == 0:
		vi.maxWireVersion = 17
	case vi.parts[0] == 7 && vi.parts[1] == 0:
		vi.maxWireVersion = 21
	case vi.parts[0] == 8 && vi.parts[1] == 0:
		vi.maxWireVersion = 25
	default:
		return versionInfo{}, fmt.Errorf("mongosim: version %q not supported (6.0, 7.0 or 8.0)", v)
	}
	vi.fcv = fmt.Sprintf("%d.%d", vi.parts[0], vi.parts[1])
	return vi, nil
}

// timeNow is the wall clock (one place to read it).
func timeNow() time.Time { return time.Now() }

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "localhost"
	}
	return h
}

func rand32(b []byte) (int, error) { return rand.Read(b) }
