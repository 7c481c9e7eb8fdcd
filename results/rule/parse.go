package rule

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Errors wrapped by the package's errors; test with errors.Is.
var (
	// ErrSyntax is wrapped by every *SyntaxError.
	ErrSyntax = errors.New("rule: syntax error")
	// ErrMetric is wrapped when a Metrics function rejects a name.
	ErrMetric = errors.New("rule: unknown metric")
	// ErrUnit is wrapped when units do not fit: a duration compared
	// with bytes, a bare number compared with a percentage.
	ErrUnit = errors.New("rule: units do not match")
	// ErrNoMatch is wrapped when a selector matches no cell of the data,
	// or the references of a rule have no cells in common.
	ErrNoMatch = errors.New("rule: selector matches no cell")
)

// SyntaxError is a rule that does not parse. Pos is the byte offset of
// the offending text in Text.
type SyntaxError struct {
	Text string
	Pos  Pos
	Msg  string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("rule %s: at %d (%s): %s", quote(e.Text), e.Pos, near(e.Text, e.Pos), e.Msg)
}

// Unwrap returns ErrSyntax.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// near shows the text at p: "at “}”", "at the end".
func near(s string, p Pos) string {
	if int(p) >= len(s) {
		return "at the end"
	}
	rest := s[p:]
	if len(rest) > 12 {
		rest = rest[:12] + "…"
	}
	return "at " + quote(rest)
}

// ParseThreshold parses a threshold given as a key and a condition, the
// way a scenario's thresholds map holds them: key
// "cycle_p99{mode:batched,cameras:1000}" (a metric with an optional
// selector; none matches every cell) and condition "< 1s". The condition
// is a comparison operator and a constant expression: "<= 25%",
// ">= 50", "< 256MiB", "<= 5% + 0.5%". Metric names are not checked
// here; see Rule.Check.
func ParseThreshold(key, cond string) (*Rule, error) {
	return ParseThresholdLine(strings.TrimSpace(key) + ": " + strings.TrimSpace(cond))
}

// ParseThresholdLine parses a threshold written on one line as
// "key: condition" (the form of `camload gate --threshold` and of
// Rule.String): "cycle_p99{mode:batched}: < 1s".
func ParseThresholdLine(s string) (*Rule, error) {
	p := &parser{s: s}
	r, err := p.threshold()
	if err != nil {
		return nil, err
	}
	return r, nil
}

// ParseExpect parses an expect rule: two expressions joined by a
// comparison operator, e.g.
// "cycle_p99{mode:async,cameras:1000} / cycle_p99{mode:async,cameras:100} >= 5".
// Expressions combine metric references and constants with + - * / and
// parentheses; at least one side references a metric.
func ParseExpect(s string) (*Rule, error) {
	p := &parser{s: s}
	return p.expect()
}

type parser struct {
	s     string
	i     int
	depth int // of parentheses and unary minus, bounded by maxDepth
}

