package simtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlink-dev/mlink/mongosim"
	"github.com/mlink-dev/mlink/mongosim/auth"
)

// StartWithUsers runs a mongosim server with access control on: clients
// must authenticate as one of users (SCRAM-SHA-256 or SCRAM-SHA-1). Users
// without Iterations get the minimum (4096) to keep tests fast.
func StartWithUsers(t testing.TB, users ...auth.User) *mongosim.Server {
	t.Helper()
	us := make([]auth.User, len(users))
	for i, u := range users {
		if u.Iterations == 0 {
			u.Iterations = 4096
		}
		us[i] = u
	}
	return Start(t, mongosim.Options{Users: us})
}

// UserURI is uri with user:password credentials (authSource defaults to
// admin) and optional extra query options ("authMechanism=SCRAM-SHA-1").
func UserURI(uri, user, password string, options ...string) string {
	u, err := url.Parse(uri)
	if err != nil {
		panic(fmt.Sprintf("simtest: parse %q: %v", uri, err))
	}
	u.User = url.UserPassword(user, password)
	q := u.RawQuery
	for _, o := range options {
		if q != "" {
			q += "&"
		}
		q += o
	}
	u.RawQuery = q
	return u.String()
}

// TLSFiles are the PEM files of a throwaway PKI made by NewPKI.
type TLSFiles struct {
	// CAFile is the CA certificate (tlsCAFile).
	CAFile string
	// ClientFile holds a client certificate and its key, signed by the CA
	// (tlsCertificateKeyFile).
	ClientFile string
	// OtherClientFile holds a client certificate from a different CA,
	// which the server must reject when it verifies client certificates.
	OtherClientFile string
	// ServerCertFile and ServerKeyFile are the server's certificate (for
	// 127.0.0.1/localhost, signed by the CA) and its key, for a server
	// started from files (cmd/mongosim --tls-cert/--tls-key).
	ServerCertFile, ServerKeyFile string
}

// PKI is a throwaway certificate authority with a server certificate for
// 127.0.0.1/localhost and client certificates, written under t.TempDir().
type PKI struct {
	Files      TLSFiles
	ServerCert tls.Certificate
	CAPool     *x509.CertPool
}

// NewPKI generates the CA, server and client certificates (ECDSA P-256,
// valid for a day).
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	dir := t.TempDir()
	ca, caKey, caPEM := newCA(t, "mongosim test CA")
	other, otherKey, _ := newCA(t, "unrelated CA")
	p := &PKI{CAPool: x509.NewCertPool()}
	p.CAPool.AddCert(ca)
	p.Files.CAFile = writeFile(t, dir, "ca.pem", caPEM)

	certPEM, keyPEM := newLeaf(t, ca, caKey, "localhost", true)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("simtest: server key pair: %v", err)
	}
	p.ServerCert = cert
	p.Files.ServerCertFile = writeFile(t, dir, "server.pem", certPEM)
	p.Files.ServerKeyFile = writeFile(t, dir, "server-key.pem", keyPEM)
	certPEM, keyPEM = newLeaf(t, ca, caKey, "mlink-test-client", false)
	p.Files.ClientFile = writeFile(t, dir, "client.pem", append(certPEM, keyPEM...))
	certPEM, keyPEM = newLeaf(t, other, otherKey, "intruder", false)
	p.Files.OtherClientFile = writeFile(t, dir, "other-client.pem", append(certPEM, keyPEM...))
	return p
}

// ServerConfig is the server's TLS configuration; with requireClientCert
// it demands a client certificate signed by the CA.
func (p *PKI) ServerConfig(requireClientCert bool) *tls.Config {
	cfg := &tls.Config{Certificates: []tls.Certificate{p.ServerCert}, MinVersion: tls.VersionTLS12}
	if requireClientCert {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = p.CAPool
	}
	return cfg
}

// StartTLS runs a TLS-only mongosim server with a fresh PKI. Connect with
// TLSURI.
func StartTLS(t testing.TB, requireClientCert bool) (*mongosim.Server, *PKI) {
	t.Helper()
	p := NewPKI(t)
	return Start(t, mongosim.Options{TLS: p.ServerConfig(requireClientCert)}), p
}

// TLSURI adds tlsCAFile (and tlsCertificateKeyFile when clientFile is not
// empty) to a TLS server's URI.
func TLSURI(s *mongosim.Server, caFile, clientFile string) string {
	uri := s.URI() + "&tlsCAFile=" + url.QueryEscape(caFile)
	if clientFile != "" {
		uri += "&tlsCertificateKeyFile=" + url.QueryEscape(clientFile)
	}
	return uri
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("simtest: generate key: %v", err)
	}
	return k
}

func serial(t testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatalf("simtest: serial: %v", err)
	}
	return n
}

func newCA(t testing.TB, name string) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"mlink"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("simtest: create CA: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("simtest: parse CA: %v", err)
	}
	return cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// newLeaf issues a server (with 127.0.0.1/localhost SANs) or client
// certificate signed by ca; it returns the certificate and key PEM.
func newLeaf(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, server bool) (certPEM, keyPEM []byte) {
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"mlink"}, OrganizationalUnit: []string{"tests"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatalf("simtest: create certificate %s: %v", cn, err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("simtest: marshal key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatalf("simtest: write %s: %v", p, err)
	}
	return p
}
