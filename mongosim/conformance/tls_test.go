package conformance

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/mlink-dev/mlink/mongosim"
	"github.com/mlink-dev/mlink/mongosim/auth"
	"github.com/mlink-dev/mlink/mongosim/simtest"
)

// TLS tests start their own servers with generated certificates, so they
// run on mongosim only.

func skipOnReal(t *testing.T) {
	t.Helper()
	if isReal() {
		t.Skip("starts its own mongosim server")
	}
}

// pingURI connects to uri and pings; it returns the ping's error followed
// by every failed heartbeat's: a server selection error names only the
// latest check, which can be one cut short by the deadline.
func pingURI(t *testing.T, uri string) error {
	t.Helper()
	var mu sync.Mutex
	var failures []string
	monitor := &event.ServerMonitor{ServerHeartbeatFailed: func(e *event.ServerHeartbeatFailedEvent) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, e.Failure.Error())
	}}
	c, err := mongo.Connect(options.Client().ApplyURI(uri).SetServerSelectionTimeout(time.Second).
		SetHeartbeatInterval(simtest.HeartbeatInterval).SetServerMonitor(monitor))
	if err != nil {
		return err
	}
	defer func() { _ = c.Disconnect(context.Background()) }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx, nil); err != nil {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Errorf("%w; heartbeat failures: %s", err, strings.Join(failures, "; "))
	}
	return nil
}

func TestTLSServerCertificate(t *testing.T) {
	skipOnReal(t)
	s, pki := simtest.StartTLS(t, false)
	uri := simtest.TLSURI(s, pki.Files.CAFile, "")
	c := simtest.Client(t, uri)
	coll := c.Database("tlsdb").Collection("c")
	if _, err := coll.InsertOne(ctxT(t), bson.D{{Key: "_id", Value: 1}, {Key: "v", Value: "over tls"}}); err != nil {
		t.Fatalf("insert over TLS: %v", err)
	}
	var got struct{ V string }
	if err := coll.FindOne(ctxT(t), bson.D{{Key: "_id", Value: 1}}).Decode(&got); err != nil || got.V != "over tls" {
		t.Fatalf("find over TLS: %+v %v", got, err)
	}
	// A client certificate is accepted but not needed.
	if err := pingURI(t, simtest.TLSURI(s, pki.Files.CAFile, pki.Files.ClientFile)); err != nil {
		t.Fatalf("with a client certificate: %v", err)
	}
}

func TestTLSRejectsPlainAndUntrusted(t *testing.T) {
	skipOnReal(t)
	s, _ := simtest.StartTLS(t, false)
	// Plain TCP: the server expects a TLS handshake.
	plain := "mongodb://" + s.Addr() + "/?directConnection=true"
	wantConnectError(t, pingURI(t, plain), "closed unexpectedly")
	// A CA the server's certificate does not chain to.
	other := simtest.NewPKI(t)
	wantConnectError(t, pingURI(t, simtest.TLSURI(s, other.Files.CAFile, "")), "certificate signed by unknown authority")
}

// wantConnectError asserts a connection failed for the given reason.
func wantConnectError(t *testing.T, err error, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("connected; want a failure (%s)", reason)
	}
	if !strings.Contains(err.Error(), reason) {
		t.Fatalf("want a failure with %q, got %v", reason, err)
	}
}

func TestTLSClientCertificateRequired(t *testing.T) {
	skipOnReal(t)
	s, pki := simtest.StartTLS(t, true)
	if err := pingURI(t, simtest.TLSURI(s, pki.Files.CAFile, pki.Files.ClientFile)); err != nil {
		t.Fatalf("with the CA's client certificate: %v", err)
	}
	wantConnectError(t, pingURI(t, simtest.TLSURI(s, pki.Files.CAFile, "")), "tls: certificate required")
	// The server names its CA; a client holding only another CA's
	// certificate has nothing to offer.
	wantConnectError(t, pingURI(t, simtest.TLSURI(s, pki.Files.CAFile, pki.Files.OtherClientFile)), "tls: certificate required")
}

func TestTLSHandshakeVersionAndPeer(t *testing.T) {
	skipOnReal(t)
	s, pki := simtest.StartTLS(t, true)
	cert, err := tls.LoadX509KeyPair(pki.Files.ClientFile, pki.Files.ClientFile)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.Addr(),
		&tls.Config{RootCAs: pki.CAPool, Certificates: []tls.Certificate{cert}, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("tls dial: %v", err)
	}
	defer nc.Close()
	st := nc.ConnectionState()
	if st.Version < tls.VersionTLS12 || len(st.PeerCertificates) == 0 || st.PeerCertificates[0].Subject.CommonName != "localhost" {
		t.Fatalf("state: version %x peers %d", st.Version, len(st.PeerCertificates))
	}
}

func TestTLSWithAuthentication(t *testing.T) {
	skipOnReal(t)
	pki := simtest.NewPKI(t)
	s := simtest.Start(t, mongosim.Options{TLS: pki.ServerConfig(false),
		Users: []auth.User{{Name: "alice", Password: "secret", Iterations: 4096, Roles: []auth.Role{{Name: "readWrite", DB: "app"}}}}})
	uri := simtest.UserURI(simtest.TLSURI(s, pki.Files.CAFile, ""), "alice", "secret")
	c := simtest.Client(t, uri)
	if _, err := c.Database("app").Collection("c").InsertOne(ctxT(t), bson.D{{Key: "x", Value: 1}}); err != nil {
		t.Fatalf("authenticated insert over TLS: %v", err)
	}
	wantCode(t, pingAs(t, simtest.TLSURI(s, pki.Files.CAFile, ""), "app"), 13)
}

// pingAs runs a find on db without credentials and returns its error.
func pingAs(t *testing.T, uri, db string) error {
	t.Helper()
	c := simtest.Client(t, uri)
	return c.Database(db).RunCommand(ctxT(t), bson.D{{Key: "find", Value: "c"}}).Err()
}

func TestTLSForeignClientCertificateRejected(t *testing.T) {
	skipOnReal(t)
	s, pki := simtest.StartTLS(t, true)
	foreign, err := tls.LoadX509KeyPair(pki.Files.OtherClientFile, pki.Files.OtherClientFile)
	if err != nil {
		t.Fatal(err)
	}
	// Force the foreign certificate out even though the server asked for
	// its own CA: verification must fail on the server side.
	cfg := &tls.Config{RootCAs: pki.CAPool, ServerName: "127.0.0.1",
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &foreign, nil }}
	nc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.Addr(), cfg)
	if err == nil {
		// TLS 1.3 reports the client-certificate verdict on first read.
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = nc.Read(make([]byte, 1))
	}
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("foreign client certificate: %v", err)
	}
}
