package rule

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
)

// Cell is one cell of a run's matrix (all repetitions of one parameter
// combination), as a Source lists it.
type Cell struct {
	// Name names the cell in messages: "batched/1000".
	Name string
	// Labels are what selectors match: {"mode": "batched", "cameras": "1000"}.
	Labels map[string]string
}

// Sample is a metric in one cell: one value per repetition (the unit of
// replication), in base units (see Unit).
type Sample struct {
	Unit   Unit
	Values []float64
	// Censored is nil or holds one flag per value; a true flag makes the
	// value a lower bound: the true value is ≥ Values[i] (a capacity
	// search that never failed, a cell that ran out of its budget).
	Censored []bool
	// Below is nil or holds one flag per value; a true flag makes the
	// value an upper bound: the true value is below Values[i] and not
	// negative (a capacity search whose floor already failed: the
	// capacity is under the floor). It enters the arithmetic as
	// [0, Values[i]]. A value is never flagged both ways.
	Below []bool
	// Note says why values are censored or bounded, for messages:
	// "capacity search never failed".
	Note string
	// Missing counts repetitions without a value and Reason says why
	// ("over budget", "not measured"). A rule never passes on a missing
	// value: the cell fails it.
	Missing int
	Reason  string
	// Excused, when not empty, takes the cell out of judgement (e.g.
	// "expected over budget"): a rule that needs it is Skipped, with
	// Excused as the reason.
	Excused string
}

// Source is the data rules are judged on: the cells of a run and their
// metrics. The caller implements it over its results.
type Source interface {
	// Cells returns every cell, in the order results should be reported.
	Cells() []Cell
	// Sample returns a metric of a cell. An error (an unknown metric)
	// stops the rule's evaluation and is returned by Evaluate.
	Sample(c Cell, metric string) (Sample, error)
}

// Defaults of Options.
const (
	DefaultConfidence = 0.95
	DefaultResamples  = 5000
	// MaxBindings bounds the cell combinations one rule may expand to.
	MaxBindings = 10000
)

// Options tune the judgement. The zero value is ready to use: 95%
// confidence, DefaultResamples bootstrap resamples, seed 0.
type Options struct {
	// Confidence of the intervals, in (0, 1); 0 means DefaultConfidence.
	Confidence float64
	// Resamples of the bootstrap; 0 means DefaultResamples.
	Resamples int
	// Seed of the bootstrap's generator; every rule and cell combination
	// restarts from it, so a verdict does not depend on evaluation order.
	Seed uint64
}

func (o Options) withDefaults() (Options, error) {
	if o.Confidence == 0 {
		o.Confidence = DefaultConfidence
	}
	if o.Resamples == 0 {
		o.Resamples = DefaultResamples
	}
	if !(o.Confidence > 0 && o.Confidence < 1) {
		return o, fmt.Errorf("rule: confidence must be in (0, 1), got %g", o.Confidence)
	}
	if o.Resamples < 100 {
		return o, fmt.Errorf("rule: resamples must be ≥ 100, got %d", o.Resamples)
	}
	return o, nil
}

// Verdict is the outcome of a rule on one combination of cells.
type Verdict int

// Verdicts.
const (
	// Pass: the whole confidence interval satisfies the rule (with a
	// censored operand, its bound does).
	Pass Verdict = iota
	// Fail: the whole interval violates it, or a value is missing.
	Fail
	// Inconclusive: the interval straddles the limit, or a censored bound
	// cannot settle it.
	Inconclusive
	// Skipped: a cell the rule needs is excused (Sample.Excused).
	Skipped
)

