package mlink

import (
	"fmt"
	"regexp"
	"strings"
)

// Filter selects the namespaces mlink replicates.
//
// Patterns are "db.coll" (exact), "db.*" (every collection of db) or a
// regular expression written "/…/" and matched against the full "db.coll"
// (unanchored, Go RE2 syntax: write ^…$ to anchor). An empty include list
// means everything; a non-empty one means only what matches. Exclude always
// wins. System namespaces (see Namespace.IsSystem) never match.
type Filter struct {
	include []pattern
	exclude []pattern
}

type pattern struct {
	text string
	db   string         // exact db for "db.coll" / "db.*"
	coll string         // exact collection; "" for "db.*"
	re   *regexp.Regexp // for "/…/"
}

// NewFilter validates the patterns and builds a filter. The error names
// every invalid pattern.
func NewFilter(include, exclude []string) (*Filter, error) {
	f := &Filter{}
	var bad []string
	for _, list := range []struct {
		in  []string
		out *[]pattern
	}{{include, &f.include}, {exclude, &f.exclude}} {
		for _, s := range list.in {
			p, err := parsePattern(s)
			if err != nil {
				bad = append(bad, err.Error())
				continue
			}
			*list.out = append(*list.out, p)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("invalid namespace filter: %s", strings.Join(bad, "; "))
	}
	return f, nil
}

// MustFilter is NewFilter for patterns known to be valid (tests, defaults).
func MustFilter(include, exclude []string) *Filter {
	f, err := NewFilter(include, exclude)
	if err != nil {
		panic(err)
	}
	return f
}

func parsePattern(s string) (pattern, error) {
	if strings.TrimSpace(s) != s || s == "" {
		return pattern{}, fmt.Errorf("pattern %q: empty or surrounded by spaces", s)
	}
	if len(s) >= 2 && strings.HasPrefix(s, "/") && strings.HasSuffix(s, "/") {
		body := s[1 : len(s)-1]
		if body == "" {
			return pattern{}, fmt.Errorf("pattern %q: empty regular expression", s)
		}
		re, err := regexp.Compile(body)
		if err != nil {
			return pattern{}, fmt.Errorf("pattern %q: %v", s, err)
		}
		return pattern{text: s, re: re}, nil
	}
	if strings.HasPrefix(s, "/") {
		return pattern{}, fmt.Errorf("pattern %q: regular expression must end with /", s)
	}
	db, coll, ok := strings.Cut(s, ".")
	if !ok || db == "" || coll == "" {
		return pattern{}, fmt.Errorf("pattern %q: want db.collection, db.* or /regex/", s)
	}
	if strings.ContainsAny(db, "/\\. \"$*<>:|?") {
		return pattern{}, fmt.Errorf("pattern %q: invalid database name %q", s, db)
	}
	if coll == "*" {
		return pattern{text: s, db: db}, nil
	}
	if strings.Contains(coll, "*") {
		return pattern{}, fmt.Errorf("pattern %q: '*' is only allowed as the whole collection part (db.*); use /regex/ for more", s)
	}
	if strings.HasPrefix(coll, "$") {
		return pattern{}, fmt.Errorf("pattern %q: invalid collection name %q", s, coll)
	}
	return pattern{text: s, db: db, coll: coll}, nil
}

func (p pattern) match(ns Namespace) bool {
	switch {
	case p.re != nil:
		return p.re.MatchString(ns.String())
	case p.coll == "":
		return ns.DB == p.db
	}
	return ns.DB == p.db && ns.Coll == p.coll
}

// Match reports whether ns is replicated.
func (f *Filter) Match(ns Namespace) bool {
	if ns.IsSystem() {
		return false
	}
	if f == nil {
		return true
	}
	for _, p := range f.exclude {
		if p.match(ns) {
			return false
		}
	}
	if len(f.include) == 0 {
		return true
	}
	for _, p := range f.include {
		if p.match(ns) {
			return true
		}
	}
	return false
}

// MayMatchDB reports whether any collection of db could be replicated: it is
// false only when the filter rules the whole database out, so callers can
// skip listing it.
func (f *Filter) MayMatchDB(db string) bool {
	if IsSystemDB(db) {
		return false
	}
	if f == nil {
		return true
	}
	for _, p := range f.exclude {
		if p.re == nil && p.coll == "" && p.db == db {
			return false
		}
	}
	if len(f.include) == 0 {
		return true
	}
	for _, p := range f.include {
		if p.re != nil || p.db == db {
			return true
		}
	}
	return false
}

// Include and Exclude return the patterns as given.
func (f *Filter) Include() []string { return texts(f, true) }
func (f *Filter) Exclude() []string { return texts(f, false) }

func texts(f *Filter, include bool) []string {
	if f == nil {
		return nil
	}
	ps := f.exclude
	if include {
		ps = f.include
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.text
	}
	return out
}

// IsEmpty reports whether the filter selects every non-system namespace.
func (f *Filter) IsEmpty() bool { return f == nil || (len(f.include) == 0 && len(f.exclude) == 0) }
