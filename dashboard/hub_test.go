package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newHub(t *testing.T, o Options) *Hub {
	t.Helper()
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func publishAll(t testing.TB, h *Hub, evs []Event) {
	t.Helper()
	for _, e := range evs {
		if err := h.Publish(e); err != nil {
			t.Fatalf("Publish(%+v) = %v", e, err)
		}
	}
}

// openStream GETs /events (after last, when > 0) and returns a reader of
// its body.
func openStream(t *testing.T, ctx context.Context, url string, last uint64) (*bufio.Reader, *http.Response) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	if last > 0 {
		req.Header.Set("Last-Event-ID", fmt.Sprint(last))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode == http.StatusOK && ct != "text/event-stream" {
		t.Fatalf("GET /events: Content-Type %q, want text/event-stream", ct)
	}
	return bufio.NewReader(resp.Body), resp
}

// waitFor polls cond (hub state, no wall-clock assertion) for up to 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// A browser opened in the middle of a run gets the history first, then
// every new event once, one per cycle, and the run's final event; when
// the hub closes the stream ends and a reconnect is told to stop (204).
func TestStreamHistoryThenLive(t *testing.T) {
	h := newHub(t, Options{})
	srv := httptest.NewServer(h)
	defer srv.Close()
	run := defaultSynth()
	evs := run.events()
	split := len(evs) / 2
	publishAll(t, h, evs[:split])
	historyLen := h.Stats().History

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	br, _ := openStream(t, ctx, srv.URL, 0)
	var got []sseEvent
	for len(got) < historyLen {
		e, err := readEvent(br, nil)
		if err != nil {
			t.Fatalf("reading history after %d events: %v", len(got), err)
		}
		got = append(got, e)
	}
	if got[0].ev.Kind != KindPlan || got[0].ev.Plan == nil || len(got[0].ev.Plan.Cells) != len(run.cells) {
		t.Fatalf("first event %+v; want the plan of %d cells", got[0].ev, len(run.cells))
	}
	waitFor(t, "the stream to join", func() bool { return h.Stats().Clients == 1 })
	publishAll(t, h, evs[split:])
	for got[len(got)-1].ev.Kind != KindRunFinished {
		e, err := readEvent(br, nil)
		if err != nil {
			t.Fatalf("reading live events after %d: %v", len(got), err)
		}
		got = append(got, e)
	}

	// ids increase, each event once, and each carries its id and version.
	for i, e := range got {
		if e.ev.ID != e.id || e.ev.V != Version {
			t.Fatalf("event %d: SSE id %d, JSON id %d, v %d; want equal ids and v %d", i, e.id, e.ev.ID, e.ev.V, Version)
		}
		if i > 0 && e.id <= got[i-1].id {
			t.Fatalf("ids not increasing at %d: %s", i, idList(got))
		}
	}
	k := kinds(got)
	if want := len(run.cells) * (run.warmup + run.cycles); k[KindCycle] != want {
		t.Errorf("%d cycle events; want one per cycle, %d", k[KindCycle], want)
	}
	if k[KindCellFinished] != len(run.cells) || k[KindRunFinished] != 1 {
		t.Errorf("kinds %v; want %d cell_finished and 1 run_finished", k, len(run.cells))
	}
	seen := map[[3]int]bool{} // cell, warm-up, n
	for _, e := range got {
		if c := e.ev.Cycle; c != nil {
			key := [3]int{e.ev.Cell, map[bool]int{true: 1}[c.Warmup], c.N}
			if seen[key] {
				t.Errorf("cycle %v delivered twice", key)
			}
			seen[key] = true
		}
	}
	last := got[len(got)-1]
	if r := last.ev.RunFinished; r == nil || r.Report != "report.html" {
		t.Errorf("last event %+v; want run_finished linking report.html", last.ev)
	}

	// Close ends the stream; a reconnect with every event gets 204.
	_ = h.Close()
	if _, err := readEvent(br, nil); !errors.Is(err, io.EOF) {
		t.Errorf("after Close: read = %v; want EOF", err)
	}
	_, resp := openStream(t, ctx, srv.URL, last.id)
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("reconnect after the end: %s; want 204 No Content", resp.Status)
	}
	if err := h.Publish(evs[1]); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close = %v; want ErrClosed", err)
	}
}

