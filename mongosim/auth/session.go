package auth

import (
	"fmt"
	"sort"
	"sync"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// Role names a role on a database ("read" on "app"; built-in
// *AnyDatabase roles, root and clusterMonitor live on "admin").
type Role struct {
	Name string
	DB   string
}

// User is a user configured at start.
type User struct {
	Name     string
	DB       string // authentication database; "admin" when empty
	Password string
	Roles    []Role
	// Mechanisms limits the SCRAM mechanisms the user has credentials
	// for; empty means both, as createUser does by default.
	Mechanisms []string
	// Iterations overrides mongod's default SCRAM iteration counts
	// (tests use the minimum, 4096, to stay fast).
	Iterations int
}

type userKey struct{ db, name string }

type storedUser struct {
	user  User
	creds map[string]*credential
	privs []Privilege
}

// Store holds the users of one server. It is immutable after NewStore
// and safe for concurrent use.
type Store struct {
	users map[userKey]*storedUser
}

// NewStore derives SCRAM credentials and privileges for users.
func NewStore(users []User) (*Store, error) {
	s := &Store{users: map[userKey]*storedUser{}}
	for _, u := range users {
		if u.DB == "" {
			u.DB = "admin"
		}
		if u.Name == "" {
			return nil, fmt.Errorf("auth: user without a name")
		}
		k := userKey{u.DB, u.Name}
		if _, dup := s.users[k]; dup {
			return nil, fmt.Errorf("auth: user %s.%s defined twice", u.DB, u.Name)
		}
		mechs := u.Mechanisms
		if len(mechs) == 0 {
			mechs = []string{ScramSHA1, ScramSHA256}
		}
		su := &storedUser{user: u, creds: map[string]*credential{}}
		for _, name := range mechs {
			m := mechanisms[name]
			if m == nil {
				return nil, fmt.Errorf("auth: user %s: unknown mechanism %q", u.Name, name)
			}
			c, err := m.newCredential(u.Name, u.Password, u.Iterations)
			if err != nil {
				return nil, err
			}
			su.creds[name] = c
		}
		privs, err := privilegesOf(u.Roles)
		if err != nil {
			return nil, fmt.Errorf("auth: user %s: %w", u.Name, err)
		}
		su.privs = privs
		s.users[k] = su
	}
	return s, nil
}

// SupportedMechs answers hello's saslSupportedMechs: "db.user": the
// mechanisms the user has credentials for, false for an unknown user (the
// reply then has no saslSupportedMechs field).
func (s *Store) SupportedMechs(dbDotUser string) ([]string, bool) {
	for i := 0; i < len(dbDotUser); i++ {
		if dbDotUser[i] != '.' {
			continue
		}
		su := s.users[userKey{dbDotUser[:i], dbDotUser[i+1:]}]
		if su == nil {
			return nil, false
		}
		var out []string
		for _, m := range []string{ScramSHA1, ScramSHA256} {
			if su.creds[m] != nil {
				out = append(out, m)
			}
		}
		return out, true
	}
	return nil, false
}

// Session is one connection's authentication state: at most one SASL
// conversation in progress and the user it authenticated as. It is safe
// for concurrent use (a connection runs one command at a time, but
// connectionStatus may race with a getMore).
type Session struct {
	store *Store

	mu       sync.Mutex
	conv     *scramServer
	convDB   string
	skipLast bool // skipEmptyExchange was requested
	user     *storedUser
}

// NewSession starts the state of a new connection.
func (s *Store) NewSession() *Session { return &Session{store: s} }

// conversationID is the id mongod gives every SASL conversation.
const conversationID = 1

// SaslStart runs saslStart on database db and returns the reply body
// {conversationId, done, payload} (without ok).
func (se *Session) SaslStart(db string, cmd bsoncore.Document) (bsoncore.Document, error) {
	mv, err := cmd.LookupErr("mechanism")
	if err != nil {
		return nil, mongoerr.MissingField("saslStart.mechanism")
	}
	if mv.Type != bsoncore.TypeString {
		return nil, mongoerr.WrongType("saslStart.mechanism", bsonkit.TypeName(mv.Type), "string")
	}
	payload, err := payloadOf("saslStart", cmd)
	if err != nil {
		return nil, err
	}
	m := mechanisms[mv.StringValue()]
	if m == nil {
		return nil, mongoerr.New(mongoerr.MechanismUnavailable,
			"Received authentication for mechanism %s which is not enabled", mv.StringValue())
	}
	skip := false
	if ov, err := cmd.LookupErr("options"); err == nil && ov.Type == bsoncore.TypeEmbeddedDocument {
		if v, err := ov.Document().LookupErr("skipEmptyExchange"); err == nil && v.Type == bsoncore.TypeBoolean {
			skip = v.Boolean()
		}
	}
	conv := &scramServer{mech: m, users: func(name string) (*User, *credential) {
		su := se.store.users[userKey{db, name}]
		if su == nil {
			return nil, nil
		}
		return &su.user, su.creds[m.name]
	}}
	out, err := conv.first(string(payload))
	se.mu.Lock()
	defer se.mu.Unlock()
	if err != nil {
		se.conv = nil
		return nil, err
	}
	se.conv, se.convDB, se.skipLast = conv, db, skip
	return saslReply(false, []byte(out)), nil
}

// SaslContinue runs saslContinue and returns the reply body. When the
// conversation completes the session is authenticated.
func (se *Session) SaslContinue(db string, cmd bsoncore.Document) (bsoncore.Document, error) {
	se.mu.Lock()
	defer se.mu.Unlock()
	idv, err := cmd.LookupErr("conversationId")
	if err != nil {
		return nil, mongoerr.MissingField("saslContinue.conversationId")
	}
	payload, err := payloadOf("saslContinue", cmd)
	if err != nil {
		return nil, err
	}
	if se.conv == nil || se.convDB != db {
		return nil, mongoerr.New(mongoerr.ProtocolError, "No SASL session state found")
	}
	if id, ok := idv.AsInt64OK(); !ok || id != conversationID {
		return nil, mongoerr.New(mongoerr.ProtocolError, "sasl: Mismatched conversation id")
	}
	switch se.conv.step {
	case 1:
		out, err := se.conv.final(string(payload))
		if err != nil {
			se.conv = nil
			return nil, err
		}
		if se.skipLast {
			se.finishLocked()
			return saslReply(true, []byte(out)), nil
		}
		return saslReply(false, []byte(out)), nil
	case 2:
		if len(payload) != 0 {
			se.conv = nil
			return nil, mongoerr.New(mongoerr.BadValue, "Unexpected payload in the final SCRAM step")
		}
		se.finishLocked()
		return saslReply(true, nil), nil
	}
	se.conv = nil
	return nil, mongoerr.New(mongoerr.ProtocolError, "No SASL session state found")
}

func (se *Session) finishLocked() {
	se.user = se.store.users[userKey{se.convDB, se.conv.user.Name}]
	se.conv = nil
}

// Speculative handles hello's speculativeAuthenticate document
// ({saslStart: 1, mechanism, payload, db, options}): the reply body to
// embed as hello's speculativeAuthenticate, or false when the attempt
// fails (mongod then omits the field and the driver authenticates
// normally).
func (se *Session) Speculative(doc bsoncore.Document) (bsoncore.Document, bool) {
	if _, err := doc.LookupErr("saslStart"); err != nil {
		return nil, false
	}
	dbv, err := doc.LookupErr("db")
	if err != nil || dbv.Type != bsoncore.TypeString {
		return nil, false
	}
	reply, err := se.SaslStart(dbv.StringValue(), doc)
	if err != nil {
		return nil, false
	}
	return reply, true
}

// Logout forgets the authenticated user (the logout command).
func (se *Session) Logout() {
	se.mu.Lock()
	defer se.mu.Unlock()
	se.user, se.conv = nil, nil
}

// Authenticated reports whether the connection has authenticated.
func (se *Session) Authenticated() bool {
	se.mu.Lock()
	defer se.mu.Unlock()
	return se.user != nil
}

// User returns the authenticated user's name and database.
func (se *Session) User() (name, db string, ok bool) {
	se.mu.Lock()
	defer se.mu.Unlock()
	if se.user == nil {
		return "", "", false
	}
	return se.user.user.Name, se.user.user.DB, true
}

func (se *Session) privileges() []Privilege {
	se.mu.Lock()
	defer se.mu.Unlock()
	if se.user == nil {
		return nil
	}
	return se.user.privs
}

func payloadOf(cmdName string, cmd bsoncore.Document) ([]byte, error) {
	v, err := cmd.LookupErr("payload")
	if err != nil {
		return nil, mongoerr.MissingField(cmdName + ".payload")
	}
	switch v.Type {
	case bsoncore.TypeBinary:
		_, data := v.Binary()
		return data, nil
	case bsoncore.TypeString:
		return []byte(v.StringValue()), nil
	}
	return nil, mongoerr.WrongType(cmdName+".payload", bsonkit.TypeName(v.Type), "binData")
}

func saslReply(done bool, payload []byte) bsoncore.Document {
	if payload == nil {
		payload = []byte{}
	}
	return bsonkit.D("conversationId", bsonkit.Int32(conversationID), "done", bsonkit.Bool(done),
		"payload", bsonkit.Binary(0, payload))
}

// sortedActions returns a sorted copy.
func sortedActions(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}
