package mongoerr

import "testing"

func TestIDLErrors(t *testing.T) {
	cases := []struct {
		err  *Error
		code int32
		msg  string
	}{
		{WrongType("find.filter", "int", "object"), TypeMismatch,
			"BSON field 'find.filter' is the wrong type 'int', expected type 'object'"},
		{WrongType("insert.ordered", "string", SafeBoolTypes), TypeMismatch,
			"BSON field 'insert.ordered' is the wrong type 'string', expected types '[bool, long, int, decimal, double]'"},
		{WrongType("getMore.batchSize", "bool", NumberTypes), TypeMismatch,
			"BSON field 'getMore.batchSize' is the wrong type 'bool', expected types '[long, int, decimal, double]'"},
		{MissingField("delete.deletes.q"), Location40414, "BSON field 'delete.deletes.q' is missing but a required field"},
	}
	for _, c := range cases {
		if c.err.Code != c.code || c.err.Msg != c.msg {
			t.Errorf("got %d %q, want %d %q", c.err.Code, c.err.Msg, c.code, c.msg)
		}
	}
	if Name(Location40414) != "Location40414" || Name(TypeMismatch) != "TypeMismatch" {
		t.Errorf("code names %s, %s", Name(Location40414), Name(TypeMismatch))
	}
}
