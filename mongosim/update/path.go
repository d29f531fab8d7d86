package update

import (
	"strings"

	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// splitPath splits a dotted update path into its parts ("a..b" keeps the
// empty part so the caller can reject it as mongod does).
func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, ".")
}

// checkUpdatable is fieldchecker::isUpdatable: no empty path, no empty part.
func checkUpdatable(path string, parts []string) error {
	if len(parts) == 0 {
		return mongoerr.New(mongoerr.EmptyFieldName, "An empty update path is not valid.")
	}
	for _, p := range parts {
		if p == "" {
			return mongoerr.New(mongoerr.EmptyFieldName,
				"The update path '%s' contains an empty field name, which is not allowed.", path)
		}
	}
	return nil
}

func isPositional(part string) bool { return part == "$" }

// isArrayFilterIdent reports the $[] / $[<id>] form.
func isArrayFilterIdent(part string) bool {
	return len(part) >= 3 && part[0] == '$' && part[1] == '[' && part[len(part)-1] == ']'
}

// parseIndex is str::parseUnsignedBase10Integer: a leading digit, only
// digits, and a value that fits 32 bits ("01" is index 1).
func parseIndex(s string) (int, bool) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
		if n > 0xFFFFFFFF {
			return 0, false
		}
	}
	return n, true
}

// isNumericStrict is FieldRef::isNumericPathComponentStrict: digits only
// and no leading zero unless the part is "0".
func isNumericStrict(s string) bool {
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// lessPath is pathsupport::cmpPathsAndArrayIndexes, the order in which an
// update applies (and so appends) the children of one document level:
// plain names bytewise, numbers by magnitude, zero-padded numbers as names.
func lessPath(a, b string) bool {
	if a == "" || b == "" || !isDigit(a[0]) || !isDigit(b[0]) ||
		(a[0] == '0' && len(a) > 1) || (b[0] == '0' && len(b) > 1) {
		return a < b
	}
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	for i := 0; i < len(a); i++ {
		if !isDigit(a[i]) || !isDigit(b[i]) {
			return a < b
		}
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// pathPart is one component of the path an update has walked; index marks
// an array position (the parent was an array).
type pathPart struct {
	name  string
	index bool
}

func dotted(parts []pathPart) string {
	var sb strings.Builder
	for i, p := range parts {
		if i > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(p.name)
	}
	return sb.String()
}

func dottedWith(taken []pathPart, more []string) string {
	s := dotted(taken)
	for _, m := range more {
		if s != "" {
			s += "."
		}
		s += m
	}
	return s
}