// A client that connects and never reads is dropped once its buffer is
// full; the hub's buffered bytes stay under the cap and the history
// under MaxSamples while 100,000 events are published. In "stuck in
// write" the publisher first lets the handler drain its buffer until the
// socket is full and the handler blocks in a write, so the drop must
// abort that write (the write timeout is a minute, the test waits 20s).
func TestNonReadingClientDropped(t *testing.T) {
	for _, stuck := range []bool{false, true} {
		t.Run(map[bool]string{false: "burst", true: "stuck in write"}[stuck], func(t *testing.T) { testNonReading(t, stuck) })
	}
}

func testNonReading(t *testing.T, stuck bool) {
	const buf, maxSamples, n = 64, 1000, 100_000
	h := newHub(t, Options{ClientBuffer: buf, MaxSamples: maxSamples, WriteTimeout: time.Minute})
	srv := httptest.NewServer(h)
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "GET /events HTTP/1.1\r\nHost: dashboard\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the client to join", func() bool { return h.Stats().Clients == 1 })

	maxLen, peakBuffered, keys := 0, int64(0), 0
	for i := 0; i < n; i++ {
		e := Event{Cell: 1, Resource: &Resource{Since: time.Duration(i) * time.Second, System: Proc{RSS: int64(i) << 10, CPUPercent: 50, Goroutines: i % 100}}}
		if i%100 == 0 {
			e = Event{Cell: 1, Cycle: &Cycle{N: i/100 + 1, Of: n / 100, Took: time.Duration(i), Errors: map[string]int{"timeout": 1}}}
			keys++
		}
		if err := h.Publish(e); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(e)
		maxLen = max(maxLen, len(b)+64) // + the id, version, kind and time Publish adds
		peakBuffered = max(peakBuffered, h.Stats().Buffered)
		if stuck && i%32 == 31 {
			// Let the handler drain; once it cannot (blocked writing to
			// the full socket) publish on without waiting.
			drained := false
			for w := 0; w < 50 && !drained; w++ {
				if drained = h.Stats().Buffered == 0; !drained {
					time.Sleep(2 * time.Millisecond)
				}
			}
			if !drained {
				t.Logf("handler blocked in a write after %d events", i+1)
				stuck = false
			}
		}
	}
	s := h.Stats()
	t.Logf("after %d events: %+v", n, s)
	if s.Dropped != 1 || s.Clients != 0 {
		t.Errorf("Dropped %d, Clients %d; want the non-reading client dropped (1, 0)", s.Dropped, s.Clients)
	}
	if limit := int64(buf * maxLen); s.PeakBuffered > limit || peakBuffered > limit {
		t.Errorf("peak buffered %d (sampled %d) bytes; want ≤ %d (%d events of ≤ %d bytes)", s.PeakBuffered, peakBuffered, limit, buf, maxLen)
	}
	if s.Buffered != 0 {
		t.Errorf("Buffered %d after the drop; want 0", s.Buffered)
	}
	if s.Samples > maxSamples || s.History != s.Samples+keys {
		t.Errorf("history %d events, %d samples; want ≤ %d samples plus all %d cycles", s.History, s.Samples, maxSamples, keys)
	}
	if limit := int64((maxSamples + keys) * maxLen); s.HistoryBytes > limit {
		t.Errorf("history %d bytes; want ≤ %d", s.HistoryBytes, limit)
	}

	// The server closed the dropped client's connection: reading what the
	// socket holds ends in EOF, not a timeout.
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.Copy(io.Discard, conn); err != nil {
		t.Errorf("reading the dropped connection: %v; want EOF (closed by the server)", err)
	}
}

