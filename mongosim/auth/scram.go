// Package auth is mongosim's access control: SCRAM-SHA-256 and SCRAM-SHA-1
// server conversations as MongoDB runs them over saslStart/saslContinue
// (and hello's speculativeAuthenticate), users configured at start, and
// the built-in roles' privileges for authorization checks and
// connectionStatus.
package auth

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/xdg-go/stringprep"

	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// Mechanism names.
const (
	ScramSHA1   = "SCRAM-SHA-1"
	ScramSHA256 = "SCRAM-SHA-256"
)

// mongod's default iteration counts (scramIterationCount,
// scramSHA256IterationCount).
const (
	defaultSHA1Iterations   = 10000
	defaultSHA256Iterations = 15000
)

type mechanism struct {
	name     string
	newHash  func() hash.Hash
	size     int
	saltLen  int
	defIters int
}

var mechanisms = map[string]*mechanism{
	ScramSHA1:   {name: ScramSHA1, newHash: sha1.New, size: sha1.Size, saltLen: sha1.Size - 4, defIters: defaultSHA1Iterations},
	ScramSHA256: {name: ScramSHA256, newHash: sha256.New, size: sha256.Size, saltLen: sha256.Size - 4, defIters: defaultSHA256Iterations},
}

// credential is what a server stores for one user and mechanism.
type credential struct {
	salt       []byte
	iterations int
	storedKey  []byte
	serverKey  []byte
}

// scramPassword is the password SCRAM hashes: MongoDB's MD5 digest
// "user:mongo:password" for SCRAM-SHA-1, the SASLprep'd password for
// SCRAM-SHA-256.
func scramPassword(mech, user, password string) (string, error) {
	if mech == ScramSHA1 {
		sum := md5.Sum([]byte(user + ":mongo:" + password))
		return hex.EncodeToString(sum[:]), nil
	}
	p, err := stringprep.SASLprep.Prepare(password)
	if err != nil {
		return "", fmt.Errorf("auth: SASLprep password of %q: %w", user, err)
	}
	return p, nil
}