func (p *parser) errAt(at int, format string, args ...any) error {
	return &SyntaxError{Text: p.s, Pos: Pos(at), Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) space() {
	for p.i < len(p.s) {
		r, n := utf8.DecodeRuneInString(p.s[p.i:])
		if !unicode.IsSpace(r) {
			return
		}
		p.i += n
	}
}

func (p *parser) eof() bool { p.space(); return p.i >= len(p.s) }

// got describes the next token for messages.
func (p *parser) got() string {
	p.space()
	if p.i >= len(p.s) {
		return "the end"
	}
	r, _ := utf8.DecodeRuneInString(p.s[p.i:])
	if isIdentStart(r) || isDigit(byte(r)) {
		j := p.i
		for j < len(p.s) && (isWordByte(p.s[j])) {
			j++
		}
		return quote(p.s[p.i:j])
	}
	return quote(string(r))
}

func (p *parser) threshold() (*Rule, error) {
	p.space()
	if p.eof() {
		return nil, p.errAt(p.i, "empty threshold: want \"metric{label:value}: < limit\"")
	}
	ref, err := p.ref()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != ':' {
		return nil, p.errAt(p.i, "expected \":\" and a condition after %s, got %s", quote(ref.String()), p.got())
	}
	p.i++
	p.space()
	opAt := p.i
	op, ok := p.cmpOp()
	if !ok {
		return nil, p.errAt(p.i, "a condition starts with <, <=, >, >=, == or !=, got %s", p.got())
	}
	if p.eof() {
		return nil, p.errAt(p.i, "missing limit after %s", op)
	}
	right, err := p.sum()
	if err != nil {
		return nil, err
	}
	if !p.eof() {
		return nil, p.trailing()
	}
	var refErr error
	walk(right, func(x *Ref) {
		if refErr == nil {
			refErr = p.errAt(int(x.At), "a threshold compares with a constant, got metric %s (state relations between cells as an expect rule)", quote(x.String()))
		}
	})
	if refErr != nil {
		return nil, refErr
	}
	return &Rule{Kind: Threshold, Left: ref, Op: op, OpPos: Pos(opAt), Right: right, Text: p.s}, nil
}

func (p *parser) expect() (*Rule, error) {
	if p.eof() {
		return nil, p.errAt(p.i, "empty rule: want \"expression <op> expression\"")
	}
	left, err := p.sum()
	if err != nil {
		return nil, err
	}
	p.space()
	opAt := p.i
	op, ok := p.cmpOp()
	if !ok {
		if p.eof() {
			return nil, p.errAt(p.i, "missing comparison (<, <=, >, >=, ==, !=) after %s", quote(left.String()))
		}
		return nil, p.errAt(p.i, "expected an operator (+ - * /) or a comparison (<, <=, >, >=, ==, !=), got %s", p.got())
	}
	if p.eof() {
		return nil, p.errAt(p.i, "missing right-hand side after %s", op)
	}
	right, err := p.sum()
	if err != nil {
		return nil, err
	}
	if !p.eof() {
		return nil, p.trailing()
	}
	r := &Rule{Kind: Expect, Left: left, Op: op, OpPos: Pos(opAt), Right: right, Text: p.s}
	if len(r.Refs()) == 0 {
		return nil, p.errAt(0, "an expect rule must reference at least one metric")
	}
	return r, nil
}

func (p *parser) trailing() error {
	at := p.i
	if _, ok := p.cmpOp(); ok {
		return p.errAt(at, "one comparison per rule: write a second rule instead of chaining")
	}
	return p.errAt(at, "expected an operator (+ - * /) or the end, got %s", p.got())
}

var cmpOps = []struct {
	text string
	op   Op
}{
	{"<=", LessEqual}, {">=", GreaterEqual}, {"==", Equal}, {"!=", NotEqual},
	{"≤", LessEqual}, {"≥", GreaterEqual}, {"≠", NotEqual},
	{"<", Less}, {">", Greater},
}

func (p *parser) cmpOp() (Op, bool) {
	p.space()
	for _, c := range cmpOps {
		if strings.HasPrefix(p.s[p.i:], c.text) {
			p.i += len(c.text)
			return c.op, true
		}
	}
	return "", false
}

// sum = product { ("+" | "-") product }
func (p *parser) sum() (Expr, error) {
	x, err := p.product()
	if err != nil {
		return nil, err
	}
	for {
		p.space()
		if p.i >= len(p.s) || (p.s[p.i] != '+' && p.s[p.i] != '-') {
			return x, nil
		}
		op, at := p.s[p.i], p.i
		p.i++
		y, err := p.product()
		if err != nil {
			return nil, err
		}
		x = &Binary{Op: op, L: x, R: y, At: Pos(at)}
	}
}

// product = unary { ("*" | "/") unary }
func (p *parser) product() (Expr, error) {
	x, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		p.space()
		if p.i >= len(p.s) || (p.s[p.i] != '*' && p.s[p.i] != '/') {
			return x, nil
		}
		op, at := p.s[p.i], p.i
		p.i++
		y, err := p.unary()
		if err != nil {
			return nil, err
		}
		x = &Binary{Op: op, L: x, R: y, At: Pos(at)}
	}
}

// unary = "-" unary | primary
func (p *parser) unary() (Expr, error) {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '-' {
		at := p.i
		if p.depth++; p.depth > maxDepth {
			return nil, p.errAt(at, "expression nested deeper than %d", maxDepth)
		}
		defer func() { p.depth-- }()
		p.i++
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &Neg{X: x, At: Pos(at)}, nil
	}
	return p.primary()
}

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 100

// primary = number [unit] | ref | "(" sum ")"
func (p *parser) primary() (Expr, error) {
	p.space()
	if p.i >= len(p.s) {
		return nil, p.errAt(p.i, "expected a number, a metric or \"(\", got the end")
	}
	c := p.s[p.i]
	switch {
	case c == '(':
		at := p.i
		if p.depth++; p.depth > maxDepth {
			return nil, p.errAt(at, "expression nested deeper than %d", maxDepth)
		}
		defer func() { p.depth-- }()
		p.i++
		x, err := p.sum()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return nil, p.errAt(p.i, "expected \")\" to close the \"(\" at %d, got %s", at, p.got())
		}
		p.i++
		return x, nil
	case isDigit(c) || c == '.':
		return p.number()
	}
	r, _ := utf8.DecodeRuneInString(p.s[p.i:])
	if isIdentStart(r) {
		return p.ref()
	}
	return nil, p.errAt(p.i, "expected a number, a metric or \"(\", got %s", p.got())
}

