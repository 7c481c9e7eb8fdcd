package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/camload/camload/scenarios"
	"github.com/camload/camload/simulator"
)

func nodeScenario(t *testing.T) *scenarios.Scenario {
	t.Helper()
	return &scenarios.Scenario{Name: "nodes", Seed: 3, Load: []scenarios.Target{
		{Name: "latest", Method: http.MethodGet, Path: "/api/v1/cameras/{{id}}/latest", Rate: 200, Duration: 300 * time.Millisecond, Timeout: 2 * time.Second},
		{Name: "list", Method: http.MethodGet, Path: "/api/v1/cameras?page={{page}}", Pages: 4, Rate: 100, Duration: 300 * time.Millisecond, Timeout: 2 * time.Second},
	}}
}

func key(r vegeta.Result) string {
	return r.Timestamp.UTC().Format(time.RFC3339Nano) + " " + r.URL + " " + strconv.FormatUint(r.Seq, 10)
}

// TestMergeNodesIsTheUnion runs two load nodes against one server and
// checks that the merged .bin holds exactly the union of the nodes'
// results, in timestamp order, and that the merged counts add up.
func TestMergeNodesIsTheUnion(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	sc := nodeScenario(t)
	dir := t.TempDir()
	cams := []simulator.Camera{{ID: "cam-1", District: "Quận 1", Status: "online"}, {ID: "cam-2", District: "Quận 3", Status: "online"}, {ID: "cam-3", District: "Quận 1", Status: "offline"}}
	var nodes []string
	var want []string
	var wantReq uint64
	wantBytes := map[string]uint64{}
	for i := 0; i < 2; i++ {
		d := filepath.Join(dir, "node"+strconv.Itoa(i))
		n, err := AttackNode(context.Background(), sc, NodeOptions{BaseURL: srv.URL, OutDir: d, Cameras: cams, Seed: int64(i + 1)})
		if err != nil {
			t.Fatal(err)
		}
		for name, ep := range n.Endpoints {
			rs, err := readBin(filepath.Join(d, ep.BinFile))
			if err != nil {
				t.Fatal(err)
			}
			if uint64(len(rs)) != ep.Requests {
				t.Fatalf("node %d target %s: .bin holds %d results, summary says %d", i, name, len(rs), ep.Requests)
			}
			for _, r := range rs {
				want = append(want, name+" "+key(r))
			}
			wantReq += ep.Requests
			wantBytes[name] += ep.BytesIn
		}
		nodes = append(nodes, d)
	}
	out := filepath.Join(dir, "merged")
	m, err := MergeNodes(out, nodes)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var gotReq uint64
	for name, ep := range m.Endpoints {
		rs, err := readBin(filepath.Join(out, ep.BinFile))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.IsSortedFunc(rs, func(a, b vegeta.Result) int { return a.Timestamp.Compare(b.Timestamp) }) {
			t.Errorf("merged %s results are not in timestamp order", name)
		}
		for _, r := range rs {
			got = append(got, name+" "+key(r))
		}
		gotReq += ep.Requests
		if ep.BytesIn != wantBytes[name] {
			t.Errorf("merged %s BytesIn = %d; want the nodes' sum %d", name, ep.BytesIn, wantBytes[name])
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("merged results (%d) differ from the union of the nodes' results (%d)", len(got), len(want))
	}
	if gotReq != wantReq || len(m.PerNode) != 2 {
		t.Fatalf("merged requests %d, per-node sets %d; want %d and 2", gotReq, len(m.PerNode), wantReq)
	}
}

func TestAttackNodeRefuses(t *testing.T) {
	t.Parallel()
	sc := nodeScenario(t)
	for _, tc := range []struct {
		name string
		o    NodeOptions
	}{
		{"remote base URL", NodeOptions{BaseURL: "http://10.0.0.1:8080", OutDir: t.TempDir()}},
		{"not a URL", NodeOptions{BaseURL: "127.0.0.1:8080", OutDir: t.TempDir()}},
		{"no out dir", NodeOptions{BaseURL: "http://127.0.0.1:1"}},
		{"ids missing", NodeOptions{BaseURL: "http://127.0.0.1:1", OutDir: t.TempDir()}},
	} {
		if _, err := AttackNode(context.Background(), sc, tc.o); err == nil {
			t.Errorf("AttackNode(%s) succeeded; want an error", tc.name)
		}
	}
	if _, err := MergeNodes(t.TempDir(), []string{"only-one"}); err == nil {
		t.Error("MergeNodes(one node) succeeded; want an error")
	}
}