func (v Verdict) String() string {
	switch v {
	case Pass:
		return "PASS"
	case Fail:
		return "FAIL"
	case Inconclusive:
		return "INCONCLUSIVE"
	case Skipped:
		return "SKIP"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Estimate is a judged quantity: a point estimate and its confidence
// interval. Lo == Hi for an exact value; Hi = +Inf makes it a lower bound
// ("≥ Lo", from a censored operand), Lo = -Inf an upper bound. CILo and
// CIHi bound the interval; they equal Lo and Hi when no operand has two
// or more repetitions.
type Estimate struct {
	Lo, Hi     float64
	CILo, CIHi float64
	Confidence float64
	// Below marks an upper bound of a quantity that is not negative (an
	// operand flagged Sample.Below, or a positive multiple or sum of
	// such): the true value is in [0, Hi) and String renders "< Hi".
	Below bool
	d     dim
}

// Exact reports whether the point estimate is a value, not a bound.
func (e Estimate) Exact() bool { return e.Lo == e.Hi }

// Value is the point estimate: the value, or the finite end of a bound
// (NaN when neither end is finite).
func (e Estimate) Value() float64 {
	switch {
	case !math.IsInf(e.Lo, 0):
		return e.Lo
	case !math.IsInf(e.Hi, 0):
		return e.Hi
	}
	return math.NaN()
}

// Unit names the estimate's unit: "duration", "bytes", "percentage",
// "number" or a compound such as "B/ns".
func (e Estimate) Unit() string { return e.d.String() }

// Format renders v in the estimate's unit: "812ms", "512 MiB", "0.52%".
func (e Estimate) Format(v float64) string { return e.d.format(v) }

func (e Estimate) point(lo, hi float64) string {
	switch {
	case e.Below && lo == 0 && hi > 0 && !math.IsInf(hi, 1):
		return "< " + e.d.format(hi)
	case lo == hi:
		return e.d.format(lo)
	case math.IsInf(hi, 1) && math.IsInf(lo, -1):
		return "unknown"
	case math.IsInf(hi, 1):
		return "≥ " + e.d.format(lo)
	case math.IsInf(lo, -1):
		return "≤ " + e.d.format(hi)
	}
	return e.d.format(lo) + "…" + e.d.format(hi)
}

// String renders the estimate: "5.21", "5.21 (95% CI 4.8 … 5.9)",
// "≥ 2000", "≥ 40 (95% CI ≥ 35)".
func (e Estimate) String() string {
	s := e.point(e.Lo, e.Hi)
	if e.CILo == e.Lo && e.CIHi == e.Hi {
		return s
	}
	ci := ""
	switch {
	case e.Below && e.CILo == 0 && e.CIHi > 0 && !math.IsInf(e.CIHi, 1):
		ci = "< " + e.d.format(e.CIHi)
	case math.IsInf(e.CIHi, 1) && !math.IsInf(e.CILo, -1):
		ci = "≥ " + e.d.format(e.CILo)
	case math.IsInf(e.CILo, -1) && !math.IsInf(e.CIHi, 1):
		ci = "≤ " + e.d.format(e.CIHi)
	case math.IsInf(e.CILo, -1):
		ci = "unbounded"
	default:
		ci = e.d.format(e.CILo) + " … " + e.d.format(e.CIHi)
	}
	return fmt.Sprintf("%s (%s CI %s)", s, pct(e.Confidence), ci)
}

// Limit renders the estimate as the right side of a comparison: String,
// in parentheses when its point is a bound, so that "need >= (< 1250)"
// does not read as two operators.
func (e Estimate) Limit() string {
	s := e.String()
	if e.Below || math.IsInf(e.Lo, 0) || math.IsInf(e.Hi, 0) {
		return "(" + s + ")"
	}
	return s
}

func pct(c float64) string { return trimFloat(c*100, 3) + "%" }

// Operand is one distinct (cell, metric) a result used.
type Operand struct {
	Metric string
	Cell   Cell
	Sample Sample
	// Value is the median over the repetitions, with its bootstrap CI.
	Value Estimate
}

// N is the number of values.
func (o Operand) N() int { return len(o.Sample.Values) }

// Result is a rule judged on one combination of cells (for a threshold,
// on one cell).
type Result struct {
	Rule *Rule
	// Cells are the distinct cells the rule's references bound, in
	// reference order.
	Cells    []Cell
	Operands []Operand
	Verdict  Verdict
	// Left and Right are the two sides; Margin is Left − Right, whose
	// interval decides the verdict.
	Left, Right, Margin Estimate
	// N is the fewest repetitions any operand has.
	N int
	// Censored reports whether an operand value is a lower bound.
	Censored bool
	// Below reports whether an operand value is an upper bound
	// (Sample.Below).
	Below bool
	// Warnings are caveats next to the numbers: few repetitions, a
	// division by an interval that holds zero.
	Warnings []string
	// Message explains the verdict in one line, naming the rule, the
	// cells and the values.
	Message string
}

// CellNames joins the names of the result's cells: "async/1000, async/100".
func (res Result) CellNames() string {
	names := make([]string, len(res.Cells))
	for i, c := range res.Cells {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// Evaluate judges every rule on src and returns the results in rule
// order. A rule that cannot be judged (a selector that matches nothing,
// units that do not fit, a Source error) adds an error to the joined
// error and no results; the other rules are still judged.
func Evaluate(rules []*Rule, src Source, opts Options) ([]Result, error) {
	var out []Result
	var errs []error
	for _, r := range rules {
		res, err := r.Evaluate(src, opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, res...)
	}
	return out, errors.Join(errs...)
}

// Evaluate judges the rule on src.
//
// Each metric reference resolves to the cells its selector matches (none
// is an *Error wrapping ErrNoMatch). References then join on the labels
// their selectors leave free: "capacity.list{mode:batched} >= 50 *
// capacity.list{mode:async}" over cameras 100 and 1000 is judged twice,
// batched/100 against async/100 and batched/1000 against async/1000; a
// fully specified reference joins every combination; a threshold, or a
// rule without selectors, is judged once per cell.
//
// On each combination, every operand is the median of its repetitions.
// With two or more repetitions in some operand, the interval is a
// percentile bootstrap (opts.Resamples, seeded with opts.Seed): each
// cell's repetitions are resampled independently, the expression is
// evaluated on the resampled medians, and the interval runs from the
// (1−c)/2 to the (1+c)/2 quantile. The verdict is Pass when the whole
// interval of Left − Right satisfies the comparison, Fail when none of it
// does, and Inconclusive otherwise. Censored values enter as [x, +∞) and
// the expression is evaluated with interval arithmetic, so a bound passes
// only when it settles the rule ("≥ 2000 / 30 >= 50" passes; "≥ 1000 / 30
// >= 50" is inconclusive), and the message says it reasoned on a bound.
func (r *Rule) Evaluate(src Source, opts Options) ([]Result, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	refs := r.Refs()
	bindings, err := r.bind(refs, src.Cells())
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, b := range bindings {
		res, err := r.judge(refs, b, src, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	return out, nil
}

// bind returns every consistent choice of one cell per reference.
func (r *Rule) bind(refs []*Ref, cells []Cell) ([][]Cell, error) {
	matched := make([][]Cell, len(refs))
	var errs []error
	for i, ref := range refs {
		for _, c := range cells {
			if ref.Selector.Matches(c.Labels) {
				matched[i] = append(matched[i], c)
			}
		}
		if len(matched[i]) == 0 {
			errs = append(errs, r.errAt(ref.At, ErrNoMatch, nil, "%s matches no cell (%s)", quote(ref.String()), describeCells(ref.Selector, cells)))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var out [][]Cell
	chosen := make([]Cell, len(refs))
	assigned := map[string]string{}
	var tooMany bool
	var dfs func(i int)
	dfs = func(i int) {
		if tooMany {
			return
		}
		if i == len(refs) {
			if len(out) == MaxBindings {
				tooMany = true
				return
			}
			out = append(out, slices.Clone(chosen))
			return
		}
		for _, c := range matched[i] {
			var set []string
			ok := true
			for k, v := range c.Labels {
				if refs[i].Selector.has(k) {
					continue
				}
				if w, seen := assigned[k]; seen {
					if w != v {
						ok = false
						break
					}
					continue
				}
				set = append(set, k)
			}
			if ok {
				for _, k := range set {
					assigned[k] = c.Labels[k]
				}
				chosen[i] = c
				dfs(i + 1)
			}
			for _, k := range set {
				if ok {
					delete(assigned, k)
				}
			}
		}
	}
	dfs(0)
	if tooMany {
		return nil, r.errAt(0, ErrNoMatch, nil, "expands to more than %d cell combinations: narrow the selectors", MaxBindings)
	}
	if len(out) == 0 {
		return nil, r.errAt(0, ErrNoMatch, nil, "the references have no cells in common (%s)", describeCells(nil, cells))
	}
	return out, nil
}

// describeCells lists the labels the cells have, for a no-match message:
// "cells have cameras: 100, 1000; mode: async, batched".
func describeCells(sel Selector, cells []Cell) string {
	if len(cells) == 0 {
		return "the data has no cells"
	}
	vals := map[string][]string{}
	for _, c := range cells {
		for k, v := range c.Labels {
			if !slices.Contains(vals[k], v) {
				vals[k] = append(vals[k], v)
			}
		}
	}
	var parts []string
	for _, l := range sel {
		if _, ok := vals[l.Key]; !ok {
			parts = append(parts, "no cell has label "+quote(l.Key))
		}
	}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var have []string
	for _, k := range keys {
		have = append(have, k+": "+strings.Join(vals[k], ", "))
	}
	parts = append(parts, "cells have "+strings.Join(have, "; "))
	return strings.Join(parts, "; ")
}

// iv is a closed interval of the extended reals; [x, +Inf] is "≥ x".
type iv struct{ lo, hi float64 }

func (a iv) exact() bool { return a.lo == a.hi }

func ivAdd(a, b iv) iv { return iv{a.lo + b.lo, a.hi + b.hi} }
func ivNeg(a iv) iv    { return iv{-a.hi, -a.lo} }

// mulEnd multiplies two interval ends, with 0 × ∞ = 0 (an exact zero
// times an unbounded value is zero).
func mulEnd(x, y float64) float64 {
	if x == 0 || y == 0 {
		return 0
	}
	return x * y
}

func ivMul(a, b iv) iv {
	p := [4]float64{mulEnd(a.lo, b.lo), mulEnd(a.lo, b.hi), mulEnd(a.hi, b.lo), mulEnd(a.hi, b.hi)}
	return iv{min(p[0], p[1], p[2], p[3]), max(p[0], p[1], p[2], p[3])}
}

var unbounded = iv{math.Inf(-1), math.Inf(1)}

// ivDiv divides; a divisor interval that holds zero makes the quotient
// unbounded (and flags it).
//
// A divisor with zero as one end only ([0, d], an upper bound of a
// quantity that is not negative) divides as in extended interval
// arithmetic: a dividend that is positive throughout gives [a.lo/d, +∞]
// (a capacity below 25 divides 1000 at least 40 times), a negative one
// [−∞, a.hi/d]; a dividend holding zero still makes it unbounded.
func ivDiv(a, b iv, zero *bool) iv {
	if b.lo == 0 && b.hi > 0 || b.hi == 0 && b.lo < 0 {
		*zero = true
		d := b.hi
		if d == 0 {
			d = b.lo
		}
		switch {
		case a.lo > 0 && d > 0:
			return iv{a.lo / d, math.Inf(1)}
		case a.hi < 0 && d > 0:
			return iv{math.Inf(-1), a.hi / d}
		case a.lo > 0 && d < 0:
			return iv{math.Inf(-1), a.lo / d}
		case a.hi < 0 && d < 0:
			return iv{a.hi / d, math.Inf(1)}
		}
		return unbounded
	}
	if b.lo <= 0 && b.hi >= 0 {
		*zero = true
		return unbounded
	}
	// Divide the ends directly (not by the reciprocal, so that x / x is
	// exactly 1); ∞/∞ is no end of the quotient.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range [2]float64{a.lo, a.hi} {
		for _, y := range [2]float64{b.lo, b.hi} {
			if q := x / y; !math.IsNaN(q) {
				lo, hi = min(lo, q), max(hi, q)
			}
		}
	}
	return iv{lo, hi}
}

func eval(e Expr, env map[*Ref]iv, zero *bool) iv {
	switch e := e.(type) {
	case *Literal:
		return iv{e.Value, e.Value}
	case *Ref:
		return env[e]
	case *Neg:
		return ivNeg(eval(e.X, env, zero))
	case *Binary:
		a, b := eval(e.L, env, zero), eval(e.R, env, zero)
		switch e.Op {
		case '+':
			return ivAdd(a, b)
		case '-':
			return ivAdd(a, ivNeg(b))
		case '*':
			return ivMul(a, b)
		default:
			return ivDiv(a, b, zero)
		}
	}
	return unbounded
}

// decide judges the margin interval d = Left − Right against op.
func decide(op Op, d iv) Verdict {
	if math.IsNaN(d.lo) || math.IsNaN(d.hi) {
		return Inconclusive
	}
	var pass, fail bool
	switch op {
	case Less:
		pass, fail = d.hi < 0, d.lo >= 0
	case LessEqual:
		pass, fail = d.hi <= 0, d.lo > 0
	case Greater:
		pass, fail = d.lo > 0, d.hi <= 0
	case GreaterEqual:
		pass, fail = d.lo >= 0, d.hi < 0
	case Equal:
		pass, fail = d.lo == 0 && d.hi == 0, d.lo > 0 || d.hi < 0
	case NotEqual:
		pass, fail = d.lo > 0 || d.hi < 0, d.lo == 0 && d.hi == 0
	}
	switch {
	case pass:
		return Pass
	case fail:
		return Fail
	}
	return Inconclusive
}

// operandKey identifies a distinct (cell, metric): the same metric of the
// same cell written twice is one operand, drawn once per resample.
type operandKey struct{ cell, metric string }

// minCIRepetitions is the fewest repetitions whose bootstrap interval is
// more than the range of the values.
const minCIRepetitions = 6

func (r *Rule) judge(refs []*Ref, cells []Cell, src Source, opts Options) (Result, error) {
	res := Result{Rule: r}
	idx := map[operandKey]int{}
	refOp := make([]int, len(refs))
	for i, ref := range refs {
		k := operandKey{cells[i].Name, ref.Metric}
		j, ok := idx[k]
		if !ok {
			s, err := src.Sample(cells[i], ref.Metric)
			if err != nil {
				return res, r.errAt(ref.At, ErrMetric, err, "%s in %s: %v", quote(ref.Metric), cells[i].Name, err)
			}
			if s.Censored != nil && len(s.Censored) != len(s.Values) {
				return res, fmt.Errorf("rule: %s in %s: %d censoring flags for %d values", ref.Metric, cells[i].Name, len(s.Censored), len(s.Values))
			}
			if s.Below != nil && len(s.Below) != len(s.Values) {
				return res, fmt.Errorf("rule: %s in %s: %d upper-bound flags for %d values", ref.Metric, cells[i].Name, len(s.Below), len(s.Values))
			}
			for k := range s.Below {
				if s.Below[k] && s.Censored != nil && s.Censored[k] {
					return res, fmt.Errorf("rule: %s in %s: value %d is flagged both a lower and an upper bound", ref.Metric, cells[i].Name, k)
				}
				if s.Below[k] && s.Values[k] < 0 {
					return res, fmt.Errorf("rule: %s in %s: upper bound %g is negative", ref.Metric, cells[i].Name, s.Values[k])
				}
			}
			j = len(res.Operands)
			idx[k] = j
			res.Operands = append(res.Operands, Operand{Metric: ref.Metric, Cell: cells[i], Sample: s})
			if !slices.ContainsFunc(res.Cells, func(c Cell) bool { return c.Name == cells[i].Name }) {
				res.Cells = append(res.Cells, cells[i])
			}
		}
		refOp[i] = j
	}
	d, err := r.typecheck(func(ref *Ref) Unit {
		return res.Operands[refOp[slices.Index(refs, ref)]].Sample.Unit
	})
	if err != nil {
		return res, err
	}
	res.N = math.MaxInt
	for _, o := range res.Operands {
		res.N = min(res.N, len(o.Sample.Values))
		if slices.Contains(o.Sample.Censored, true) {
			res.Censored = true
		}
		if slices.Contains(o.Sample.Below, true) {
			res.Below = true
		}
	}

	// Excused and missing cells decide before any arithmetic.
	for _, o := range res.Operands {
		if o.Sample.Excused != "" {
			res.Verdict = Skipped
			res.Message = fmt.Sprintf("%s %s: skipped: %s is %s", res.Verdict, r, o.Cell.Name, o.Sample.Excused)
			return res, nil
		}
	}
	var missing []string
	for _, o := range res.Operands {
		s := o.Sample
		reason := s.Reason
		if reason == "" {
			reason = "not measured"
		}
		switch {
		case len(s.Values) == 0:
			missing = append(missing, fmt.Sprintf("%s has no %s (%s)", o.Cell.Name, o.Metric, reason))
		case s.Missing > 0:
			missing = append(missing, fmt.Sprintf("%s: %d of %d repetitions have no %s (%s)", o.Cell.Name, s.Missing, s.Missing+len(s.Values), o.Metric, reason))
		}
	}
	if len(missing) > 0 {
		res.Verdict = Fail
		res.Message = fmt.Sprintf("%s %s: %s; a rule never passes on values that were not measured", res.Verdict, r, strings.Join(missing, "; "))
		return res, nil
	}

	// Point estimates: every operand's median, as an interval.
	los := make([][]float64, len(res.Operands))
	his := make([][]float64, len(res.Operands))
	point := make([]iv, len(res.Operands))
	for j, o := range res.Operands {
		for i, v := range o.Sample.Values {
			lo, hi := v, v
			if o.Sample.Censored != nil && o.Sample.Censored[i] {
				hi = math.Inf(1)
			}
			if o.Sample.Below != nil && o.Sample.Below[i] {
				lo = 0
			}
			los[j] = append(los[j], lo)
			his[j] = append(his[j], hi)
		}
		point[j] = iv{median(los[j]), median(his[j])}
	}
	env := map[*Ref]iv{}
	setEnv := func(vals []iv) {
		for i, ref := range refs {
			env[ref] = vals[refOp[i]]
		}
	}
	var divZero bool
	setEnv(point)
	L, R := eval(r.Left, env, &divZero), eval(r.Right, env, &divZero)
	M := ivAdd(L, ivNeg(R))
	ciL, ciR, ciM := L, R, M
	opCI := slices.Clone(point)

	boot := false
	for _, o := range res.Operands {
		if len(o.Sample.Values) > 1 {
			boot = true
		}
	}
	if boot {
		rng := rand.New(rand.NewPCG(opts.Seed, 0x9e3779b97f4a7c15))
		B := opts.Resamples
		draws := make([][2][]float64, 3+len(res.Operands)) // L, R, M, then operands: lo, hi ends
		for i := range draws {
			draws[i] = [2][]float64{make([]float64, B), make([]float64, B)}
		}
		cur := make([]iv, len(res.Operands))
		var blo, bhi []float64
		for b := 0; b < B; b++ {
			for j := range res.Operands {
				n := len(los[j])
				if n == 1 {
					cur[j] = point[j]
					continue
				}
				blo, bhi = blo[:0], bhi[:0]
				for range n {
					k := rng.IntN(n)
					blo = append(blo, los[j][k])
					bhi = append(bhi, his[j][k])
				}
				cur[j] = iv{medianInPlace(blo), medianInPlace(bhi)}
			}
			setEnv(cur)
			var z bool
			l, rr := eval(r.Left, env, &z), eval(r.Right, env, &z)
			m := ivAdd(l, ivNeg(rr))
			for i, x := range []iv{l, rr, m} {
				draws[i][0][b], draws[i][1][b] = x.lo, x.hi
			}
			for j := range cur {
				draws[3+j][0][b], draws[3+j][1][b] = cur[j].lo, cur[j].hi
			}
			divZero = divZero || z
		}
		a := (1 - opts.Confidence) / 2
		ci := func(d [2][]float64) iv { return iv{quantile(d[0], a), quantile(d[1], 1-a)} }
		ciL, ciR, ciM = ci(draws[0]), ci(draws[1]), ci(draws[2])
		for j := range opCI {
			opCI[j] = ci(draws[3+j])
		}
		if res.N < minCIRepetitions {
			res.Warnings = append(res.Warnings, fmt.Sprintf("n=%d: with fewer than %d repetitions the bootstrap interval is about the range of the repetitions and covers less than %s", res.N, minCIRepetitions, pct(opts.Confidence)))
		}
	}
	if divZero {
		res.Warnings = append(res.Warnings, "a divisor can be zero: the quotient is unbounded (on one side when the divisor is only bounded above)")
	}
	allBelow := func(j int) bool {
		s := res.Operands[j].Sample
		return len(s.Below) > 0 && !slices.Contains(s.Below, false)
	}
	for j := range res.Operands {
		res.Operands[j].Value = est(point[j], opCI[j], opts.Confidence, unitDim(res.Operands[j].Sample.Unit))
		res.Operands[j].Value.Below = allBelow(j)
	}
	refBelow := func(ref *Ref) bool { return allBelow(refOp[slices.Index(refs, ref)]) }
	// Both sides have the compared unit (a ratio compared with 5% reads
	// as a percentage).
	res.Left = est(L, ciL, opts.Confidence, d)
	res.Left.Below = belowExpr(r.Left, refBelow)
	res.Right = est(R, ciR, opts.Confidence, d)
	res.Right.Below = belowExpr(r.Right, refBelow)
	res.Margin = est(M, ciM, opts.Confidence, d)
	res.Verdict = decide(r.Op, ciM)
	res.Message = r.message(&res)
	return res, nil
}

// belowExpr reports whether e is an upper bound of a quantity that is not
// negative: a reference whose every value is an upper bound, a positive
// multiple or quotient of one, or a sum of such (x < a and y < b give
// x + y < a + b).
func belowExpr(e Expr, below func(*Ref) bool) bool {
	positive := func(e Expr) bool { l, ok := e.(*Literal); return ok && l.Value > 0 }
	switch e := e.(type) {
	case *Ref:
		return below(e)
	case *Binary:
		switch e.Op {
		case '*':
			return positive(e.L) && belowExpr(e.R, below) || positive(e.R) && belowExpr(e.L, below)
		case '/':
			return positive(e.R) && belowExpr(e.L, below)
		case '+':
			return belowExpr(e.L, below) && belowExpr(e.R, below)
		}
	}
	return false
}

func est(p, ci iv, conf float64, d dim) Estimate {
	return Estimate{Lo: p.lo, Hi: p.hi, CILo: ci.lo, CIHi: ci.hi, Confidence: conf, d: d}
}

// message explains a judged result in one line.
func (r *Rule) message(res *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", res.Verdict, r)
	single := len(res.Operands) == 1 && r.Kind == Threshold
	if single {
		o := res.Operands[0]
		fmt.Fprintf(&b, " on %s: measured %s, need %s %s", o.Cell.Name, res.Left, r.Op, res.Right.Limit())
		fmt.Fprintf(&b, " (n=%d", o.N())
		if res.Censored || res.Below {
			b.WriteString(", " + boundWord(res.Censored, res.Below))
			if o.Sample.Note != "" {
				b.WriteString(": " + o.Sample.Note)
			}
		}
		b.WriteString(")")
	} else {
		fmt.Fprintf(&b, ": measured %s, need %s %s; ", res.Left, r.Op, res.Right.Limit())
		parts := make([]string, len(res.Operands))
		for j, o := range res.Operands {
			s := fmt.Sprintf("%s of %s = %s (n=%d", o.Metric, o.Cell.Name, o.Value, o.N())
			if lo, up := slices.Contains(o.Sample.Censored, true), slices.Contains(o.Sample.Below, true); lo || up {
				s += ", " + boundWord(lo, up)
				if o.Sample.Note != "" {
					s += ": " + o.Sample.Note
				}
			}
			parts[j] = s + ")"
		}
		b.WriteString(strings.Join(parts, ", "))
	}
	bound := res.Censored || res.Below
	what := "the lower bound of a censored value"
	only := "a censored value is only a lower bound"
	switch {
	case res.Censored && res.Below:
		what, only = "the bounds of censored values", "censored values are only bounds"
	case res.Below:
		what, only = "the upper bound of a censored value", "a censored value is only an upper bound"
	}
	switch {
	case bound && res.Verdict == Pass:
		b.WriteString("; passes on " + what)
	case bound && res.Verdict == Inconclusive:
		b.WriteString("; " + only + ", which does not settle the rule")
	case bound && res.Verdict == Fail:
		b.WriteString("; fails already at " + what)
	case res.Verdict == Inconclusive:
		fmt.Fprintf(&b, "; the %s CI straddles the limit", pct(res.Margin.Confidence))
	}
	for _, w := range res.Warnings {
		b.WriteString("; " + w)
	}
	return b.String()
}

// boundWord names the censoring of a value in messages: "censored" (a
// lower bound, as the word has always meant here), "upper bound", or both.
func boundWord(lower, upper bool) string {
	switch {
	case lower && upper:
		return "censored, upper bound"
	case upper:
		return "upper bound"
	}
	return "censored"
}

// median returns the median of vs (the mean of the middle two for an even
// count), leaving vs unchanged. +Inf values sort last.
func median(vs []float64) float64 { return medianInPlace(slices.Clone(vs)) }

// medianInPlace is median, sorting s.
func medianInPlace(s []float64) float64 {
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// quantile returns the p-quantile of vs by the nearest rank (no
// interpolation, so infinite values stay infinite). It sorts vs.
func quantile(vs []float64, p float64) float64 {
	slices.Sort(vs)
	i := int(math.Ceil(p*float64(len(vs)))) - 1
	return vs[max(0, min(i, len(vs)-1))]
}