// A reconnecting EventSource sends Last-Event-ID and resumes after it:
// every missed event once, none it had.
func TestResumeWithLastEventID(t *testing.T) {
	h := newHub(t, Options{})
	srv := httptest.NewServer(h)
	defer srv.Close()
	evs := defaultSynth().events()
	var keyEvs []Event // no phases: a phase replaced in the history is not resent
	for _, e := range evs {
		if e.Phase == nil && e.Resource == nil && e.Attack == nil {
			keyEvs = append(keyEvs, e)
		}
	}
	first, second := keyEvs[:20], keyEvs[20:40]
	publishAll(t, h, first)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ctx1, cancel1 := context.WithCancel(ctx)
	br, _ := openStream(t, ctx1, srv.URL, 0)
	var got []sseEvent
	for len(got) < 12 {
		e, err := readEvent(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	cancel1() // the browser loses the connection after event 12
	waitFor(t, "the first stream to leave", func() bool { return h.Stats().Clients == 0 })
	publishAll(t, h, second)

	for _, via := range []string{"header", "query"} {
		t.Run(via, func(t *testing.T) {
			last := got[len(got)-1].id
			var br *bufio.Reader
			if via == "header" {
				br, _ = openStream(t, ctx, srv.URL, last)
			} else {
				resp, err := http.Get(fmt.Sprintf("%s/events?last=%d", srv.URL, last))
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				br = bufio.NewReader(resp.Body)
			}
			var resumed []sseEvent
			for want := len(first) + len(second) - len(got); len(resumed) < want; {
				e, err := readEvent(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				resumed = append(resumed, e)
			}
			for i, e := range resumed {
				if want := last + uint64(i) + 1; e.id != want {
					t.Fatalf("resumed ids %s; want %d … %d with no repeat or gap", idList(resumed), last+1, last+uint64(len(resumed)))
				}
			}
		})
	}

	resp, err := http.Get(srv.URL + "/events?last=twelve")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "twelve") {
		t.Errorf("bad Last-Event-ID: %s %q; want 400 naming the value", resp.Status, b)
	}
}

// The history keeps plan, cell and cycle events, only each cell's last
// phase, and at most MaxSamples samples: recent ones at full resolution,
// old ones thinned but the first kept.
func TestHistoryBounds(t *testing.T) {
	const maxSamples = 100
	h := newHub(t, Options{MaxSamples: maxSamples})
	publishAll(t, h, []Event{{Plan: &Plan{Scenario: "s", Cells: []CellRef{{Index: 1}, {Index: 2}}}}})
	for cell := 1; cell <= 2; cell++ {
		for i := 1; i <= 500; i++ {
			publishAll(t, h, []Event{
				{Cell: cell, Phase: &Phase{Name: PhaseCycle, Step: i, Steps: 500}},
				{Cell: cell, Resource: &Resource{Since: time.Duration(i)}},
				{Cell: cell, Cycle: &Cycle{N: i, Of: 500}},
			})
		}
	}
	var evs []Event
	for _, raw := range h.History() {
		var e Event
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
	var samples []Event
	phases := map[int][]int{}
	cycles := 0
	for i, e := range evs {
		if i > 0 && e.ID <= evs[i-1].ID {
			t.Fatalf("history not in id order at %d", i)
		}
		switch e.Kind {
		case KindResource:
			samples = append(samples, e)
		case KindPhase:
			phases[e.Cell] = append(phases[e.Cell], e.Phase.Step)
		case KindCycle:
			cycles++
		}
	}
	if evs[0].Kind != KindPlan || cycles != 1000 {
		t.Errorf("history starts with %s and holds %d cycles; want the plan and all 1000", evs[0].Kind, cycles)
	}
	if len(phases[1]) != 1 || phases[1][0] != 500 || len(phases[2]) != 1 || phases[2][0] != 500 {
		t.Errorf("phases kept %v; want only each cell's last (step 500)", phases)
	}
	if len(samples) > maxSamples || len(samples) < maxSamples/2 {
		t.Fatalf("%d samples kept; want between %d and %d", len(samples), maxSamples/2, maxSamples)
	}
	if first := samples[0]; first.Cell != 1 || first.Resource.Since != 1 {
		t.Errorf("oldest sample kept is cell %d at %d; want the run's first (cell 1 at 1)", first.Cell, first.Resource.Since)
	}
	tail := samples[len(samples)-maxSamples/4:]
	for i, s := range tail {
		if want := time.Duration(500 - len(tail) + 1 + i); s.Cell != 2 || s.Resource.Since != want {
			t.Fatalf("recent sample %d is cell %d at %d; want cell 2 at %d (full resolution)", i, s.Cell, s.Resource.Since, want)
		}
	}
	st := h.Stats()
	if st.Samples != len(samples) || st.Thinned != uint64(1000-len(samples)) || st.Replaced != 998 {
		t.Errorf("stats %+v; want Samples %d, Thinned %d, Replaced 998", st, len(samples), 1000-len(samples))
	}
}

func TestPublishRejects(t *testing.T) {
	h := newHub(t, Options{})
	for _, tc := range []struct {
		name string
		e    Event
		want error
	}{
		{"no payload", Event{Kind: KindCycle}, ErrPayload},
		{"two payloads", Event{Cycle: &Cycle{}, Phase: &Phase{}}, ErrPayload},
		{"kind not matching", Event{Kind: KindPhase, Cycle: &Cycle{}}, ErrPayload},
	} {
		if err := h.Publish(tc.e); !errors.Is(err, tc.want) {
			t.Errorf("%s: Publish = %v; want %v", tc.name, err, tc.want)
		}
	}
	err := h.Publish(Event{Resource: &Resource{System: Proc{CPUPercent: math.NaN()}}})
	if err == nil || !strings.Contains(err.Error(), "resource") {
		t.Errorf("NaN sample: Publish = %v; want an encoding error naming the kind", err)
	}
	if s := h.Stats(); s.Published != 0 || s.History != 0 {
		t.Errorf("rejected events were kept: %+v", s)
	}
	if err := h.Publish(Event{Cycle: &Cycle{N: 1}}); err != nil {
		t.Fatal(err)
	}
	if raw := h.History(); len(raw) != 1 || !strings.Contains(string(raw[0]), `"id":1,`) {
		t.Errorf("first accepted event %s; want id 1 (rejections consume no id)", raw)
	}
	var nilHub *Hub
	if err := nilHub.Publish(Event{}); err != nil {
		t.Errorf("nil Hub: Publish = %v; want nil", err)
	}
	for _, o := range []Options{{MaxSamples: -1}, {ClientBuffer: -1}, {Heartbeat: -time.Second}, {WriteTimeout: -time.Second}} {
		if _, err := New(o); err == nil || !strings.Contains(err.Error(), "Options.") {
			t.Errorf("New(%+v) = %v; want an error naming the field", o, err)
		}
	}
}

// An idle stream carries heartbeat comments.
func TestHeartbeat(t *testing.T) {
	h := newHub(t, Options{Heartbeat: 5 * time.Millisecond})
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	br, _ := openStream(t, ctx, srv.URL, 0)
	for beats := 0; beats < 3; {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, ": heartbeat") {
			beats++
		}
	}
}

func TestPageAndHistoryJSON(t *testing.T) {
	h := newHub(t, Options{})
	srv := httptest.NewServer(h)
	defer srv.Close()
	publishAll(t, h, defaultSynth().events()[:30])

	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("GET /: %s %v", resp.Status, resp.Header)
	}
	// Self-contained: the only URL is the SVG namespace.
	rest := strings.ReplaceAll(string(page), "http://www.w3.org/2000/svg", "")
	for _, bad := range []string{"http://", "https://", "<link", "@import", "src="} {
		if strings.Contains(rest, bad) {
			t.Errorf("page holds %q: it must load nothing from elsewhere", bad)
		}
	}
	for _, id := range []string{`id="plan"`, `id="cycle-times"`, `id="per-frame"`, `id="rss"`, `id="cpu"`, `id="goroutines"`,
		`id="errors-faults"`, `id="api-latency"`, `id="api-throughput"`, `id="capacity"`, `id="cells-table"`, `id="js-errors"`} {
		if !strings.Contains(string(page), id) {
			t.Errorf("page lacks %s", id)
		}
	}

	resp, err = http.Get(srv.URL + "/history.json")
	if err != nil {
		t.Fatal(err)
	}
	var hist struct {
		V      int     `json:"v"`
		Events []Event `json:"events"`
	}
	err = json.NewDecoder(resp.Body).Decode(&hist)
	resp.Body.Close()
	if err != nil || hist.V != Version || len(hist.Events) != h.Stats().History || hist.Events[0].Plan == nil {
		t.Errorf("history.json: v %d, %d events (hub holds %d), err %v", hist.V, len(hist.Events), h.Stats().History, err)
	}
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"POST", "/events", http.StatusMethodNotAllowed},
		{"GET", "/nope", http.StatusNotFound},
		{"GET", "/files/x", http.StatusNotFound}, // no run folder given
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: %s; want %d", tc.method, tc.path, resp.Status, tc.want)
		}
	}
}

