package expr

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/mlink-dev/mlink/mongosim/bsonkit"
	"github.com/mlink-dev/mlink/mongosim/mongoerr"
)

var dateParts = []string{"$year", "$month", "$dayOfMonth", "$hour", "$minute", "$second", "$millisecond",
	"$dayOfWeek", "$dayOfYear", "$week", "$isoWeek", "$isoWeekYear", "$isoDayOfWeek"}

func init() {
	register(compileDatePart, dateParts...)
	register(compileDateToString, "$dateToString")
}

type datePartExpr struct {
	name     string
	date, tz Expr
}

func compileDatePart(name string, args bsoncore.Value) (Expr, error) {
	d := datePartExpr{name: name}
	var err error
	if args.Type == bsoncore.TypeEmbeddedDocument && !IsOperatorDoc(args) {
		a, err := namedArgs(args, []string{"date", "timezone"},
			func(k string) error { return mongoerr.New(40535, "unrecognized option to %s: \"%s\"", name, k) },
			func() error { return nil })
		if err != nil {
			return nil, err
		}
		dv, ok := a["date"]
		if !ok {
			return nil, mongoerr.New(40539, "missing 'date' argument to %s, provided: %s", name, ValueString(args))
		}
		if d.date, err = Compile(dv); err != nil {
			return nil, err
		}
		if tz, ok := a["timezone"]; ok {
			if d.tz, err = Compile(tz); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
	exprs, err := compileOperands(name, args, 1, 1)
	if err != nil {
		return nil, err
	}
	d.date = exprs[0]
	return d, nil
}

// dateOf converts a date, timestamp or ObjectId to a time.
func dateOf(name string, v bsoncore.Value) (time.Time, error) {
	switch v.Type {
	case bsoncore.TypeDateTime:
		return time.UnixMilli(v.DateTime()).UTC(), nil
	case bsoncore.TypeTimestamp:
		t, _ := v.Timestamp()
		return time.Unix(int64(t), 0).UTC(), nil
	case bsoncore.TypeObjectID:
		id := v.ObjectID()
		return time.Unix(int64(uint32(id[0])<<24|uint32(id[1])<<16|uint32(id[2])<<8|uint32(id[3])), 0).UTC(), nil
	}
	return time.Time{}, mongoerr.New(16006, "can't convert from BSON type %s to Date", TypeName(v.Type))
}

// location parses a timezone argument: an Olson name or a ±hh[:mm] offset.
func location(ctx *Ctx, tz Expr) (*time.Location, bool, error) {
	if tz == nil {
		return time.UTC, true, nil
	}
	v, err := tz.Eval(ctx)
	if err != nil {
		return nil, false, err
	}
	if nullish(v) {
		return nil, false, nil
	}
	if v.Type != bsoncore.TypeString {
		return nil, false, mongoerr.New(40533, "timezone must evaluate to a string, found %s", TypeName(v.Type))
	}
	s := v.StringValue()
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		digits := strings.ReplaceAll(s[1:], ":", "")
		if len(digits) == 2 {
			digits += "00"
		}
		if len(digits) == 4 {
			h, err1 := strconv.Atoi(digits[:2])
			m, err2 := strconv.Atoi(digits[2:])
			if err1 == nil && err2 == nil {
				off := h*3600 + m*60
				if s[0] == '-' {
					off = -off
				}
				return time.FixedZone(s, off), true, nil
			}
		}
	}
	loc, err := time.LoadLocation(s)
	if err != nil {
		return nil, false, mongoerr.New(40485, "unrecognized time zone identifier: \"%s\"", s)
	}
	return loc, true, nil
}

func (d datePartExpr) Eval(ctx *Ctx) (bsoncore.Value, error) {
	v, err := d.date.Eval(ctx)
	if err != nil {
		return bsonkit.Missing, err
	}
	loc, ok, err := location(ctx, d.tz)
	if err != nil {
		return bsonkit.Missing, err
	}
	if nullish(v) || !ok {
		return bsonkit.Null(), nil
	}
	t, err := dateOf(d.name, v)
	if err != nil {
		return bsonkit.Missing, err
	}
	t = t.In(loc)
	var n int
	switch d.name {
	case "$year":
		n = t.Year()
	case "$month":
		n = int(t.Month())
	case "$dayOfMonth":
		n = t.Day()
	case "$hour":
		n = t.Hour()
	case "$minute":
		n = t.Minute()
	case "$second":
		n = t.Second()
	case "$millisecond":
		n = t.Nanosecond() / 1e6
	case "$dayOfWeek":
		n = int(t.Weekday()) + 1
	case "$dayOfYear":
		n = t.YearDay()
	case "$week":
		n = sundayWeek(t)
	case "$isoWeek":
		_, n = t.ISOWeek()
	case "$isoWeekYear":
		n, _ = t.ISOWeek()
	case "$isoDayOfWeek":
		n = int(t.Weekday())
		if n == 0 {
			n = 7
		}
	}
	return bsonkit.Int32(int32(n)), nil
}

// sundayWeek is strftime's %U: weeks start on Sunday, days before the first
// Sunday are in week 0.
func sundayWeek(t time.Time) int {
	return (t.YearDay() + 6 - int(t.Weekday())) / 7
}

type dateToStringExpr struct {
	date, format, tz, onNull Expr
}

func compileDateToString(name string, args bsoncore.Value) (Expr, error) {
	a, err := namedArgs(args, []string{"date", "format", "timezone", "onNull"},
		func(k string) error { return mongoerr.New(18534, "Unrecognized argument to $dateToString: %s", k) },
		func() error { return mongoerr.New(18629, "$dateToString only supports an object as its argument") })
	if err != nil {
		return nil, err
	}
	var d dateToStringExpr
	dv, ok := a["date"]
	if !ok {
		return nil, mongoerr.New(18628, "Missing 'date' parameter to $dateToString")
	}
	if d.date, err = Compile(dv); err != nil {
		return nil, err
	}
	for key, dst := range map[string]*Expr{"format": &d.format, "timezone": &d.tz, "onNull": &d.onNull} {
		if v, ok := a[key]; ok {
			if *dst, err = Compile(v); err != nil {
				return nil, err
			}
		}
	}
	return d, nil
}

func (d dateToStringExpr) Eval(ctx *Ctx) (bsoncore.Value, error) {
	v, err := d.date.Eval(ctx)
	if err != nil {
		return bsonkit.Missing, err
	}
	format := "%Y-%m-%dT%H:%M:%S.%LZ"
	if d.format != nil {
		f, err := d.format.Eval(ctx)
		if err != nil {
			return bsonkit.Missing, err
		}
		if nullish(f) {
			return bsonkit.Null(), nil
		}
		if f.Type != bsoncore.TypeString {
			return bsonkit.Missing, mongoerr.New(18533, "$dateToString requires that 'format' be a string, found: %s with value %s",
				TypeName(f.Type), ValueString(f))
		}
		format = f.StringValue()
	}
	loc, ok, err := location(ctx, d.tz)
	if err != nil {
		return bsonkit.Missing, err
	}
	if !ok {
		return bsonkit.Null(), nil
	}
	if nullish(v) {
		if d.onNull != nil {
			return d.onNull.Eval(ctx)
		}
		return bsonkit.Null(), nil
	}
	t, err := dateOf("$dateToString", v)
	if err != nil {
		return bsonkit.Missing, err
	}
	s, err := strftime(format, t.In(loc))
	if err != nil {
		return bsonkit.Missing, err
	}
	return bsonkit.String(s), nil
}

func strftime(format string, t time.Time) (string, error) {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(format) {
			return "", mongoerr.New(18535, "Unmatched '%%' at end of format string")
		}
		i++
		switch format[i] {
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'L':
			fmt.Fprintf(&b, "%03d", t.Nanosecond()/1e6)
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'w':
			fmt.Fprintf(&b, "%d", int(t.Weekday())+1)
		case 'u':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			fmt.Fprintf(&b, "%d", wd)
		case 'U':
			fmt.Fprintf(&b, "%02d", sundayWeek(t))
		case 'V':
			_, w := t.ISOWeek()
			fmt.Fprintf(&b, "%02d", w)
		case 'G':
			y, _ := t.ISOWeek()
			fmt.Fprintf(&b, "%04d", y)
		case 'z':
			b.WriteString(t.Format("-0700"))
		case 'Z':
			_, off := t.Zone()
			fmt.Fprintf(&b, "%d", off/60)
		case 'b':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case '%':
			b.WriteByte('%')
		default:
			return "", mongoerr.New(18536, "Invalid format character '%%%c' in format string", format[i])
		}
	}
	return b.String(), nil
}
