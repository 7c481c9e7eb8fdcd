package rule

import (
	"errors"
	"fmt"
	"strings"
)

// Metrics tells which metric names exist and the unit of their values;
// it returns an error (any, wrapped) for a name it does not know. The
// caller owns the vocabulary: this package knows no metric names.
type Metrics func(name string) (Unit, error)

// Error is a rule that parses but cannot be checked or judged: an unknown
// metric, units that do not fit, a selector that matches no cell. It
// wraps ErrMetric, ErrUnit or ErrNoMatch (and the caller's error, if
// any), and points at the offending text.
type Error struct {
	Text string // the rule as written
	Pos  Pos
	Msg  string
	Kind error // ErrMetric, ErrUnit or ErrNoMatch
	Err  error // the caller's error, or nil
}

func (e *Error) Error() string {
	return fmt.Sprintf("rule %s: %s: %s", quote(e.Text), near(e.Text, e.Pos), e.Msg)
}

// Unwrap returns the kind and the caller's error.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

func (r *Rule) errAt(p Pos, kind, cause error, format string, args ...any) *Error {
	return &Error{Text: r.Text, Pos: p, Msg: fmt.Sprintf(format, args...), Kind: kind, Err: cause}
}

// Check checks the rule against a vocabulary: every metric name must be
// known to metrics and the units must fit (no duration compared with
// bytes, no bare number compared with a percentage: write "5%", not
// "0.05"). It reports every problem, each an *Error, joined.
func (r *Rule) Check(metrics Metrics) error {
	var errs []error
	units := map[*Ref]Unit{}
	for _, ref := range r.Refs() {
		u, err := metrics(ref.Metric)
		if err != nil {
			msg := fmt.Sprintf("unknown metric %s: %v", quote(ref.Metric), err)
			if strings.Contains(ref.Metric, "-") {
				msg += " (to subtract, put spaces around -)"
			}
			errs = append(errs, r.errAt(ref.At, ErrMetric, err, "%s", msg))
			continue
		}
		units[ref] = u
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	_, err := r.typecheck(func(ref *Ref) Unit { return units[ref] })
	return err
}

// typecheck returns the unit of the compared quantity.
func (r *Rule) typecheck(unitOf func(*Ref) Unit) (dim, error) {
	l, err := r.typeOf(r.Left, unitOf)
	if err != nil {
		return dim{}, err
	}
	rt, err := r.typeOf(r.Right, unitOf)
	if err != nil {
		return dim{}, err
	}
	if err := r.fits(l, rt, r.Left, r.Right, r.OpPos, "compare"); err != nil {
		return dim{}, err
	}
	return dim{time: l.time, bytes: l.bytes, pct: l.pct || rt.pct}, nil
}

// fits checks that a and b (the units of x and y) can be added or
// compared.
func (r *Rule) fits(a, b dim, x, y Expr, at Pos, verb string) error {
	if !a.sameDims(b) {
		msg := fmt.Sprintf("cannot %s %s (%s) with %s (%s)", verb, quote(x.String()), a, quote(y.String()), b)
		if (a.konst && a.dimensionless()) || (b.konst && b.dimensionless()) {
			msg += ": write the number with a unit, e.g. 1s, 250ms, 512MiB"
		}
		return r.errAt(at, ErrUnit, nil, "%s", msg)
	}
	if a.dimensionless() && a.pct != b.pct {
		bare, other := y, x
		if a.konst && !a.pct {
			bare, other = x, y
		} else if !(b.konst && !b.pct) {
			return nil // a ratio of metrics against a percentage: fine
		}
		return r.errAt(bare.Pos(), ErrUnit, nil, "%s is a percentage, %s a bare number: write it with %% (5%% rather than 0.05)", quote(other.String()), quote(bare.String()))
	}
	return nil
}

func (r *Rule) typeOf(e Expr, unitOf func(*Ref) Unit) (dim, error) {
	switch e := e.(type) {
	case *Literal:
		d := unitDim(e.Unit)
		d.konst = true
		return d, nil
	case *Ref:
		return unitDim(unitOf(e)), nil
	case *Neg:
		return r.typeOf(e.X, unitOf)
	case *Binary:
		a, err := r.typeOf(e.L, unitOf)
		if err != nil {
			return dim{}, err
		}
		b, err := r.typeOf(e.R, unitOf)
		if err != nil {
			return dim{}, err
		}
		k := a.konst && b.konst
		switch e.Op {
		case '+', '-':
			verb := "add"
			if e.Op == '-' {
				verb = "subtract"
			}
			if err := r.fits(a, b, e.L, e.R, e.At, verb); err != nil {
				return dim{}, err
			}
			return dim{time: a.time, bytes: a.bytes, pct: a.pct || b.pct, konst: k}, nil
		case '*':
			return dim{time: a.time + b.time, bytes: a.bytes + b.bytes, pct: a.pct || b.pct, konst: k}, nil
		default:
			return dim{time: a.time - b.time, bytes: a.bytes - b.bytes, pct: a.pct && !b.pct, konst: k}, nil
		}
	}
	return dim{}, fmt.Errorf("rule: unknown node %T", e)
}