// /files/ serves the run folder read-only and refuses paths leading out.
func TestFiles(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(run, "cells", "c1"), 0o755))
	must(os.WriteFile(filepath.Join(run, "cells", "c1", "cpu.pb.gz"), []byte("profile"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "secret"), []byte("SECRET"), 0o644))
	must(os.Symlink(filepath.Join(dir, "secret"), filepath.Join(run, "escape")))
	root, err := os.OpenRoot(run)
	must(err)
	defer root.Close()
	h := newHub(t, Options{Files: root.FS()})
	must(h.Publish(Event{Plan: &Plan{Scenario: "s"}}))
	if !strings.Contains(string(h.History()[0]), `"files":true`) {
		t.Errorf("plan %s; want files true when the run folder is served", h.History()[0])
	}

	for _, tc := range []struct {
		path string
		want int
	}{
		{"/files/cells/c1/cpu.pb.gz", 200},
		{"/files/../secret", 400},
		{"/files/cells/../../secret", 400},
		{"/files/escape", 0}, // anything but the file
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.URL.Path = tc.path
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body := rec.Body.String()
		if strings.Contains(body, "SECRET") || (tc.want != 0 && rec.Code != tc.want) || (tc.want == 0 && rec.Code == 200) {
			t.Errorf("GET %s: %d %q; want %d without the secret", tc.path, rec.Code, body, tc.want)
		}
		if tc.want == 200 && body != "profile" {
			t.Errorf("GET %s: %q; want the file", tc.path, body)
		}
	}
}