func (m *mechanism) hmac(key []byte, msg string) []byte {
	h := hmac.New(m.newHash, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

func (m *mechanism) sum(b []byte) []byte {
	h := m.newHash()
	h.Write(b)
	return h.Sum(nil)
}

// newCredential derives the stored keys from a password.
func (m *mechanism) newCredential(user, password string, iterations int) (*credential, error) {
	pw, err := scramPassword(m.name, user, password)
	if err != nil {
		return nil, err
	}
	if iterations <= 0 {
		iterations = m.defIters
	}
	salt := make([]byte, m.saltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	salted, err := pbkdf2.Key(m.newHash, pw, salt, iterations, m.size)
	if err != nil {
		return nil, err
	}
	clientKey := m.hmac(salted, "Client Key")
	return &credential{
		salt:       salt,
		iterations: iterations,
		storedKey:  m.sum(clientKey),
		serverKey:  m.hmac(salted, "Server Key"),
	}, nil
}

// authFailed is mongod's reply to wrong credentials or an unknown user.
func authFailed() error {
	return mongoerr.New(mongoerr.AuthenticationFailed, "Authentication failed.")
}

// scramServer is one SCRAM conversation (RFC 5802), server side.
type scramServer struct {
	mech  *mechanism
	users func(name string) (*User, *credential) // nil when unknown

	step        int
	user        *User
	cred        *credential
	gs2Header   string
	clientBare  string
	serverFirst string
	nonce       string
}

// first handles client-first-message and returns server-first-message.
func (s *scramServer) first(msg string) (string, error) {
	// gs2-header: "n,," or "y,," (no channel binding, no authzid).
	parts := strings.SplitN(msg, ",", 3)
	if len(parts) != 3 {
		return "", mongoerr.New(mongoerr.BadValue, "Incorrect number of arguments for first SCRAM client message, got %d expected at least 3", len(parts))
	}
	switch {
	case parts[0] == "p" || strings.HasPrefix(parts[0], "p="):
		return "", mongoerr.New(mongoerr.BadValue, "Server does not support channel binding")
	case parts[0] != "n" && parts[0] != "y":
		return "", mongoerr.New(mongoerr.BadValue, "Incorrect SCRAM client message prefix: %s", parts[0])
	case parts[1] != "":
		return "", mongoerr.New(mongoerr.BadValue, "Incorrect SCRAM authzid: %s", parts[1])
	}
	s.gs2Header = parts[0] + "," + parts[1] + ","
	s.clientBare = parts[2]
	attrs := strings.Split(s.clientBare, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "n=") || !strings.HasPrefix(attrs[1], "r=") {
		return "", mongoerr.New(mongoerr.BadValue, "Invalid SCRAM client first message: expected n= and r=")
	}
	if len(attrs) > 2 && strings.HasPrefix(attrs[2], "m=") {
		return "", mongoerr.New(mongoerr.BadValue, "SCRAM mandatory extensions are not supported")
	}
	name, err := decodeSaslName(attrs[0][2:])
	if err != nil {
		return "", err
	}
	clientNonce := attrs[1][2:]
	if clientNonce == "" {
		return "", mongoerr.New(mongoerr.BadValue, "Invalid SCRAM client nonce")
	}
	s.user, s.cred = s.users(name)
	if s.user == nil || s.cred == nil {
		return "", authFailed()
	}
	var rnd [24]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", err
	}
	s.nonce = clientNonce + base64.StdEncoding.EncodeToString(rnd[:])
	s.serverFirst = "r=" + s.nonce + ",s=" + base64.StdEncoding.EncodeToString(s.cred.salt) + ",i=" + strconv.Itoa(s.cred.iterations)
	s.step = 1
	return s.serverFirst, nil
}

// final handles client-final-message and returns server-final-message.
func (s *scramServer) final(msg string) (string, error) {
	attrs := strings.Split(msg, ",")
	if len(attrs) < 3 || !strings.HasPrefix(attrs[0], "c=") || !strings.HasPrefix(attrs[1], "r=") ||
		!strings.HasPrefix(attrs[len(attrs)-1], "p=") {
		return "", mongoerr.New(mongoerr.BadValue, "Incorrect number of arguments for second SCRAM client message")
	}
	if attrs[0][2:] != base64.StdEncoding.EncodeToString([]byte(s.gs2Header)) {
		return "", mongoerr.New(mongoerr.BadValue, "Unexpected SCRAM channel binding attribute in client-final-message")
	}
	if attrs[1][2:] != s.nonce {
		return "", mongoerr.New(mongoerr.BadValue, "Unmatched SCRAM nonce received from client in second step")
	}
	proof, err := base64.StdEncoding.DecodeString(attrs[len(attrs)-1][2:])
	if err != nil || len(proof) != s.mech.size {
		return "", authFailed()
	}
	withoutProof := strings.Join(attrs[:len(attrs)-1], ",")
	authMessage := s.clientBare + "," + s.serverFirst + "," + withoutProof
	clientSig := s.mech.hmac(s.cred.storedKey, authMessage)
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ clientSig[i]
	}
	if subtle.ConstantTimeCompare(s.mech.sum(clientKey), s.cred.storedKey) != 1 {
		return "", authFailed()
	}
	s.step = 2
	return "v=" + base64.StdEncoding.EncodeToString(s.mech.hmac(s.cred.serverKey, authMessage)), nil
}

// decodeSaslName undoes RFC 5802's escaping of ',' and '=' in names.
func decodeSaslName(s string) (string, error) {
	if !strings.Contains(s, "=") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", mongoerr.New(mongoerr.BadValue, "Invalid SCRAM user name encoding")
		}
		i += 2
	}
	return b.String(), nil
}
