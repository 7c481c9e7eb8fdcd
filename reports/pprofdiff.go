package reports

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/pprof/profile"

	"github.com/camload/camload/results"
)

// FuncDelta is one function's flat value in two profiles.
type FuncDelta struct {
	Func           string
	A, B           int64   // flat value in each profile (ns of CPU, bytes, …)
	AShare, BShare float64 // of each profile's total, 0 … 1
}

// Delta is B − A.
func (d FuncDelta) Delta() int64 { return d.B - d.A }

// ProfileDiff compares two profiles of the same kind, function by function.
type ProfileDiff struct {
	SampleType string // "cpu/nanoseconds", "inuse_space/bytes"
	TotalA     int64
	TotalB     int64
	// Grew are the functions whose flat value grew, largest growth first.
	Grew []FuncDelta
}

// DiffProfiles reads two pprof profiles (gzipped protobuf, as written by
// runtime/pprof and net/http/pprof) and lists, largest first, the top n
// functions whose flat value grew from a to b (n ≤ 0: all). The sample type
// compared is the profile's default (CPU time for a CPU profile, in-use
// bytes for a heap profile); both profiles must have it.
func DiffProfiles(a, b io.Reader, n int) (*ProfileDiff, error) {
	pa, err := profile.Parse(a)
	if err != nil {
		return nil, fmt.Errorf("reports: first profile: %w", err)
	}
	pb, err := profile.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("reports: second profile: %w", err)
	}
	ia, ta, err := sampleIndex(pa)
	if err != nil {
		return nil, fmt.Errorf("reports: first profile: %w", err)
	}
	ib, tb, err := sampleIndex(pb)
	if err != nil {
		return nil, fmt.Errorf("reports: second profile: %w", err)
	}
	if ta != tb {
		return nil, fmt.Errorf("reports: profiles differ in kind: %s vs %s", ta, tb)
	}
	fa, totalA := flat(pa, ia)
	fb, totalB := flat(pb, ib)
	d := &ProfileDiff{SampleType: ta, TotalA: totalA, TotalB: totalB}
	for fn, vb := range fb {
		va := fa[fn]
		if vb <= va {
			continue
		}
		d.Grew = append(d.Grew, FuncDelta{Func: fn, A: va, B: vb, AShare: share(va, totalA), BShare: share(vb, totalB)})
	}
	sort.Slice(d.Grew, func(i, j int) bool {
		if di, dj := d.Grew[i].Delta(), d.Grew[j].Delta(); di != dj {
			return di > dj
		}
		return d.Grew[i].Func < d.Grew[j].Func
	})
	if n > 0 && len(d.Grew) > n {
		d.Grew = d.Grew[:n]
	}
	return d, nil
}

func share(v, total int64) float64 {
	if total == 0 {
		return 0
	}
	return float64(v) / float64(total)
}

// sampleIndex returns the index and "type/unit" of p's default sample type.
func sampleIndex(p *profile.Profile) (int, string, error) {
	if len(p.SampleType) == 0 {
		return 0, "", fmt.Errorf("no sample types")
	}
	i := len(p.SampleType) - 1
	if p.DefaultSampleType != "" {
		for j, st := range p.SampleType {
			if st.Type == p.DefaultSampleType {
				i = j
			}
		}
	}
	st := p.SampleType[i]
	return i, st.Type + "/" + st.Unit, nil
}

// flat sums each function's own (leaf) value: the innermost function of
// each sample's first location, inlining included.
func flat(p *profile.Profile, idx int) (map[string]int64, int64) {
	m := map[string]int64{}
	var total int64
	for _, s := range p.Sample {
		v := s.Value[idx]
		total += v
		if len(s.Location) == 0 || len(s.Location[0].Line) == 0 || s.Location[0].Line[0].Function == nil {
			m["(unknown)"] += v
			continue
		}
		m[s.Location[0].Line[0].Function.Name] += v
	}
	return m, total
}

// Write renders the diff as a table: function, flat in A, flat in B,
// growth and shares.
func (d *ProfileDiff) Write(w io.Writer) error {
	unit := d.SampleType[strings.LastIndexByte(d.SampleType, '/')+1:]
	f := func(v int64) string {
		switch unit {
		case "nanoseconds":
			return results.FormatDuration(time.Duration(v))
		case "bytes":
			return results.FormatBytes(float64(v))
		}
		return fmt.Sprint(v)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "profile diff (%s): total %s → %s\n", d.SampleType, f(d.TotalA), f(d.TotalB))
	if len(d.Grew) == 0 {
		b.WriteString("no function grew\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "grew\tA\tB\tshare A\tshare B\t function")
	for _, g := range d.Grew {
		fmt.Fprintf(tw, "+%s\t%s\t%s\t%s\t%s\t %s\n", f(g.Delta()), f(g.A), f(g.B), results.Format(g.AShare, results.Ratio), results.Format(g.BShare, results.Ratio), g.Func)
	}
	tw.Flush()
	_, err := io.WriteString(w, b.String())
	return err
}
