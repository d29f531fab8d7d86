package expr

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

// CompileRegex translates a PCRE pattern with MongoDB options (i, m, s, x)
// into a Go regexp. Constructs RE2 cannot express (backreferences,
// lookaround, atomic groups, possessive quantifiers) are rejected with
// BadValue rather than silently matching differently.
func CompileRegex(pattern, options string) (*regexp.Regexp, error) {
	if strings.IndexByte(pattern, 0) >= 0 {
		return nil, mongoerr.New(mongoerr.BadValue, "Regular expression cannot contain an embedded null byte")
	}
	var flags string
	extended, multiline := false, false
	for _, o := range options {
		switch o {
		case 'i', 's':
			if !strings.ContainsRune(flags, o) {
				flags += string(o)
			}
		case 'm':
			multiline = true
			if !strings.ContainsRune(flags, o) {
				flags += "m"
			}
		case 'x':
			extended = true
		case 'u':
			// UTF-8 mode: Go regexps are always UTF-8.
		default:
			return nil, mongoerr.New(51108, "invalid flag in regex options: %c", o)
		}
	}
	translated, err := translatePCRE(pattern, extended, multiline)
	if err != nil {
		return nil, err
	}
	if flags != "" {
		translated = "(?" + flags + ")" + translated
	}
	re, err := regexp.Compile(translated)
	if err != nil {
		return nil, mongoerr.New(51091, "Regular expression is invalid: %v", err)
	}
	return re, nil
}

