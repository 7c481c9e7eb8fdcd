package simulator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/camload/camload/internal/cfgerr"
)

// Shard is one part of a fleet split over several processes or machines.
// Shard Number of Count serves the hosts h (0-based) with
// h % Count == Number-1, and exactly the cameras on them, under the same
// ids, names, frames, latencies and faults as the whole fleet: the shards
// of one configuration partition it, and together behave as it does
// (each gateway, with its capacity, lives in one shard). The zero Shard is
// the whole fleet.
type Shard struct {
	Number int // 1 … Count
	Count  int
}

// ParseShard parses "k/n" (shard k of n, 1 ≤ k ≤ n), e.g. "1/3"; "" is the
// whole fleet.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: want k/n, e.g. 1/3", s)
	}
	sh := Shard{Number: k, Count: n}
	return sh, sh.check(0)
}

// String formats s as ParseShard takes it ("" for the whole fleet).
func (s Shard) String() string {
	if s.Count == 0 {
		return ""
	}
	return strconv.Itoa(s.Number) + "/" + strconv.Itoa(s.Count)
}

// check validates s against a fleet of hosts hosts (0: not known yet).
func (s Shard) check(hosts int) error {
	if s == (Shard{}) {
		return nil
	}
	if s.Count < 1 || s.Number < 1 || s.Number > s.Count {
		return fmt.Errorf("shard %d/%d: want k/n with 1 ≤ k ≤ n", s.Number, s.Count)
	}
	if hosts > 0 && s.Count > hosts {
		return fmt.Errorf("shard %d/%d: a fleet of %d hosts has at most %d shards (each serves whole hosts)", s.Number, s.Count, hosts, hosts)
	}
	return nil
}

// servesHost reports whether shard s serves host h.
func (s Shard) servesHost(h int) bool { return s.Count == 0 || h%s.Count == s.Number-1 }

// WithShard makes the fleet serve only shard s of its configuration (New
// fails when s is invalid for it). The zero Shard is the whole fleet.
func WithShard(s Shard) Option { return func(f *Fleet) { f.shard = s } }

// WithPeers makes GET /cameras list the whole fleet: this fleet's cameras
// and those of the fleets (shards) whose control URLs are given, merged as
// MergeCameras does. GET /cameras?local=1 always lists this fleet's own.
// The peers are asked on every GET /cameras (with the request's context).
func WithPeers(controlURLs []string) Option {
	return func(f *Fleet) { f.peers = append([]string(nil), controlURLs...) }
}

// Shard returns the shard the fleet serves (the zero Shard: all of it).
func (f *Fleet) Shard() Shard { return f.shard }

// FetchCameras reads GET /cameras?local=1 of the fleet at controlURL (its
// own cameras, without its peers'). hc nil means http.DefaultClient.
func FetchCameras(ctx context.Context, hc *http.Client, controlURL string) ([]Camera, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(controlURL, "/")+"/cameras?local=1", nil)
	if err != nil {
		return nil, fmt.Errorf("simulator: fleet %q: %w", controlURL, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("simulator: fleet %s: %w", controlURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("simulator: fleet %s: GET /cameras: %s", controlURL, resp.Status)
	}
	var cams []Camera
	if err := json.NewDecoder(resp.Body).Decode(&cams); err != nil {
		return nil, fmt.Errorf("simulator: fleet %s: GET /cameras: %w", controlURL, err)
	}
	return cams, nil
}

// MergeCameras merges the inventories of several shards into one, in
// camera id order. A camera listed by two shards is an error (the shards
// do not partition one fleet: different configurations or shard numbers).
func MergeCameras(inventories ...[]Camera) ([]Camera, error) {
	var out []Camera
	seen := map[string]int{}
	for k, inv := range inventories {
		for _, c := range inv {
			if prev, dup := seen[c.ID]; dup {
				return nil, fmt.Errorf("simulator: camera %s is in inventories %d and %d: the shards overlap", c.ID, prev+1, k+1)
			}
			seen[c.ID] = k
			out = append(out, c)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out, nil
}

// FetchFleetCameras reads and merges the inventories of every shard whose
// control URL is given: the whole fleet's cameras with working snapshot
// URLs. hc nil means http.DefaultClient.
func FetchFleetCameras(ctx context.Context, hc *http.Client, controlURLs ...string) ([]Camera, error) {
	invs := make([][]Camera, len(controlURLs))
	for k, u := range controlURLs {
		cams, err := FetchCameras(ctx, hc, u)
		if err != nil {
			return nil, err
		}
		invs[k] = cams
	}
	return MergeCameras(invs...)
}

func shardError(err error) error { return cfgerr.Field("shard", "%v", err) }

// MergeFaultReports adds up the fault reports of several shards (GET
// /faults of each) into the whole fleet's.
func MergeFaultReports(reps ...FaultReport) FaultReport {
	out := FaultReport{ByKind: map[string]int64{}, ByCamera: map[string]map[string]int64{}}
	for _, r := range reps {
		out.Requests += r.Requests
		out.Total += r.Total
		for k, v := range r.ByKind {
			out.ByKind[k] += v
		}
		for cam, m := range r.ByCamera {
			dst := out.ByCamera[cam]
			if dst == nil {
				dst = map[string]int64{}
				out.ByCamera[cam] = dst
			}
			for k, v := range m {
				dst[k] += v
			}
		}
	}
	return out
}