// Publish is the runner's hot path: its cost with streams attached.
func BenchmarkPublish(b *testing.B) {
	for _, clients := range []int{0, 4} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			h, _ := New(Options{})
			srv := httptest.NewServer(h)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{}, clients)
			for i := 0; i < clients; i++ {
				req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events", nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				go func() { // owner: this benchmark; ends with the stream
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					done <- struct{}{}
				}()
			}
			e := Event{Cell: 1, Resource: &Resource{Since: time.Second, System: Proc{RSS: 1 << 26, CPUPercent: 42, Goroutines: 30}}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_ = h.Publish(e)
			}
			b.StopTimer()
			_ = h.Close()
			for i := 0; i < clients; i++ {
				<-done
			}
			cancel()
			srv.Close()
		})
	}
}

func TestPhaseString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p    Phase
		want string
	}{
		{Phase{Name: PhaseStarting}, "starting"},                                                             // no step
		{Phase{Name: PhaseCycle, Step: 3, Steps: 10}, "cycle 3/10"},                                          // step of steps
		{Phase{Name: PhaseLoad, Target: "latest", Rate: 200}, "load latest at 200 req/s"},                    // target and rate
		{Phase{Name: PhaseCapacity, Target: "list", Step: 2, Rate: 447.5}, "capacity list 2 at 447.5 req/s"}, // step without a total
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%+v.String() = %q; want %q", tc.p, got, tc.want)
		}
	}
}