// translatePCRE rewrites the PCRE constructs whose meaning differs in RE2.
func translatePCRE(p string, extended, multiline bool) (string, error) {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			n := p[i+1]
			switch {
			case n >= '1' && n <= '9' && !inClass:
				return "", unsupportedRegex(p, "backreferences")
			case n == 'Z':
				b.WriteString(`(?:\n?\z)`)
			case n == 'h':
				b.WriteString(`[\t ]`)
			case n == 'e':
				b.WriteString(`\x1b`)
			default:
				b.WriteByte(c)
				b.WriteByte(n)
			}
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
			// A ']' right after '[' or '[^' is a literal.
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				b.WriteString(`\]`)
				i++
			}
		case c == '(' && i+2 < len(p) && p[i+1] == '?':
			switch p[i+2] {
			case '=', '!':
				return "", unsupportedRegex(p, "lookahead assertions")
			case '>':
				return "", unsupportedRegex(p, "atomic groups")
			case '<':
				if i+3 < len(p) && (p[i+3] == '=' || p[i+3] == '!') {
					return "", unsupportedRegex(p, "lookbehind assertions")
				}
			case '#':
				end := strings.IndexByte(p[i:], ')')
				if end < 0 {
					return "", mongoerr.New(51091, "Regular expression is invalid: missing ) after comment")
				}
				i += end
				continue
			}
			b.WriteByte(c)
		case (c == '+') && i > 0 && isQuantifierEnd(p, i):
			return "", unsupportedRegex(p, "possessive quantifiers")
		case c == '$' && !multiline:
			// PCRE's $ also matches before a final newline.
			b.WriteString(`(?:\n?\z)`)
		case extended && (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'):
			// whitespace is insignificant in extended mode
		case extended && c == '#':
			for i < len(p) && p[i] != '\n' {
				i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// isQuantifierEnd reports whether p[i] ('+') follows a quantifier, making
// it a possessive quantifier in PCRE.
func isQuantifierEnd(p string, i int) bool {
	prev := p[i-1]
	if prev != '*' && prev != '+' && prev != '?' && prev != '}' {
		return false
	}
	// An escaped quantifier character is a literal.
	return !(i >= 2 && p[i-2] == '\\')
}

func unsupportedRegex(p, what string) error {
	return mongoerr.New(mongoerr.BadValue, "Regular expression /%s/ uses %s, which mongosim cannot evaluate", p, what)
}

type regexOpExpr struct {
	name                  string
	input, regex, options Expr
}

func compileRegexOp(name string, args bsoncore.Value) (Expr, error) {
	a, err := namedArgs(args, []string{"input", "regex", "options"},
		func(k string) error { return mongoerr.New(31024, "%s found an unknown field: %s", name, k) },
		func() error {
			return mongoerr.New(51103, "%s expects an object of named arguments but found: %s", name, TypeName(args.Type))
		})
	if err != nil {
		return nil, err
	}
	r := regexOpExpr{name: name}
	in, ok := a["input"]
	if !ok {
		return nil, mongoerr.New(31022, "%s requires 'input' parameter", name)
	}
	re, ok := a["regex"]
	if !ok {
		return nil, mongoerr.New(31023, "%s requires 'regex' parameter", name)
	}
	if r.input, err = Compile(in); err != nil {
		return nil, err
	}
	if r.regex, err = Compile(re); err != nil {
		return nil, err
	}
	if o, ok := a["options"]; ok {
		if r.options, err = Compile(o); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r regexOpExpr) Eval(ctx *Ctx) (bsoncore.Value, error) {
	in, err := r.input.Eval(ctx)
	if err != nil {
		return bsonkit.Missing, err
	}
	reV, err := r.regex.Eval(ctx)
	if err != nil {
		return bsonkit.Missing, err
	}
	var pattern, opts string
	switch reV.Type {
	case bsoncore.TypeString:
		pattern = reV.StringValue()
	case bsoncore.TypeRegex:
		pattern, opts = reV.Regex()
	default:
		if !nullish(reV) {
			return bsonkit.Missing, mongoerr.New(51105, "%s needs 'regex' to be of type string or regex", r.name)
		}
	}
	if r.options != nil {
		o, err := r.options.Eval(ctx)
		if err != nil {
			return bsonkit.Missing, err
		}
		if !nullish(o) {
			if o.Type != bsoncore.TypeString {
				return bsonkit.Missing, mongoerr.New(51106, "%s needs 'options' to be of type string", r.name)
			}
			if opts != "" {
				return bsonkit.Missing, mongoerr.New(51107, "%s found regex option(s) specified in both 'regex' and 'option' fields", r.name)
			}
			opts = o.StringValue()
		}
	}
	if !nullish(in) && in.Type != bsoncore.TypeString {
		return bsonkit.Missing, mongoerr.New(51104, "%s needs 'input' to be of type string", r.name)
	}
	if nullish(in) || nullish(reV) {
		switch r.name {
		case "$regexMatch":
			return boolValue(false), nil
		case "$regexFind":
			return bsonkit.Null(), nil
		}
		return bsonkit.Array(), nil
	}
	re, err := CompileRegex(pattern, opts)
	if err != nil {
		return bsonkit.Missing, err
	}
	s := in.StringValue()
	switch r.name {
	case "$regexMatch":
		return boolValue(re.MatchString(s)), nil
	case "$regexFind":
		m := re.FindStringSubmatchIndex(s)
		if m == nil {
			return bsonkit.Null(), nil
		}
		return regexResult(s, m), nil
	}
	var out []bsoncore.Value
	for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
		out = append(out, regexResult(s, m))
	}
	return bsonkit.Array(out...), nil
}

// regexResult builds {match, idx (code points), captures}.
func regexResult(s string, m []int) bsoncore.Value {
	caps := make([]bsoncore.Value, 0, len(m)/2-1)
	for i := 2; i+1 < len(m); i += 2 {
		if m[i] < 0 {
			caps = append(caps, bsonkit.Null())
			continue
		}
		caps = append(caps, bsonkit.String(s[m[i]:m[i+1]]))
	}
	idx := utf8.RuneCountInString(s[:m[0]])
	return bsonkit.DocValue(bsonkit.D(
		"match", bsonkit.String(s[m[0]:m[1]]),
		"idx", bsonkit.Int32(int32(idx)),
		"captures", bsonkit.Array(caps...)))
}
