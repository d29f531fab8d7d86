package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/mlink-dev/mlink/mongosim"
	"github.com/mlink-dev/mlink/mongosim/auth"
)

type portList []int

func (p *portList) String() string { return fmt.Sprint(*p) }

func (p *portList) Set(s string) error {
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("invalid port %q", f)
		}
		*p = append(*p, n)
	}
	return nil
}

// userList collects --user values as given; they are parsed after the
// flags, because the flag package would echo a rejected value, password
// and all.
type userList []string

func (u *userList) String() string {
	names := make([]string, len(*u))
	for i, x := range *u {
		names[i], _, _ = strings.Cut(x, ":") // never the password
	}
	return strings.Join(names, ",")
}

func (u *userList) Set(s string) error {
	*u = append(*u, s)
	return nil
}

// users parses every --user value.
func (u userList) users() ([]auth.User, error) {
	var out []auth.User
	for _, s := range u {
		user, err := parseUser(s)
		if err != nil {
			return nil, fmt.Errorf("--user: %w", err)
		}
		out = append(out, user)
	}
	return out, nil
}

// parseUser reads name:password:role[@db][,role[@db]...]: a SCRAM user on
// the admin database with built-in roles; a role without @db is on admin,
// as createUser on admin reads a plain role name. It splits at the first
// and last colon, so a password may hold colons; names and roles may not.
func parseUser(s string) (auth.User, error) {
	first, last := strings.Index(s, ":"), strings.LastIndex(s, ":")
	if first < 0 || first == last {
		return auth.User{}, fmt.Errorf("user %q: want name:password:role[@db]", redactUser(s))
	}
	u := auth.User{Name: s[:first], DB: "admin", Password: s[first+1 : last]}
	if u.Name == "" || u.Password == "" {
		return auth.User{}, fmt.Errorf("user %q: name and password must not be empty", redactUser(s))
	}
	for _, r := range strings.Split(s[last+1:], ",") {
		name, db, hasDB := strings.Cut(r, "@")
		if !hasDB {
			db = u.DB
		}
		if name == "" || db == "" {
			return auth.User{}, fmt.Errorf("user %q: role %q: want role[@db]", redactUser(s), r)
		}
		u.Roles = append(u.Roles, auth.Role{Name: name, DB: db})
	}
	return u, nil
}

// redactUser hides the password of a --user value in error messages.
func redactUser(s string) string {
	first, last := strings.Index(s, ":"), strings.LastIndex(s, ":")
	switch {
	case first < 0:
		return s
	case first == last:
		return s[:first] + ":…"
	}
	return s[:first] + ":…" + s[last:]
}

// tlsConfig builds the server's TLS configuration from PEM files: nil when
// no certificate is given; with a CA file, clients must present a
// certificate that CA signed.
func tlsConfig(certFile, keyFile, caFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		if caFile != "" {
			return nil, fmt.Errorf("--tls-ca needs --tls-cert and --tls-key")
		}
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, fmt.Errorf("--tls-cert and --tls-key go together")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS key pair: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read --tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("--tls-ca %s holds no PEM certificate", caFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// oplogRetention checks the history bounds: at least one must hold, or
// the simulated oplog would grow without limit.
func oplogRetention(maxBytes int64, maxEntries int) (mongosim.OplogRetention, error) {
	switch {
	case maxBytes < 0 || maxEntries < 0:
		return mongosim.OplogRetention{}, fmt.Errorf("--oplog-max-bytes and --oplog-max-entries must not be negative")
	case maxBytes == 0 && maxEntries == 0:
		return mongosim.OplogRetention{}, fmt.Errorf("--oplog-max-bytes and --oplog-max-entries cannot both be 0: the oplog needs a bound")
	}
	return mongosim.OplogRetention{MaxBytes: maxBytes, MaxEntries: maxEntries}, nil
}
