package simulator

import (
	_ "embed"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The camera wall (`camload sim --ui`): a page on the control listener
// showing a grid of the fleet's cameras with their current frame as a
// thumbnail and their state, and each host's request rate, in-flight
// requests and queue depth, so that a person can see a gateway overload.
//
//	GET /ui                 the page (self-contained, polls state.json)
//	GET /ui/state.json      WallState; ?limit=N cameras (default
//	                        DefaultWallLimit, 0 … 20000)
//	GET /ui/frame/{k}.jpg   rendered frame k (immutable, cacheable)
//	GET /ui/placeholder.jpg the "not available" image
//
// The wall starts no goroutine: rates are the difference of the fleet's
// counters between two snapshots, and a request for state.json takes a
// new snapshot when the last is at least WallWindow old.

// DefaultWallLimit is how many cameras state.json lists by default.
const DefaultWallLimit = 400

// WallWindow is the shortest interval rates are computed over.
const WallWindow = time.Second

// Camera states on the wall.
const (
	WallServing  = "serving"  // answered requests in the window, none faulty
	WallIdle     = "idle"     // no request in the window
	WallHung     = "hung"     // a hang fault began within the last HangFor
	WallOffline  = "offline"  // in an offline period
	WallFaulting = "faulting" // a fault other than hang was injected in the window
)

//go:embed ui.html
var wallPage []byte

// wallCSP keeps the page self-contained.
const wallCSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'"

// WithUI mounts the camera wall on the fleet's control API (under /ui).
func WithUI() Option { return func(f *Fleet) { f.ui = true } }

// WallState is the JSON of GET /ui/state.json.
type WallState struct {
	At time.Time `json:"at"`
	// Window is the interval the rates are computed over, in seconds.
	Window  float64 `json:"window_s"`
	Cameras int     `json:"cameras"` // cameras this fleet serves
	Shown   int     `json:"shown"`   // len(Wall)
	// Counts are the cameras (all, not only those shown) by state.
	Counts map[string]int `json:"counts"`
	Hosts  []WallHost     `json:"hosts"`
	Wall   []WallCamera   `json:"wall"`
}

// WallHost is one camera host (gateway) on the wall.
type WallHost struct {
	Host     int     `json:"host"` // global index
	URL      string  `json:"url"`
	Cameras  int     `json:"cameras"`
	RPS      float64 `json:"rps"`       // snapshot requests answered per second
	InFlight int64   `json:"in_flight"` // requests holding a capacity slot now
	Queue    int64   `json:"queue"`     // requests waiting for a slot now
	// Capacity and QueueCap are the host's limits (0: unlimited).
	Capacity int `json:"capacity"`
	QueueCap int `json:"queue_cap"`
	// Rejected is requests refused per second (capacity and queue full).
	Rejected float64 `json:"rejected_per_s"`
}

// WallCamera is one camera tile.
type WallCamera struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Host  int    `json:"host"`
	State string `json:"state"`
	// Frame is the index of the rendered frame the camera shows now
	// (/ui/frame/{frame}.jpg), -1 for the placeholder.
	Frame int     `json:"frame"`
	RPS   float64 `json:"rps"`
	// Faults injected in the window, by kind.
	Faults map[string]int64 `json:"faults,omitempty"`
}

// wallSnap is the fleet's counters at one instant.
type wallSnap struct {
	at      time.Time
	hostReq []uint64 // per local host: every answered request
	hostRej []uint64 // per local host: capacity rejections
	camReq  []uint64 // per camera: snapshot requests
	faults  map[int][nKinds]int64
}

// wall is the camera wall's state: the last two snapshots.
type wall struct {
	f         *Fleet
	mu        sync.Mutex
	prev, cur wallSnap
	hungUntil map[int]time.Time
}

func newWall(f *Fleet) *wall {
	w := &wall{f: f, hungUntil: map[int]time.Time{}}
	w.cur = wallSnap{at: f.started, hostReq: make([]uint64, len(f.hosts)), hostRej: make([]uint64, len(f.hosts)), camReq: make([]uint64, len(f.cams))}
	w.prev = w.cur
	return w
}

// snap reads the fleet's counters.
func (w *wall) snap(now time.Time) wallSnap {
	f := w.f
	s := wallSnap{at: now, hostReq: make([]uint64, len(f.hosts)), hostRej: make([]uint64, len(f.hosts)), camReq: make([]uint64, len(f.cams))}
	for i, h := range f.hosts {
		var n uint64
		for code := range h.reqs {
			for k := range h.reqs[code] {
				n += h.reqs[code][k].Load()
			}
		}
		s.hostReq[i] = n
		s.hostRej[i] = h.reqs[code503][kOverflow503+1].Load() + h.reqs[codeNone][kOverflowReset+1].Load()
	}
	for i := range f.counters {
		s.camReq[i] = f.counters[i].Load()
	}
	f.faults.mu.Lock()
	s.faults = make(map[int][nKinds]int64, len(f.faults.byCamera))
	for c, m := range f.faults.byCamera {
		s.faults[c] = *m
	}
	f.faults.mu.Unlock()
	return s
}

