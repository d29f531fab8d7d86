package api

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/mlink-dev/mlink"
)

// FuzzDecodeStartRequest: any body either decodes to a request whose
// filter is valid and which survives a JSON round trip, or fails with an
// *mlink.InputError whose message is not encoding/json's raw text.
func FuzzDecodeStartRequest(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `null`, ` {} `, `[]`, `"x"`, `{"includeNamespaces":["a.b","c.*","/^d\\./"]}`,
		`{"excludeNamespaces":["a.b"],"pauseOnInitialSync":true,"overwriteTarget":false}`,
		`{"includeNamespaces":"a.b"}`, `{"includeNamespaces":[1]}`, `{"includeNamespace":[]}`,
		`{"includeNamespaces":["/(/"]}`, `{"a" 1}`, `{} {}`, `{"overwriteTarget":null}`, `{"includeNamespaces":[null]}`,
		"{\"includeNamespaces\":[\"a.\\u0000\"]}", `{"INCLUDENAMESPACES":["x.y"]}`,
	} {
		f.Add([]byte(seed), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, dflt bool) {
		req, err := DecodeStartRequest(body, dflt)
		if err != nil {
			var ie *mlink.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %T %v is not an InputError", err, err)
			}
			if strings.HasPrefix(err.Error(), "json: ") || err.Error() == "" {
				t.Fatalf("raw decoder message %q", err)
			}
			return
		}
		if _, err := mlink.NewFilter(req.IncludeNamespaces, req.ExcludeNamespaces); err != nil {
			t.Fatalf("accepted an invalid filter: %v", err)
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		req2, err := DecodeStartRequest(again, false)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", again, err)
		}
		if !reflect.DeepEqual(normalize(req), normalize(req2)) {
			t.Fatalf("round trip changed the request: %+v -> %+v", req, req2)
		}
	})
}

func normalize(r mlink.StartRequest) mlink.StartRequest {
	if len(r.IncludeNamespaces) == 0 {
		r.IncludeNamespaces = nil
	}
	if len(r.ExcludeNamespaces) == 0 {
		r.ExcludeNamespaces = nil
	}
	return r
}