func (p *parser) number() (Expr, error) {
	at := p.i
	j := p.i
	for j < len(p.s) && isDigit(p.s[j]) {
		j++
	}
	if j < len(p.s) && p.s[j] == '.' {
		j++
		for j < len(p.s) && isDigit(p.s[j]) {
			j++
		}
	}
	// An exponent only when digits follow: "1e3", "2.5E-2".
	if j < len(p.s) && (p.s[j] == 'e' || p.s[j] == 'E') {
		k := j + 1
		if k < len(p.s) && (p.s[k] == '+' || p.s[k] == '-') {
			k++
		}
		if k < len(p.s) && isDigit(p.s[k]) {
			for k < len(p.s) && isDigit(p.s[k]) {
				k++
			}
			j = k
		}
	}
	text := p.s[at:j]
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return nil, p.errAt(at, "%s is not a number", quote(text))
	}
	p.i = j
	// The unit: attached ("250ms") or after spaces ("1.5 GB").
	save := p.i
	p.space()
	spaced := p.i > save
	uAt := p.i
	unit := p.unitWord()
	if unit == "" {
		p.i = save
		return &Literal{Value: v, Unit: Plain, Text: text, At: Pos(at)}, nil
	}
	if isDurationText(unit) && strings.ContainsAny(text, "eE") {
		return nil, p.errAt(at, "a duration cannot have an exponent: %s", quote(text+unit))
	}
	val, u, canon, err := literalValue(v, text, unit)
	if err != nil {
		if spaced {
			return nil, p.errAt(uAt, "expected an operator after %s, got %s", quote(text), quote(unit))
		}
		return nil, p.errAt(uAt, "%v", err)
	}
	return &Literal{Value: val, Unit: u, Text: text, Suffix: canon, At: Pos(at)}, nil
}

// unitWord reads a unit after a number: "%", letters ("MiB", "ms",
// "µs"), and for a Go duration its further parts ("m30s" of "1m30s").
func (p *parser) unitWord() string {
	if p.i < len(p.s) && p.s[p.i] == '%' {
		p.i++
		return "%"
	}
	start := p.i
	letters := func() {
		for p.i < len(p.s) {
			r, n := utf8.DecodeRuneInString(p.s[p.i:])
			if !unicode.IsLetter(r) {
				return
			}
			p.i += n
		}
	}
	letters()
	if p.i == start {
		return ""
	}
	if durationUnits[p.s[start:p.i]] {
		for p.i < len(p.s) && (isDigit(p.s[p.i]) || p.s[p.i] == '.') {
			for p.i < len(p.s) && (isDigit(p.s[p.i]) || p.s[p.i] == '.') {
				p.i++
			}
			letters()
		}
	}
	return p.s[start:p.i]
}

// ref = metric [ "{" label { "," label } [","] "}" ]
func (p *parser) ref() (*Ref, error) {
	p.space()
	at := p.i
	name := p.ident(true)
	if name == "" {
		return nil, p.errAt(p.i, "expected a metric name, got %s", p.got())
	}
	ref := &Ref{Metric: name, At: Pos(at)}
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return ref, nil
	}
	open := p.i
	p.i++
	for {
		p.space()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			if len(ref.Selector) == 0 {
				return nil, p.errAt(open, "empty selector {} (leave it out to match every cell)")
			}
			p.i++
			return ref, nil
		}
		lAt := p.i
		key := p.ident(false)
		if key == "" {
			return nil, p.errAt(p.i, "expected a label name in the selector of %s, got %s", quote(name), p.got())
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, p.errAt(p.i, "expected \":\" after label %s, got %s", quote(key), p.got())
		}
		p.i++
		p.space()
		vAt := p.i
		for p.i < len(p.s) && isValueByte(p.s[p.i]) {
			p.i++
		}
		val := p.s[vAt:p.i]
		if val == "" {
			return nil, p.errAt(p.i, "expected a value for label %s, got %s", quote(key), p.got())
		}
		if ref.Selector.has(key) {
			return nil, p.errAt(lAt, "label %s given twice in the selector of %s", quote(key), quote(name))
		}
		ref.Selector = append(ref.Selector, Label{Key: key, Value: val, At: Pos(lAt)})
		p.space()
		switch {
		case p.i < len(p.s) && p.s[p.i] == ',':
			p.i++
		case p.i < len(p.s) && p.s[p.i] == '}':
		default:
			return nil, p.errAt(p.i, "expected \",\" or \"}\" in the selector of %s (opened at %d), got %s", quote(name), open, p.got())
		}
	}
}

// ident reads a name: a letter or _, then letters, digits and _; a metric
// name also takes "." and "-" between parts ("api.list.p99",
// "capacity.get-latest"). A "-" belongs to the name only when a letter or
// _ follows, so subtraction wants spaces: "a - b".
func (p *parser) ident(metric bool) string {
	start := p.i
	if p.i >= len(p.s) {
		return ""
	}
	r, n := utf8.DecodeRuneInString(p.s[p.i:])
	if !isIdentStart(r) {
		return ""
	}
	p.i += n
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case isWordByte(c):
			p.i++
		case metric && c == '.' && p.i+1 < len(p.s) && isWordByte(p.s[p.i+1]):
			p.i++
		case metric && c == '-' && p.i+1 < len(p.s) && (isLetter(p.s[p.i+1]) || p.s[p.i+1] == '_'):
			p.i++
		default:
			return p.s[start:p.i]
		}
	}
	return p.s[start:p.i]
}

func isDigit(c byte) bool    { return c >= '0' && c <= '9' }
func isLetter(c byte) bool   { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isWordByte(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' }
func isValueByte(c byte) bool {
	return isWordByte(c) || c == '.' || c == '-'
}
func isIdentStart(r rune) bool { return r < utf8.RuneSelf && (isLetter(byte(r)) || r == '_') }
