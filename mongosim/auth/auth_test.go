package auth

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"
	driverauth "go.mongodb.org/mongo-driver/v2/x/mongo/driver/auth"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/description"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/drivertest"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/mnet"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// serverConn is a driver connection whose far end is a Session: every
// command the driver writes is answered by the SASL handlers, as the
// server would over the wire.
type serverConn struct {
	*drivertest.ChannelConn
	t        *testing.T
	sess     *Session
	commands []bsoncore.Document
}

func newServerConn(t *testing.T, sess *Session) *serverConn {
	return &serverConn{
		ChannelConn: &drivertest.ChannelConn{
			Written:  make(chan []byte, 16),
			ReadResp: make(chan []byte, 16),
			Desc:     description.Server{WireVersion: &description.VersionRange{Max: 25}},
		},
		t: t, sess: sess,
	}
}

func (c *serverConn) Write(_ context.Context, wm []byte) error {
	cmd, err := drivertest.GetCommandFromMsgWireMessage(wm)
	if err != nil {
		return err
	}
	c.commands = append(c.commands, cmd)
	db := cmd.Lookup("$db").StringValue()
	var reply bsoncore.Document
	switch name := cmd.Index(0).Key(); name {
	case "saslStart":
		reply, err = c.sess.SaslStart(db, cmd)
	case "saslContinue":
		reply, err = c.sess.SaslContinue(db, cmd)
	default:
		c.t.Errorf("unexpected command %s", name)
	}
	c.ReadResp <- drivertest.MakeReply(replyDoc(reply, err))
	return nil
}

// replyDoc renders a reply or error as the server's dispatcher would.
func replyDoc(body bsoncore.Document, err error) bsoncore.Document {
	if err != nil {
		var me *mongoerr.Error
		if !errors.As(err, &me) {
			me = mongoerr.New(mongoerr.InternalError, "%v", err)
		}
		return bsonkit.D("ok", bsonkit.Double(0), "errmsg", bsonkit.String(me.Msg),
			"code", bsonkit.Int32(me.Code), "codeName", bsonkit.String(me.CodeName()))
	}
	d := bsonkit.MustParseDoc(body)
	d.Append("ok", bsonkit.Double(1))
	return d.Bytes()
}

var testUsers = []User{
	{Name: "alice", Password: "pencil", Roles: []Role{{"root", "admin"}}, Iterations: 4096},
	{Name: "reader", DB: "app", Password: "secret", Roles: []Role{{"read", "app"}}, Iterations: 4096},
	{Name: "writer", Password: "IX\u00ADJ", Roles: []Role{{"readWrite", "app"}, {"clusterMonitor", "admin"}}, Iterations: 4096},
	{Name: "only256", Password: "pw", Roles: []Role{{"readAnyDatabase", "admin"}}, Mechanisms: []string{ScramSHA256}, Iterations: 4096},
	{Name: "we=ird,name", Password: "pw", Roles: []Role{{"read", "x"}}, Iterations: 4096},
}

func newTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := NewStore(testUsers)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func driverAuth(t *testing.T, sess *Session, mech, user, password, source string) (*serverConn, error) {
	t.Helper()
	a, err := driverauth.CreateAuthenticator(mech, &driverauth.Cred{Username: user, Password: password, Source: source}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newServerConn(t, sess)
	return c, a.Auth(context.Background(), &driver.AuthConfig{Connection: mnet.NewConnection(c)})
}

func TestDriverAuthenticatesWithBothMechanisms(t *testing.T) {
	store := newTestStore(t)
	cases := []struct {
		mech, user, password, source string
	}{
		{ScramSHA256, "alice", "pencil", "admin"},
		{ScramSHA1, "alice", "pencil", "admin"},
		{ScramSHA256, "reader", "secret", "app"},
		{ScramSHA1, "reader", "secret", "app"},
		// SASLprep maps the soft hyphen to nothing: "IXJ" is the same password.
		{ScramSHA256, "writer", "IXJ", "admin"},
		{ScramSHA256, "we=ird,name", "pw", "admin"},
	}
	for _, c := range cases {
		sess := store.NewSession()
		conn, err := driverAuth(t, sess, c.mech, c.user, c.password, c.source)
		if err != nil {
			t.Fatalf("%s %s: %v", c.mech, c.user, err)
		}
		name, db, ok := sess.User()
		if !ok || name != c.user || db != c.source {
			t.Fatalf("%s %s: authenticated as %q %q %v", c.mech, c.user, name, db, ok)
		}
		// The driver asks to skip the empty exchange: two round trips.
		if len(conn.commands) != 2 || conn.commands[0].Index(0).Key() != "saslStart" {
			t.Fatalf("%s: %d commands", c.mech, len(conn.commands))
		}
	}
}

func TestBadCredentialsFailWithAuthenticationFailed(t *testing.T) {
	store := newTestStore(t)
	cases := []struct {
		mech, user, password, source string
	}{
		{ScramSHA256, "alice", "wrong", "admin"},
		{ScramSHA1, "alice", "wrong", "admin"},
		{ScramSHA256, "nobody", "pencil", "admin"},
		{ScramSHA256, "reader", "secret", "admin"}, // right password, wrong database
		{ScramSHA1, "only256", "pw", "admin"},      // no SCRAM-SHA-1 credentials
	}
	for _, c := range cases {
		sess := store.NewSession()
		_, err := driverAuth(t, sess, c.mech, c.user, c.password, c.source)
		if err == nil || !strings.Contains(err.Error(), "Authentication failed") {
			t.Fatalf("%s %s: %v", c.mech, c.user, err)
		}
		if sess.Authenticated() {
			t.Fatalf("%s %s: session authenticated after failure", c.mech, c.user)
		}
	}
	// The same errors, as command replies.
	sess := store.NewSession()
	_, err := sess.SaslStart("admin", bsonkit.D("saslStart", bsonkit.Int32(1), "mechanism", bsonkit.String(ScramSHA256),
		"payload", bsonkit.Binary(0, []byte("n,,n=nobody,r=abcdef"))))
	if me := err.(*mongoerr.Error); me.Code != mongoerr.AuthenticationFailed || me.Msg != "Authentication failed." {
		t.Fatalf("unknown user: %v", err)
	}
}

func TestLongConversationWithoutSkipEmptyExchange(t *testing.T) {
	store := newTestStore(t)
	sess := store.NewSession()
	// Drive the exchange by hand with the driver's SCRAM client pieces:
	// run the conversation through the speculative API, which leaves the
	// final empty step to the caller when skipEmptyExchange is absent.
	a, _ := driverauth.CreateAuthenticator(ScramSHA256, &driverauth.Cred{Username: "alice", Password: "pencil", Source: "admin"}, nil)
	conv, err := a.(driverauth.SpeculativeAuthenticator).CreateSpeculativeConversation()
	if err != nil {
		t.Fatal(err)
	}
	first, err := conv.FirstMessage()
	if err != nil {
		t.Fatal(err)
	}
	// Strip the options so the server keeps the classic three-step form.
	d := bsonkit.MustParseDoc(first)
	d.Delete("options")
	reply, ok := sess.Speculative(d.Bytes())
	if !ok {
		t.Fatal("speculative saslStart refused")
	}
	if keys := strings.Join(docKeys(reply), ","); keys != "conversationId,done,payload" {
		t.Fatalf("saslStart reply keys %s", keys)
	}
	c := newServerConn(t, sess)
	if err := conv.Finish(context.Background(), &driver.AuthConfig{Connection: mnet.NewConnection(c)}, reply); err != nil {
		t.Fatalf("finish: %v", err)
	}
	if len(c.commands) != 2 {
		t.Fatalf("expected saslContinue twice (proof, then empty), got %d", len(c.commands))
	}
	if !sess.Authenticated() {
		t.Fatal("not authenticated")
	}
}

func TestSpeculativeAuthenticationWithDriver(t *testing.T) {
	store := newTestStore(t)
	for _, mech := range []string{ScramSHA1, ScramSHA256} {
		sess := store.NewSession()
		a, _ := driverauth.CreateAuthenticator(mech, &driverauth.Cred{Username: "alice", Password: "pencil", Source: "admin"}, nil)
		conv, _ := a.(driverauth.SpeculativeAuthenticator).CreateSpeculativeConversation()
		first, _ := conv.FirstMessage()
		if first.Lookup("db").StringValue() != "admin" {
			t.Fatalf("speculative doc %v", first)
		}
		reply, ok := sess.Speculative(first)
		if !ok {
			t.Fatalf("%s: speculative refused", mech)
		}
		c := newServerConn(t, sess)
		if err := conv.Finish(context.Background(), &driver.AuthConfig{Connection: mnet.NewConnection(c)}, reply); err != nil {
			t.Fatalf("%s: finish: %v", mech, err)
		}
		if !sess.Authenticated() || len(c.commands) != 1 {
			t.Fatalf("%s: authenticated=%v after %d commands", mech, sess.Authenticated(), len(c.commands))
		}
	}
	// A speculative attempt for an unknown user is dropped silently.
	sess := store.NewSession()
	a, _ := driverauth.CreateAuthenticator(ScramSHA256, &driverauth.Cred{Username: "ghost", Password: "x", Source: "admin"}, nil)
	conv, _ := a.(driverauth.SpeculativeAuthenticator).CreateSpeculativeConversation()
	first, _ := conv.FirstMessage()
	if _, ok := sess.Speculative(first); ok {
		t.Fatal("unknown user must not get a speculative reply")
	}
}

func docKeys(d bsoncore.Document) []string {
	els, _ := d.Elements()
	out := make([]string, len(els))
	for i, e := range els {
		out[i] = e.Key()
	}
	return out
}

func TestSaslProtocolErrors(t *testing.T) {
	store := newTestStore(t)
	sess := store.NewSession()
	cases := []struct {
		name string
		run  func() error
		code int32
	}{
		{"unknown mechanism", func() error {
			_, err := sess.SaslStart("admin", bsonkit.D("saslStart", bsonkit.Int32(1), "mechanism", bsonkit.String("PLAIN"), "payload", bsonkit.Binary(0, nil)))
			return err
		}, mongoerr.MechanismUnavailable},
		{"no mechanism", func() error {
			_, err := sess.SaslStart("admin", bsonkit.D("saslStart", bsonkit.Int32(1), "payload", bsonkit.Binary(0, nil)))
			return err
		}, mongoerr.Location40414},
		{"no payload", func() error {
			_, err := sess.SaslStart("admin", bsonkit.D("saslStart", bsonkit.Int32(1), "mechanism", bsonkit.String(ScramSHA256)))
			return err
		}, mongoerr.Location40414},
		{"channel binding", func() error {
			_, err := sess.SaslStart("admin", bsonkit.D("saslStart", bsonkit.Int32(1), "mechanism", bsonkit.String(ScramSHA256),
				"payload", bsonkit.Binary(0, []byte("p=tls-unique,,n=alice,r=abc"))))
			return err
		}, mongoerr.BadValue},
		{"continue without start", func() error {
			_, err := store.NewSession().SaslContinue("admin", bsonkit.D("saslContinue", bsonkit.Int32(1), "conversationId", bsonkit.Int32(1), "payload", bsonkit.Binary(0, nil)))
			return err
		}, mongoerr.ProtocolError},
	}
	for _, c := range cases {
		err := c.run()
		var me *mongoerr.Error
		if !errors.As(err, &me) || me.Code != c.code {
			t.Errorf("%s: %v, want code %d", c.name, err, c.code)
		}
	}
	// Wrong types name the type found, as mongod's IDL parser does.
	_, err := sess.SaslStart("admin", bsonkit.D("saslStart", bsonkit.Int32(1), "mechanism", bsonkit.Int32(1), "payload", bsonkit.Binary(0, nil)))
	var me *mongoerr.Error
	if !errors.As(err, &me) || me.Code != mongoerr.TypeMismatch || me.Msg != "BSON field 'saslStart.mechanism' is the wrong type 'int', expected type 'string'" {
		t.Errorf("mechanism of the wrong type: %v", err)
	}
	_, err = sess.SaslStart("admin", bsonkit.D("saslStart", bsonkit.Int32(1), "mechanism", bsonkit.String(ScramSHA256), "payload", bsonkit.Bool(true)))
	if !errors.As(err, &me) || me.Code != mongoerr.TypeMismatch || me.Msg != "BSON field 'saslStart.payload' is the wrong type 'bool', expected type 'binData'" {
		t.Errorf("payload of the wrong type: %v", err)
	}
	// A wrong nonce in the second step.
	s2 := store.NewSession()
	if _, err := s2.SaslStart("admin", bsonkit.D("saslStart", bsonkit.Int32(1), "mechanism", bsonkit.String(ScramSHA256),
		"payload", bsonkit.Binary(0, []byte("n,,n=alice,r=clientnonce")))); err != nil {
		t.Fatal(err)
	}
	_, err = s2.SaslContinue("admin", bsonkit.D("saslContinue", bsonkit.Int32(1), "conversationId", bsonkit.Int32(1),
		"payload", bsonkit.Binary(0, []byte("c=biws,r=othernonce,p=AAAA"))))
	if !errors.As(err, &me) || me.Code != mongoerr.BadValue || !strings.Contains(me.Msg, "nonce") {
		t.Fatalf("wrong nonce: %v", err)
	}
}

func TestSupportedMechs(t *testing.T) {
	store := newTestStore(t)
	if m, ok := store.SupportedMechs("admin.alice"); !ok || strings.Join(m, ",") != "SCRAM-SHA-1,SCRAM-SHA-256" {
		t.Fatalf("alice: %v %v", m, ok)
	}
	if m, ok := store.SupportedMechs("admin.only256"); !ok || strings.Join(m, ",") != "SCRAM-SHA-256" {
		t.Fatalf("only256: %v %v", m, ok)
	}
	if _, ok := store.SupportedMechs("app.alice"); ok {
		t.Fatal("alice is not on app")
	}
	if _, ok := store.SupportedMechs("nodot"); ok {
		t.Fatal("malformed")
	}
}

func TestNewStoreErrors(t *testing.T) {
	bad := [][]User{
		{{Name: ""}},
		{{Name: "a", Password: "x"}, {Name: "a", Password: "y"}},
		{{Name: "a", Roles: []Role{{"readAnyDatabase", "app"}}}},
		{{Name: "a", Roles: []Role{{"superhero", "admin"}}}},
		{{Name: "a", Mechanisms: []string{"PLAIN"}}},
	}
	for i, users := range bad {
		if _, err := NewStore(users); err == nil {
			t.Errorf("case %d: expected an error", i)
		}
	}
}
