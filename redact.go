package mlink

import (
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// uriCreds finds user:password@ in MongoDB connection strings.
var uriCreds = regexp.MustCompile(`(mongodb(?:\+srv)?://)([^:@/\s]*):([^@/\s]*)@`)

// Mask replaces secrets in output.
const Mask = "xxxxx"

// RedactURI hides the password of a MongoDB URI (user name kept so the
// DBA can tell which account is used) and sensitive query options.
func RedactURI(uri string) string {
	return redactQuery(uriCreds.ReplaceAllString(uri, "${1}${2}:"+Mask+"@"))
}

var sensitiveOptions = []string{"password", "tlsCertificateKeyFilePassword", "sslPEMKeyPassword", "authMechanismProperties"}

func redactQuery(s string) string {
	for _, opt := range sensitiveOptions {
		re := regexp.MustCompile(`(?i)(` + regexp.QuoteMeta(opt) + `=)[^&\s]*`)
		s = re.ReplaceAllString(s, "${1}"+Mask)
	}
	return s
}

// Redactor scrubs known secrets from any text: URIs anywhere in it, and the
// literal passwords of the configured URIs (drivers sometimes echo parts of
// a connection string in their errors).
type Redactor struct {
	mu      sync.RWMutex
	secrets []string
}

// AddURI registers the password of a connection string.
func (r *Redactor) AddURI(uri string) {
	for _, m := range uriCreds.FindAllStringSubmatch(uri, -1) {
		r.AddSecret(m[3])
		if dec, err := url.PathUnescape(m[3]); err == nil {
			r.AddSecret(dec)
		}
	}
	if u, err := url.Parse(uri); err == nil {
		for _, opt := range sensitiveOptions {
			r.AddSecret(u.Query().Get(opt))
		}
	}
}

// AddSecret registers a literal secret. Very short strings are ignored:
// scrubbing "a" would mangle every message.
func (r *Redactor) AddSecret(s string) {
	if len(s) < 3 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, have := range r.secrets {
		if have == s {
			return
		}
	}
	r.secrets = append(r.secrets, s)
}

// String scrubs s.
func (r *Redactor) String(s string) string {
	s = RedactURI(s)
	if r == nil {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, Mask)
	}
	return s
}
