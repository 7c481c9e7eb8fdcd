package rule

import (
	"strconv"
	"strings"
)

// Pos is a byte offset into the text a rule was parsed from. For a
// threshold it counts from the start of "key: condition" as String
// writes it, so an error points at the same place in both forms.
type Pos int

// Kind tells the two forms of rule apart.
type Kind int

// Kinds of rule.
const (
	// Threshold is a metric and selector compared with a constant:
	// "cycle_p99{mode:batched}: < 1s". It is judged once per matched cell.
	Threshold Kind = iota
	// Expect is a comparison of two expressions over metric references
	// and constants: "rss_peak{mode:batched} <= 0.2 * rss_peak{mode:async}".
	Expect
)

func (k Kind) String() string {
	if k == Threshold {
		return "threshold"
	}
	return "expect"
}

// Op is a comparison operator.
type Op string

// Comparison operators.
const (
	Less         Op = "<"
	LessEqual    Op = "<="
	Greater      Op = ">"
	GreaterEqual Op = ">="
	Equal        Op = "=="
	NotEqual     Op = "!="
)

// Rule is one parsed threshold or expect rule. Left, Op and Right are the
// comparison; for a threshold Left is a *Ref and Right a constant
// expression. A Rule is immutable once parsed and safe for concurrent use.
type Rule struct {
	Kind  Kind
	Left  Expr
	Op    Op
	OpPos Pos
	Right Expr
	// Text is the rule as written (a threshold as "key: condition").
	Text string
}

// String formats the rule canonically: single spaces around operators,
// no redundant parentheses, units in their canonical spelling
// ("256MiB", "25%"), labels in the order written. A threshold reads
// "cycle_p99{mode:batched,cameras:1000}: < 1s", an expect rule
// "cycle_p99{mode:async,cameras:1000} / cycle_p99{mode:async,cameras:100} >= 5".
// Parsing the result gives a rule with the same String.
func (r *Rule) String() string {
	if r.Kind == Threshold {
		return r.Left.String() + ": " + string(r.Op) + " " + r.Right.String()
	}
	return r.Left.String() + " " + string(r.Op) + " " + r.Right.String()
}

// Refs returns the rule's metric references, left to right.
func (r *Rule) Refs() []*Ref {
	var refs []*Ref
	walk(r.Left, func(x *Ref) { refs = append(refs, x) })
	walk(r.Right, func(x *Ref) { refs = append(refs, x) })
	return refs
}

func walk(e Expr, f func(*Ref)) {
	switch e := e.(type) {
	case *Ref:
		f(e)
	case *Binary:
		walk(e.L, f)
		walk(e.R, f)
	case *Neg:
		walk(e.X, f)
	}
}

// Expr is a node of an expression: *Ref, *Literal, *Binary or *Neg.
type Expr interface {
	// Pos is where the node starts in the rule's text.
	Pos() Pos
	// String formats the node canonically.
	String() string
	expr()
}

// Ref is a metric of the cells its selector matches:
// "cycle_p99{mode:batched,cameras:1000}". An empty Selector matches
// every cell.
type Ref struct {
	Metric   string
	Selector Selector
	At       Pos
}

// Literal is a number with an optional unit: "1s", "256MiB", "25%", "5".
// Value is in base units (nanoseconds, bytes, a fraction for %).
type Literal struct {
	Value float64
	Unit  Unit
	// Text is the number as written and Suffix the unit's canonical
	// spelling ("MiB", "%", "m30s"), "" for none.
	Text, Suffix string
	At           Pos
}

// Binary is an arithmetic operation: Op is one of + - * /.
type Binary struct {
	Op   byte
	L, R Expr
	At   Pos // of the operator
}

// Neg is a unary minus.
type Neg struct {
	X  Expr
	At Pos
}

func (*Ref) expr()     {}
func (*Literal) expr() {}
func (*Binary) expr()  {}
func (*Neg) expr()     {}

func (r *Ref) Pos() Pos     { return r.At }
func (l *Literal) Pos() Pos { return l.At }
func (b *Binary) Pos() Pos  { return b.L.Pos() }
func (n *Neg) Pos() Pos     { return n.At }

func (r *Ref) String() string { return r.Metric + r.Selector.String() }

func (l *Literal) String() string { return l.Text + l.Suffix }

func prec(e Expr) int {
	switch e := e.(type) {
	case *Binary:
		if e.Op == '+' || e.Op == '-' {
			return 1
		}
		return 2
	case *Neg:
		return 3
	}
	return 4
}

func (b *Binary) String() string {
	p := prec(b)
	l, r := b.L.String(), b.R.String()
	if prec(b.L) < p {
		l = "(" + l + ")"
	}
	// Left-associative: a right operand of the same precedence needs
	// parentheses (a - (b - c), a / (b * c)).
	if prec(b.R) <= p {
		r = "(" + r + ")"
	}
	return l + " " + string(b.Op) + " " + r
}

func (n *Neg) String() string {
	x := n.X.String()
	if prec(n.X) < 3 {
		x = "(" + x + ")"
	} else if strings.HasPrefix(x, "-") {
		x = "(" + x + ")"
	}
	return "-" + x
}

// Selector is a list of label constraints; a cell matches when it has
// every label with the given value. The empty selector matches every cell.
type Selector []Label

// Label is one constraint of a selector: "mode:batched".
type Label struct {
	Key, Value string
	At         Pos
}

// String formats the selector as "{mode:batched,cameras:1000}", or "" when
// it is empty.
func (s Selector) String() string {
	if len(s) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.Key)
		b.WriteByte(':')
		b.WriteString(l.Value)
	}
	b.WriteByte('}')
	return b.String()
}

// Matches reports whether a cell with these labels satisfies every
// constraint of s.
func (s Selector) Matches(labels map[string]string) bool {
	for _, l := range s {
		if v, ok := labels[l.Key]; !ok || v != l.Value {
			return false
		}
	}
	return true
}

// has reports whether s constrains key.
func (s Selector) has(key string) bool {
	for _, l := range s {
		if l.Key == key {
			return true
		}
	}
	return false
}

// quote is strconv.Quote, named for error messages.
func quote(s string) string { return strconv.Quote(s) }
