package rule

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Unit is the unit of a metric's values as a Source reports them and as a
// Metrics function declares them. Values are always in the unit's base:
// nanoseconds, bytes, a fraction (0.25 for 25%) or a plain number.
type Unit int

// Units of metric values.
const (
	// Plain is a number without a unit: counts, requests per second, ratios.
	Plain Unit = iota
	// Duration is a time in nanoseconds.
	Duration
	// Bytes is a size in bytes.
	Bytes
	// Fraction is a share where 1 is 100%: error rate, success, CPU (1.5
	// is one and a half cores). Rules write it as a percentage.
	Fraction
)

func (u Unit) String() string {
	switch u {
	case Plain:
		return "number"
	case Duration:
		return "duration"
	case Bytes:
		return "bytes"
	case Fraction:
		return "percentage"
	}
	return "unit(" + strconv.Itoa(int(u)) + ")"
}

// dim is the unit of an expression: exponents of time and bytes, and
// whether a dimensionless value reads as a percentage. The constant flag
// marks an expression without metric references.
type dim struct {
	time, bytes int
	pct         bool
	konst       bool
}

func unitDim(u Unit) dim {
	switch u {
	case Duration:
		return dim{time: 1}
	case Bytes:
		return dim{bytes: 1}
	case Fraction:
		return dim{pct: true}
	}
	return dim{}
}

func (d dim) dimensionless() bool { return d.time == 0 && d.bytes == 0 }

func (d dim) sameDims(e dim) bool { return d.time == e.time && d.bytes == e.bytes }

// String names the unit for error messages: "duration", "bytes",
// "percentage", "number", "bytes/duration".
func (d dim) String() string {
	switch {
	case d.time == 1 && d.bytes == 0:
		return "duration"
	case d.time == 0 && d.bytes == 1:
		return "bytes"
	case d.dimensionless() && d.pct:
		return "percentage"
	case d.dimensionless():
		return "number"
	}
	return d.suffix()
}

// suffix spells a compound unit in base units: "B/ns", "ns^2".
func (d dim) suffix() string {
	var num, den []string
	add := func(name string, exp int) {
		switch {
		case exp == 1:
			num = append(num, name)
		case exp > 1:
			num = append(num, name+"^"+strconv.Itoa(exp))
		case exp == -1:
			den = append(den, name)
		case exp < -1:
			den = append(den, name+"^"+strconv.Itoa(-exp))
		}
	}
	add("B", d.bytes)
	add("ns", d.time)
	s := strings.Join(num, "·")
	if s == "" {
		s = "1"
	}
	if len(den) > 0 {
		s += "/" + strings.Join(den, "·")
	}
	return s
}

// format renders v (in base units) for people with three significant
// digits: "812ms", "1.25s", "512 MiB", "0.52%", "5.21".
func (d dim) format(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case math.IsInf(v, 1):
		return "+∞"
	case math.IsInf(v, -1):
		return "−∞"
	}
	switch {
	case d.time == 1 && d.bytes == 0:
		return formatDuration(v)
	case d.time == 0 && d.bytes == 1:
		return formatBytes(v)
	case d.dimensionless() && d.pct:
		return trimFloat(v*100, 3) + "%"
	case d.dimensionless():
		return trimFloat(v, 3)
	}
	return trimFloat(v, 3) + " " + d.suffix()
}

// Format renders v, in unit u's base (nanoseconds, bytes, a fraction),
// for people with three significant digits: "812ms", "1.25s", "512 MiB",
// "0.52%", "5.21"; NaN reads "n/a", the infinities "+∞" and "−∞". Rules
// show their operands so, and results.Format (every report's figures)
// is written with it.
func Format(v float64, u Unit) string { return unitDim(u).format(v) }

func formatDuration(ns float64) string {
	if ns == 0 {
		return "0s"
	}
	neg := ""
	if ns < 0 {
		neg, ns = "-", -ns
	}
	switch {
	case ns >= float64(10*time.Minute):
		return neg + time.Duration(ns).Round(time.Second).String()
	case ns >= 1e9:
		return neg + trimFloat(ns/1e9, 3) + "s"
	case ns >= 1e6:
		return neg + trimFloat(ns/1e6, 3) + "ms"
	case ns >= 1e3:
		return neg + trimFloat(ns/1e3, 3) + "µs"
	}
	return neg + trimFloat(ns, 3) + "ns"
}

func formatBytes(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for math.Abs(n) >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	return trimFloat(n, 3) + " " + units[i]
}

// trimFloat formats v with sig significant digits (at least the integer
// part), without trailing zeros.
func trimFloat(v float64, sig int) string {
	if v == 0 {
		return "0"
	}
	if a := math.Abs(v); a >= 1e15 || a < 1e-6 {
		return strconv.FormatFloat(v, 'g', sig, 64)
	}
	digits := int(math.Floor(math.Log10(math.Abs(v)))) + 1
	dec := max(sig-digits, 0)
	s := strconv.FormatFloat(v, 'f', dec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// byteUnits maps a lower-case size unit to its factor and canonical
// spelling. There is no bare "m" or "k": "1m" is a minute.
var byteUnits = map[string]struct {
	factor float64
	canon  string
}{
	"b":  {1, "B"},
	"kb": {1e3, "kB"}, "mb": {1e6, "MB"}, "gb": {1e9, "GB"}, "tb": {1e12, "TB"}, "pb": {1e15, "PB"},
	"kib": {1 << 10, "KiB"}, "mib": {1 << 20, "MiB"}, "gib": {1 << 30, "GiB"}, "tib": {1 << 40, "TiB"}, "pib": {1 << 50, "PiB"},
}

// durationUnits are Go's duration units (time.ParseDuration).
var durationUnits = map[string]bool{"ns": true, "us": true, "µs": true, "μs": true, "ms": true, "s": true, "m": true, "h": true}

// literalValue converts a number and its unit (as written) to a value in
// base units, its Unit and the unit's canonical spelling. It fails with a
// message naming what is wrong.
func literalValue(num float64, numText, unit string) (float64, Unit, string, error) {
	if unit == "" {
		return num, Plain, "", nil
	}
	if unit == "%" {
		return num / 100, Fraction, "%", nil
	}
	if b, ok := byteUnits[strings.ToLower(unit)]; ok {
		return num * b.factor, Bytes, b.canon, nil
	}
	if isDurationText(unit) {
		d, err := time.ParseDuration(numText + unit)
		if err != nil {
			return 0, Plain, "", fmt.Errorf("%q is not a duration: %v", numText+unit, err)
		}
		return float64(d), Duration, strings.ReplaceAll(unit, "μ", "µ"), nil
	}
	return 0, Plain, "", fmt.Errorf("unknown unit %q (want a duration like 250ms or 1m30s, a size like 512MiB or 2GB, %% or none)", unit)
}

// isDurationText reports whether unit is a Go duration suffix, possibly
// continued by further number-unit pairs ("m30s" of "1m30s").
func isDurationText(unit string) bool {
	i := 0
	for i < len(unit) && !isDigit(unit[i]) && unit[i] != '.' {
		i++
	}
	if !durationUnits[unit[:i]] {
		return false
	}
	return true
}
