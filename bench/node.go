package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/camload/camload/results"
	"github.com/camload/camload/scenarios"
	"github.com/camload/camload/simulator"
)

// NodeOptions are the settings of AttackNode.
type NodeOptions struct {
	// BaseURL is the system's API base, e.g. http://127.0.0.1:8080.
	// Required.
	BaseURL string
	// OutDir receives api-<target>.bin and attack.json (created). Required.
	OutDir string
	// Cameras fill the targets' {{id}}, {{district}} and {{status}}
	// (the fleet's inventory); required when a target uses them.
	Cameras []simulator.Camera
	// AllowRemote permits a BaseURL that is not loopback.
	AllowRemote bool
	// Seed draws the targets' URLs; 0 = the scenario's seed.
	Seed int64
	// Logf receives one line per target; nil = none.
	Logf func(format string, args ...any)
}

// AttackNode runs the steady part of every load target of sc (rate ×
// duration; capacity searches belong to camload run) against BaseURL, one
// after another, and writes each target's vegeta results to
// OutDir/api-<target>.bin and the summaries to OutDir/attack.json. Several
// nodes running it at once against one system form one load; MergeNodes
// joins their folders.
func AttackNode(ctx context.Context, sc *scenarios.Scenario, o NodeOptions) (*results.NodeRun, error) {
	if o.BaseURL == "" || o.OutDir == "" {
		return nil, errors.New("bench: NodeOptions.BaseURL and OutDir are required")
	}
	u, err := url.Parse(o.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("bench: base URL %q: want http(s)://host:port", o.BaseURL)
	}
	if !o.AllowRemote {
		if err := checkLoopback(o.BaseURL); err != nil {
			return nil, fmt.Errorf("base URL: %w", err)
		}
	}
	if len(sc.Load) == 0 {
		return nil, fmt.Errorf("bench: scenario %s has no load targets", sc.Name)
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	seed := o.Seed
	if seed == 0 {
		seed = sc.Seed
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	run := &results.NodeRun{Schema: results.NodeSchemaVersion, Scenario: sc.Name, BaseURL: o.BaseURL,
		Started: time.Now().UTC(), Endpoints: map[string]results.Endpoint{}}
	for ti, t := range sc.Load {
		if err := ctx.Err(); err != nil {
			return run, err
		}
		urls := targetURLs(o.BaseURL, t, o.Cameras, seed, ti)
		for _, s := range urls {
			if containsPlaceholder(s) {
				return run, fmt.Errorf("bench: load %s: path %q needs camera ids (--fleet)", t.Name, t.Path)
			}
		}
		spec := AttackSpec{Name: t.Name, Method: t.Method, URLs: urls, Rate: t.Rate, Duration: t.Duration,
			Timeout: t.Timeout, Workers: t.Workers, MaxWorkers: t.MaxWorkers}
		bin := "api-" + t.Name + ".bin"
		f, err := os.Create(filepath.Join(o.OutDir, bin))
		if err != nil {
			return run, fmt.Errorf("bench: %w", err)
		}
		r, err := Attack(ctx, spec, NewEncoder(f))
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if err != nil {
			return run, fmt.Errorf("bench: load %s: %w", t.Name, err)
		}
		ep := r.Endpoint
		ep.Path, ep.BinFile = t.Path, bin
		run.Endpoints[t.Name] = ep
		o.Logf("load %s: %d requests, %.1f req/s ok, p99 %s", t.Name, ep.Requests, ep.Throughput, ep.Latency.P99)
	}
	run.Finished = time.Now().UTC()
	if err := results.WriteNode(filepath.Join(o.OutDir, "attack.json"), run); err != nil {
		return run, fmt.Errorf("bench: %w", err)
	}
	return run, nil
}

func containsPlaceholder(s string) bool { return strings.Contains(s, "{{") }

// MergeNodes reads the folders written by AttackNode on several load
// nodes and writes, into outDir, each target's merged vegeta results
// (api-<target>.bin: every node's results ordered by timestamp, so `vegeta
// report` and `vegeta plot` read the whole load) and attack.json with the
// merged summaries beside each node's own. Every node must have run the
// same scenario; a target missing on some node is merged from those that
// ran it.
func MergeNodes(outDir string, nodeDirs []string) (*results.NodeRun, error) {
	if len(nodeDirs) < 2 {
		return nil, fmt.Errorf("bench: merge needs at least two node folders, got %d", len(nodeDirs))
	}
	nodes := make([]*results.NodeRun, len(nodeDirs))
	for i, d := range nodeDirs {
		n, err := results.ReadNode(filepath.Join(d, "attack.json"))
		if err != nil {
			return nil, fmt.Errorf("bench: node %s: %w", d, err)
		}
		if i > 0 && n.Scenario != nodes[0].Scenario {
			return nil, fmt.Errorf("bench: node %s ran scenario %q, node %s ran %q", d, n.Scenario, nodeDirs[0], nodes[0].Scenario)
		}
		nodes[i] = n
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	out := &results.NodeRun{Schema: results.NodeSchemaVersion, Scenario: nodes[0].Scenario, BaseURL: nodes[0].BaseURL,
		Nodes: nodeDirs, Endpoints: map[string]results.Endpoint{}, PerNode: map[string]map[string]results.Endpoint{}}
	names := map[string]bool{}
	for i, n := range nodes {
		out.PerNode[nodeDirs[i]] = n.Endpoints
		for name := range n.Endpoints {
			names[name] = true
		}
		if out.Started.IsZero() || n.Started.Before(out.Started) {
			out.Started = n.Started
		}
		if n.Finished.After(out.Finished) {
			out.Finished = n.Finished
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, name := range sorted {
		var all []vegeta.Result
		path := ""
		for i, n := range nodes {
			ep, ok := n.Endpoints[name]
			if !ok {
				continue
			}
			if path == "" {
				path = ep.Path
			}
			rs, err := readBin(filepath.Join(nodeDirs[i], ep.BinFile))
			if err != nil {
				return nil, fmt.Errorf("bench: node %s target %s: %w", nodeDirs[i], name, err)
			}
			all = append(all, rs...)
		}
		slices.SortStableFunc(all, func(a, b vegeta.Result) int { return a.Timestamp.Compare(b.Timestamp) })
		bin := "api-" + name + ".bin"
		if err := writeBin(filepath.Join(outDir, bin), all); err != nil {
			return nil, fmt.Errorf("bench: target %s: %w", name, err)
		}
		ep := mergedEndpoint(all)
		ep.Path, ep.BinFile = path, bin
		out.Endpoints[name] = ep
	}
	if err := results.WriteNode(filepath.Join(outDir, "attack.json"), out); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return out, nil
}

// mergedEndpoint summarizes merged results with vegeta's own metrics
// (latency from the actual send time).
func mergedEndpoint(rs []vegeta.Result) results.Endpoint {
	var m vegeta.Metrics
	raw := newHist()
	for i := range rs {
		m.Add(&rs[i])
		raw.Record(rs[i].Latency)
	}
	m.Close()
	ep := results.Endpoint{Requests: m.Requests, Rate: m.Rate, Duration: results.Duration(m.Duration + m.Wait),
		Throughput: m.Throughput, Success: m.Success, BytesIn: m.BytesIn.Total, BytesOut: m.BytesOut.Total,
		LatencyRaw: raw.Quantiles(), StatusCodes: map[string]int{}}
	ep.Latency = ep.LatencyRaw
	for code, n := range m.StatusCodes {
		ep.StatusCodes[code] = n
	}
	for i, e := range m.Errors {
		if i == maxDistinctErrors {
			break
		}
		ep.Errors = append(ep.Errors, e)
	}
	return ep
}

func readBin(path string) ([]vegeta.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := vegeta.NewDecoder(f)
	var out []vegeta.Result
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, fmt.Errorf("%s: result %d: %w", path, len(out)+1, err)
		}
		out = append(out, r)
	}
}

func writeBin(path string, rs []vegeta.Result) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := vegeta.NewEncoder(f)
	for i := range rs {
		if err := enc.Encode(&rs[i]); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}
