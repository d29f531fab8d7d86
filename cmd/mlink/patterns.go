package main

import "strings"

// patternList is a repeatable, comma-separated list of namespace patterns.
// Unlike a plain string slice flag it keeps commas inside a /regex/
// ("/^a{1,3}\./" stays one pattern).
type patternList struct{ list *[]string }

func (p patternList) String() string {
	if p.list == nil {
		return ""
	}
	return strings.Join(*p.list, ",")
}

func (p patternList) Set(v string) error {
	*p.list = append(*p.list, splitPatterns(v)...)
	return nil
}

func (p patternList) Type() string { return "patterns" }

// splitPatterns splits at commas outside /…/. A regex runs from a leading
// "/" to a "/" that ends the input or is followed by a comma.
func splitPatterns(s string) []string {
	var out []string
	for len(s) > 0 {
		end := -1
		if strings.HasPrefix(s, "/") {
			for i := 1; i < len(s); i++ {
				if s[i] == '/' && (i == len(s)-1 || s[i+1] == ',') {
					end = i + 1
					break
				}
			}
		}
		if end < 0 {
			end = strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
		}
		out = append(out, s[:end])
		s = strings.TrimPrefix(s[end:], ",")
	}
	return out
}
