package results

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/camload/camload/internal/cfgerr"
)

// Op is a threshold's comparison operator.
type Op string

// Operators, as in k6 thresholds.
const (
	Less         Op = "<"
	LessEqual    Op = "<="
	Greater      Op = ">"
	GreaterEqual Op = ">="
	Equal        Op = "=="
	NotEqual     Op = "!="
)

// Threshold is one parsed expression such as "< 1s". Value is in the
// literal's own base unit: nanoseconds for a duration, bytes for a size,
// a percentage for "%" (so "< 1%" has Value 1), else the plain number.
// Threshold is a value type, safe to copy and use concurrently.
type Threshold struct {
	Op    Op
	Value float64
	// Lit is the unit the literal was written in: Nanoseconds, Bytes,
	// Percent, or Count for a bare number.
	Lit  Unit
	Expr string // as written, trimmed
}

// ErrThreshold is wrapped by every threshold parse error.
var ErrThreshold = errors.New("gate: bad threshold")

var byteUnits = map[string]float64{
	"b":  1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	// No bare "M": "1.5m" is a duration (minutes).
}

// ParseThreshold parses a k6-style expression: an operator (<, <=, >, >=,
// ==, !=) and a literal that is a Go duration ("1s", "250ms"), a byte size
// ("512MiB", "1.5 GB", "64KiB"), a percentage ("1%", "0.5 %") or a bare
// number ("100"). Spaces around the parts are ignored.
func ParseThreshold(expr string) (Threshold, error) {
	s := strings.TrimSpace(expr)
	t := Threshold{Expr: s}
	for _, op := range []Op{LessEqual, GreaterEqual, Equal, NotEqual, Less, Greater} {
		if strings.HasPrefix(s, string(op)) {
			t.Op = op
			s = strings.TrimSpace(s[len(op):])
			break
		}
	}
	if t.Op == "" {
		return t, fmt.Errorf("%w %q: must start with <, <=, >, >=, == or !=", ErrThreshold, expr)
	}
	if s == "" {
		return t, fmt.Errorf("%w %q: missing value after %s", ErrThreshold, expr, t.Op)
	}
	// Split the number from its unit.
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.' || (i == 0 && (s[i] == '-' || s[i] == '+'))) {
		i++
	}
	num, unit := s[:i], strings.TrimSpace(s[i:])
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return t, fmt.Errorf("%w %q: %q is not a number", ErrThreshold, expr, num)
	}
	switch lu := strings.ToLower(unit); {
	case unit == "":
		t.Value, t.Lit = v, Count
	case unit == "%":
		t.Value, t.Lit = v, Percent
	case byteUnits[lu] != 0:
		t.Value, t.Lit = v*byteUnits[lu], Bytes
	default:
		d, err := time.ParseDuration(s)
		if err != nil {
			return t, fmt.Errorf("%w %q: unknown unit %q (want a duration like 250ms, a size like 512MiB, a percentage or a number)", ErrThreshold, expr, unit)
		}
		t.Value, t.Lit = float64(d), Nanoseconds
	}
	return t, nil
}

// valueIn converts the threshold's literal to a metric's unit, or fails
// when they do not match (a duration for a byte metric).
func (t Threshold) valueIn(u Unit) (float64, error) {
	switch {
	case t.Lit == u:
		return t.Value, nil
	case u == Ratio && t.Lit == Percent:
		return t.Value / 100, nil
	case u == Ratio && t.Lit == Count, u == Percent && t.Lit == Count, u == Bytes && t.Lit == Count:
		return t.Value, nil
	}
	return 0, fmt.Errorf("%w %q: a %s literal cannot be compared with a %s metric", ErrThreshold, t.Expr, t.Lit, u)
}

// Holds reports whether value (in unit u) satisfies the threshold; err
// when the literal's unit does not fit the metric.
func (t Threshold) Holds(value float64, u Unit) (bool, error) {
	lim, err := t.valueIn(u)
	if err != nil {
		return false, err
	}
	switch t.Op {
	case Less:
		return value < lim, nil
	case LessEqual:
		return value <= lim, nil
	case Greater:
		return value > lim, nil
	case GreaterEqual:
		return value >= lim, nil
	case Equal:
		return value == lim, nil
	case NotEqual:
		return value != lim, nil
	}
	return false, fmt.Errorf("%w %q: unknown operator %q", ErrThreshold, t.Expr, t.Op)
}

// Rule is a named threshold: metric → expression.
type Rule struct {
	Metric    string
	Threshold Threshold
}

// ParseRules parses a run's thresholds (metric → expression), sorted by
// metric name. Every bad metric name or expression is reported, each as a
// *cfgerr.Error naming "thresholds.<metric>".
func ParseRules(m map[string]string) ([]Rule, error) {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	var rules []Rule
	var errs []error
	for _, name := range names {
		field := "thresholds." + name
		if !KnownMetric(name) {
			errs = append(errs, cfgerr.Field(field, "unknown metric %q", name))
			continue
		}
		t, err := ParseThreshold(m[name])
		if err != nil {
			errs = append(errs, &cfgerr.Error{Field: field, Err: err})
			continue
		}
		_, u, _ := Metric(Cell{}, name)
		if _, err := t.valueIn(u); err != nil && !strings.HasPrefix(name, "api.") {
			errs = append(errs, &cfgerr.Error{Field: field, Err: err})
			continue
		}
		rules = append(rules, Rule{Metric: name, Threshold: t})
	}
	return rules, cfgerr.Join(errs...)
}
