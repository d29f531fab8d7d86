package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mlink-dev/mlink"
)

// MaxBodyBytes is the largest request body the API reads (1 MiB); larger
// bodies are refused with 413.
const MaxBodyBytes = 1 << 20

// fieldTypes names, per request field, the JSON type a wrong-type error
// asks for.
var fieldTypes = map[string]string{
	"includeNamespaces":  "array of strings",
	"excludeNamespaces":  "array of strings",
	"pauseOnInitialSync": "boolean",
	"overwriteTarget":    "boolean",
	"ignoreHistoryLost":  "boolean",
	"fromFailure":        "boolean",
}

// startBody is StartRequest with overwriteTarget as a pointer, so an absent
// field takes the daemon's default while an explicit false overrides it.
type startBody struct {
	IncludeNamespaces  []string `json:"includeNamespaces"`
	ExcludeNamespaces  []string `json:"excludeNamespaces"`
	PauseOnInitialSync bool     `json:"pauseOnInitialSync"`
	OverwriteTarget    *bool    `json:"overwriteTarget"`
}

// DecodeStartRequest parses a POST /start body (empty means {}), fills
// overwriteTarget from defaultOverwrite when the body does not set it, and
// validates the namespace filter. Errors are *mlink.InputError whose
// message names the offending field or pattern.
func DecodeStartRequest(body []byte, defaultOverwrite bool) (mlink.StartRequest, error) {
	var b startBody
	if err := decodeJSON(body, &b); err != nil {
		return mlink.StartRequest{}, err
	}
	if _, err := mlink.NewFilter(b.IncludeNamespaces, b.ExcludeNamespaces); err != nil {
		return mlink.StartRequest{}, &mlink.InputError{Msg: err.Error()}
	}
	req := mlink.StartRequest{
		IncludeNamespaces:  b.IncludeNamespaces,
		ExcludeNamespaces:  b.ExcludeNamespaces,
		PauseOnInitialSync: b.PauseOnInitialSync,
		OverwriteTarget:    defaultOverwrite,
	}
	if b.OverwriteTarget != nil {
		req.OverwriteTarget = *b.OverwriteTarget
	}
	return req, nil
}

// DecodeFinalizeRequest parses a POST /finalize body.
func DecodeFinalizeRequest(body []byte) (mlink.FinalizeRequest, error) {
	var req mlink.FinalizeRequest
	err := decodeJSON(body, &req)
	return req, err
}

// DecodeResumeRequest parses a POST /resume body.
func DecodeResumeRequest(body []byte) (mlink.ResumeRequest, error) {
	var req mlink.ResumeRequest
	err := decodeJSON(body, &req)
	return req, err
}

// decodeEmpty accepts the bodies of POSTs that take no fields: empty, {}
// or null.
func decodeEmpty(body []byte) error {
	var none struct{}
	return decodeJSON(body, &none)
}

// decodeJSON decodes one JSON object strictly (no unknown fields, nothing
// after it) and turns encoding/json's errors into *mlink.InputError
// messages a user can act on.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &mlink.InputError{Msg: describeJSONError(err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &mlink.InputError{Msg: "malformed JSON: unexpected data after the object"}
	}
	return nil
}

func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: unexpected end of input"
	case errors.As(err, &typ):
		field, _, _ := strings.Cut(typ.Field, ".")
		if field == "" {
			return "request body must be a JSON object"
		}
		if want, ok := fieldTypes[field]; ok {
			return fmt.Sprintf("field %q: want %s", field, want)
		}
		return fmt.Sprintf("field %q: wrong type %s", field, typ.Value)
	}
	// json: unknown field "x" and anything else encoding/json says.
	return strings.TrimPrefix(err.Error(), "json: ")
}
