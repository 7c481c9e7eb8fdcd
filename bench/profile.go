package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"time"

	"github.com/google/pprof/profile"

	"github.com/camload/camload/results"
)

// fetchProfile GETs a pprof profile from url, saves it at path and returns
// its topN functions by flat value of sampleType ("cpu", "inuse_space").
func fetchProfile(ctx context.Context, url, path, sampleType string, timeout time.Duration, topN int) ([]results.TopFunc, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{}).Do(req) // bounded by ctx
	if err != nil {
		return nil, fmt.Errorf("bench: profile %s: %w", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("bench: profile %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bench: profile %s: %s: %s", url, resp.Status, bytes.TrimSpace(b))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return nil, fmt.Errorf("bench: saving profile: %w", err)
	}
	p, err := profile.Parse(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("bench: profile %s: %w", url, err)
	}
	return topFuncs(p, sampleType, topN), nil
}

// topFuncs sums each sample's value of sampleType on its leaf function
// (flat) and returns the n largest with their share of the total.
func topFuncs(p *profile.Profile, sampleType string, n int) []results.TopFunc {
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == sampleType {
			idx = i
		}
	}
	if idx < 0 {
		idx = len(p.SampleType) - 1
	}
	if idx < 0 {
		return nil
	}
	flat := map[string]int64{}
	var total int64
	for _, s := range p.Sample {
		v := s.Value[idx]
		total += v
		name := "?"
		if len(s.Location) > 0 && len(s.Location[0].Line) > 0 && s.Location[0].Line[0].Function != nil {
			name = s.Location[0].Line[0].Function.Name
		}
		flat[name] += v
	}
	out := make([]results.TopFunc, 0, len(flat))
	for f, v := range flat {
		if v == 0 {
			continue
		}
		tf := results.TopFunc{Func: f, Flat: v}
		if total > 0 {
			tf.Share = float64(v) / float64(total)
		}
		out = append(out, tf)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Flat != out[j].Flat {
			return out[i].Flat > out[j].Flat
		}
		return out[i].Func < out[j].Func
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}