// state returns the wall with at most limit cameras, taking a new
// snapshot when the last is WallWindow old.
func (w *wall) state(limit int) WallState {
	f := w.f
	w.mu.Lock()
	defer w.mu.Unlock()
	now := f.now()
	if now.Sub(w.cur.at) >= WallWindow {
		w.prev, w.cur = w.cur, w.snap(now)
		for c, m := range w.cur.faults {
			if m[kHang] > w.prev.faults[c][kHang] {
				w.hungUntil[c] = w.cur.at.Add(f.cfg.Faults.HangFor)
			}
		}
	}
	prev, cur := w.prev, w.cur
	dt := cur.at.Sub(prev.at).Seconds()
	rate := func(a, b uint64) float64 {
		if dt <= 0 || b < a {
			return 0
		}
		return float64(b-a) / dt
	}
	st := WallState{At: cur.at.UTC(), Window: dt, Counts: map[string]int{}}
	perHost := map[int]int{}
	for i := range f.cams {
		if !f.serves(i) {
			continue
		}
		st.Cameras++
		perHost[f.cams[i].host]++
		cam := WallCamera{ID: f.cams[i].ID, Name: f.cams[i].Name, Host: f.cams[i].host, RPS: rate(prev.camReq[i], cur.camReq[i])}
		faulty := false
		pf, cf := prev.faults[i], cur.faults[i]
		for k := range nKinds {
			if d := cf[k] - pf[k]; d > 0 {
				if cam.Faults == nil {
					cam.Faults = map[string]int64{}
				}
				cam.Faults[faultKinds[k]] = d
				if k != kHang && k != kOffline {
					faulty = true
				}
			}
		}
		switch {
		case f.offline(i, now):
			cam.State, cam.Frame = WallOffline, -1
		case now.Before(w.hungUntil[i]):
			cam.State = WallHung
		case faulty:
			cam.State = WallFaulting
		case cam.RPS > 0:
			cam.State = WallServing
		default:
			cam.State = WallIdle
		}
		if cam.State != WallOffline {
			seq, _ := f.seq(i, now)
			c := &f.cams[i]
			cam.Frame = int((c.base + uint64(seq)*c.step) % uint64(len(f.frames)))
		}
		st.Counts[cam.State]++
		if len(st.Wall) < limit {
			st.Wall = append(st.Wall, cam)
		}
	}
	st.Shown = len(st.Wall)
	urls := f.HostURLs()
	for i, h := range f.hosts {
		wh := WallHost{Host: h.idx, Cameras: perHost[h.idx], RPS: rate(prev.hostReq[i], cur.hostReq[i]),
			InFlight: h.active.Load(), Queue: h.waiting.Load(),
			Capacity: f.cfg.Capacity.Concurrent, QueueCap: f.cfg.Capacity.Queue, Rejected: rate(prev.hostRej[i], cur.hostRej[i])}
		if wh.Capacity == 0 {
			wh.QueueCap = 0
		}
		if i < len(urls) {
			wh.URL = urls[i]
		}
		st.Hosts = append(st.Hosts, wh)
	}
	return st
}

// mountUI adds the camera wall's routes to mux when the fleet has WithUI.
func (f *Fleet) mountUI(mux *http.ServeMux) {
	if !f.ui {
		return
	}
	w := newWall(f)
	mux.HandleFunc("GET /ui", func(rw http.ResponseWriter, r *http.Request) {
		h := rw.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", wallCSP)
		h.Set("Cache-Control", "no-cache")
		rw.Write(wallPage)
	})
	mux.HandleFunc("GET /ui/{$}", func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "/ui", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /ui/state.json", func(rw http.ResponseWriter, r *http.Request) {
		limit := DefaultWallLimit
		if s := r.URL.Query().Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n > MaxCameras {
				http.Error(rw, fmt.Sprintf("limit: want 0 … %d cameras, got %q", MaxCameras, s), http.StatusBadRequest)
				return
			}
			limit = n
		}
		rw.Header().Set("Cache-Control", "no-cache")
		writeJSON(rw, w.state(limit))
	})
	mux.HandleFunc("GET /ui/frame/{file}", func(rw http.ResponseWriter, r *http.Request) {
		k, err := strconv.Atoi(strings.TrimSuffix(r.PathValue("file"), ".jpg"))
		if err != nil || !strings.HasSuffix(r.PathValue("file"), ".jpg") || k < 0 || k >= len(f.frames) {
			http.Error(rw, fmt.Sprintf("no such frame (0 … %d)", len(f.frames)-1), http.StatusNotFound)
			return
		}
		serveImage(rw, f.frames[k].body)
	})
	mux.HandleFunc("GET /ui/placeholder.jpg", func(rw http.ResponseWriter, r *http.Request) {
		serveImage(rw, f.placeholder.body)
	})
}

func serveImage(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h["Content-Type"] = hdrJPEG
	h.Set("Cache-Control", "public, max-age=60")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}
