package system

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/camload/camload/system/store"
)

// API limits.
const (
	DefaultPageLimit = store.DefaultPageLimit
	MaxPageLimit     = store.MaxPageLimit
	// MaxQueryParams is the most parameters a query string may have
	// (counting repeats); more is a 400 before any is decoded. The
	// camera list takes six, so 32 leaves room without letting a client
	// make the server decode thousands.
	MaxQueryParams = 32
	// MaxQueryBytes is the longest raw query string accepted (400 above).
	MaxQueryBytes = 4096
	// maxEcho is how many bytes of a client's value an error message
	// quotes; longer values are cut (with "…").
	maxEcho = 64
)

// cameraFields are the fields a camera list may project, by JSON name.
var cameraFields = map[string]bool{
	"id": true, "name": true, "code": true, "district": true, "location": true,
	"cameraType": true, "status": true, "snapshotUrl": true, "lastUpdate": true,
}

// listParams are the parameters GET /api/v1/cameras accepts.
var listParams = map[string]bool{"page": true, "limit": true, "after": true, "status": true, "district": true, "fields": true}

// apiError is a 4xx/5xx answer: {"error":"…","parameter":"limit"}. 5xx
// answers carry only a generic message and the request id; what went wrong
// is logged under that id (see System.writeError).
type apiError struct {
	Status    int    `json:"-"`
	Message   string `json:"error"`
	Parameter string `json:"parameter,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

// badParam is a 400 naming the parameter. The name and every string
// argument are clipped to maxEcho bytes, so a client never gets its long
// input back; an argument's invalid UTF-8 and unprintable characters are
// shown as "?" first, so that quoting it (%q) cannot blow one byte up to
// four ("\xad").
func badParam(name, format string, args ...any) *apiError {
	name = clip(name)
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = clip(printable(s))
		}
	}
	return &apiError{Status: http.StatusBadRequest, Message: name + ": " + fmt.Sprintf(format, args...), Parameter: name}
}

// printable replaces s's invalid UTF-8 and unprintable runes by "?".
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
}

// clip cuts s to at most maxEcho bytes (on a UTF-8 boundary) and marks the
// cut with "…".
func clip(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	n := maxEcho
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// RequestIDHeader carries the id of a 5xx answer, the one in its body and
// in the log line that has the details.
const RequestIDHeader = "X-Request-Id"

// requestIDs numbers the 5xx answers: a random prefix per process (so ids
// of replicas differ) and a counter.
var requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func init() {
	var b [4]byte
	_, _ = rand.Read(b[:])
	requestIDs.prefix = hex.EncodeToString(b[:])
}

func newRequestID() string {
	return requestIDs.prefix + "-" + strconv.FormatUint(requestIDs.n.Add(1), 10)
}

var errNoObservation = &apiError{Status: http.StatusNotFound, Message: "no observation yet"}

// APIHandler returns the JSON API:
//
//	GET  /api/v1/cameras            page/limit (offset, with total) or after/limit (cursor, with next); status, district, fields
//	GET  /api/v1/cameras/{id}
//	GET  /api/v1/cameras/{id}/latest   the latest observation with status (ok, stale, offline), stale, observed_at
//	GET  /api/v1/stats              counts of the latest state by congestion and district; resilience state
//	POST /api/v1/cycles             runs one cycle (waiting for a running one first) and returns its CycleSummary;
//	                                ?drain=1 then waits for the cameras still in flight (RunCycleDrained)
//
// With Knobs.APICache and a cache set, reads go through the cache layer;
// otherwise straight to the store.
func (s *System) APIHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/cameras", s.route("cameras", s.listCameras))
	mux.Handle("GET /api/v1/cameras/{id}", s.route("camera", s.getCamera))
	mux.Handle("GET /api/v1/cameras/{id}/latest", s.route("latest", s.getLatest))
	mux.Handle("GET /api/v1/stats", s.route("stats", s.getStats))
	mux.Handle("POST /api/v1/cycles", s.route("cycles", s.postCycle))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, "none", &apiError{Status: http.StatusNotFound, Message: "no such endpoint: " + clip(r.Method) + " " + clip(r.URL.Path)})
	})
	return mux
}

// route adapts a handler that returns JSON bytes or an error.
func (s *System) route(name string, h func(*http.Request) ([]byte, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		b, err := h(r)
		code := http.StatusOK
		if err != nil {
			code = s.writeError(w, r, name, err)
		} else {
			h := w.Header()
			h["Content-Type"] = jsonContentType
			h["Content-Length"] = []string{strconv.Itoa(len(b))}
			_, _ = w.Write(b)
		}
		s.m.api.WithLabelValues(name, strconv.Itoa(code)).Observe(time.Since(t0).Seconds())
	})
}

var jsonContentType = []string{"application/json"}

// Generic messages of 5xx answers: store and driver errors name users,
// databases, addresses, SQLSTATEs and source paths, none of which a client
// may see.
const (
	msgInternal    = "internal error"
	msgUnavailable = "unavailable: the request was cancelled or timed out"
)

// writeError answers err and returns the status. 4xx answers say what was
// wrong with the request; a 5xx answer says only msgInternal (or
// msgUnavailable) and a request id, also in the X-Request-Id header, and
// the error itself is logged at level error with that id.
func (s *System) writeError(w http.ResponseWriter, r *http.Request, route string, err error) int {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		if ae.Status >= 500 {
			cp := *ae
			ae = &cp
		}
	case errors.Is(err, store.ErrNotFound):
		ae = &apiError{Status: http.StatusNotFound, Message: "not found"}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		ae = &apiError{Status: http.StatusServiceUnavailable, Message: msgUnavailable}
	default:
		ae = &apiError{Status: http.StatusInternalServerError, Message: msgInternal}
	}
	h := w.Header()
	if ae.Status >= 500 {
		ae.RequestID = newRequestID()
		h.Set(RequestIDHeader, ae.RequestID)
		s.log.Error("api error", "request_id", ae.RequestID, "status", ae.Status, "route", route,
			"method", r.Method, "path", clip(r.URL.Path), "query", clip(r.URL.RawQuery), "err", err)
	}
	b, _ := json.Marshal(ae)
	h.Set("Content-Type", "application/json")
	w.WriteHeader(ae.Status)
	_, _ = w.Write(b)
	return ae.Status
}

// read returns the JSON under key, through the cache when API reads are
// cached, else straight from load.
func (s *System) read(ctx context.Context, key string, load func(context.Context) ([]byte, error)) ([]byte, error) {
	if s.cache != nil && s.cfg.Knobs.APICache {
		return s.cache.Get(ctx, key, load)
	}
	return load(ctx)
}

// knownCamera checks id against the registry, so unknown ids never reach
// the store or the cache.
func (s *System) knownCamera(id string) error {
	s.regMu.RLock()
	_, ok := s.byID[id]
	s.regMu.RUnlock()
	if !ok {
		return &apiError{Status: http.StatusNotFound, Message: "unknown camera " + strconv.Quote(clip(id))}
	}
	return nil
}

func (s *System) getCamera(r *http.Request) ([]byte, error) {
	id := r.PathValue("id")
	if err := s.knownCamera(id); err != nil {
		return nil, err
	}
	return s.read(r.Context(), "camera:"+id, func(ctx context.Context) ([]byte, error) {
		c, err := s.store.Camera(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("camera %s: %w", id, err)
		}
		return json.Marshal(c)
	})
}

// getLatest answers the camera's latest observation with its freshness
// (status, stale, observed_at: see CameraFreshness), computed at read time
// on top of the cached observation.
func (s *System) getLatest(r *http.Request) ([]byte, error) {
	id := r.PathValue("id")
	if err := s.knownCamera(id); err != nil {
		return nil, err
	}
	b, err := s.read(r.Context(), LatestKey(id), func(ctx context.Context) ([]byte, error) {
		o, err := s.store.Latest(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, errNoObservation
		}
		if err != nil {
			return nil, fmt.Errorf("latest of %s: %w", id, err)
		}
		return json.Marshal(o)
	})
	if err != nil {
		return nil, err
	}
	f, _ := s.CameraFreshness(id)
	if f.ObservedAt.IsZero() {
		// Not answered in this process yet: the observation's own time.
		var o struct {
			ProcessedAt time.Time `json:"processedAt"`
		}
		if json.Unmarshal(b, &o) == nil && !o.ProcessedAt.IsZero() {
			f.ObservedAt = o.ProcessedAt.UTC()
		}
	}
	return withFreshness(b, f), nil
}

// getStats answers the store's counts and, with any resilience mechanism
// on, their live state ("resilience": breakers, tracker, hosts).
func (s *System) getStats(r *http.Request) ([]byte, error) {
	b, err := s.read(r.Context(), "stats", func(ctx context.Context) ([]byte, error) {
		st, err := s.store.Stats(ctx)
		if err != nil {
			return nil, fmt.Errorf("stats: %w", err)
		}
		return json.Marshal(st)
	})
	if err != nil {
		return nil, err
	}
	return s.withResilience(b), nil
}

func (s *System) postCycle(r *http.Request) ([]byte, error) {
	run := s.RunCycle
	switch d := r.URL.Query().Get("drain"); d {
	case "", "0", "false":
	case "1", "true":
		run = s.RunCycleDrained
	default:
		return nil, badParam("drain", "must be 1, true, 0 or false, got %q", d)
	}
	sum, err := run(r.Context())
	if errors.Is(err, ErrNotReady) {
		return nil, &apiError{Status: http.StatusServiceUnavailable, Message: err.Error()}
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(sum)
}

// errTooManyParams and errQueryTooLong are the 400s of a query string over
// MaxQueryParams parameters or MaxQueryBytes bytes; they name no single
// parameter.
var (
	errTooManyParams = &apiError{Status: http.StatusBadRequest,
		Message: fmt.Sprintf("too many query parameters (at most %d)", MaxQueryParams)}
	errQueryTooLong = &apiError{Status: http.StatusBadRequest,
		Message: fmt.Sprintf("query string too long (at most %d bytes)", MaxQueryBytes)}
)

// ParseQuery decodes a raw query string like url.ParseQuery, which it uses,
// but fails where r.URL.Query() silently drops what it cannot decode: a
// malformed escape ("%zz", a trailing "%") or a ";" separator is a 400
// naming the parameter (its name clipped to maxEcho bytes). More than
// MaxQueryParams parameters or MaxQueryBytes bytes is a 400 before
// anything is decoded.
func ParseQuery(raw string) (url.Values, error) {
	if len(raw) > MaxQueryBytes {
		return nil, errQueryTooLong
	}
	n := 0
	for rest := raw; rest != ""; {
		var piece string
		piece, rest, _ = strings.Cut(rest, "&")
		if piece != "" {
			n++
		}
	}
	if n > MaxQueryParams {
		return nil, errTooManyParams
	}
	q, err := url.ParseQuery(raw)
	if err == nil {
		return q, nil
	}
	// Name the first parameter that does not decode.
	for rest := raw; rest != ""; {
		var piece string
		piece, rest, _ = strings.Cut(rest, "&")
		if _, perr := url.ParseQuery(piece); perr == nil {
			continue
		}
		k, v, _ := strings.Cut(piece, "=")
		name, kerr := url.QueryUnescape(k)
		if kerr != nil {
			name = k
		}
		if name == "" {
			name = `""`
		}
		switch {
		case strings.Contains(piece, ";"):
			return nil, badParam(name, `";" is not a separator (use "&")`)
		case kerr != nil:
			return nil, badParam(name, "malformed percent-encoding in the name")
		}
		return nil, badParam(name, "malformed percent-encoding in the value %q", v)
	}
	return nil, &apiError{Status: http.StatusBadRequest, Message: "malformed query string"}
}

// ListQuery is a validated GET /api/v1/cameras request.
type ListQuery struct {
	Filter store.Filter
	Page   int // 1-based; 0 for a cursor page
	After  string
	Cursor bool
	Limit  int
	Fields []string
}

// ParseListQuery validates the query of GET /api/v1/cameras against the
// whitelists; districts are the registry's districts. Errors name the
// parameter.
func ParseListQuery(q url.Values, districts map[string]bool) (ListQuery, error) {
	lq := ListQuery{Limit: DefaultPageLimit, Page: 1}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !listParams[k] {
			name := k
			if name == "" {
				name = `""` // "?=x": a parameter without a name
			}
			return lq, badParam(name, "unknown parameter (want page, limit, after, status, district or fields)")
		}
		if len(q[k]) > 1 {
			return lq, badParam(k, "given %d times", len(q[k]))
		}
	}
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > MaxPageLimit {
			return lq, badParam("limit", "must be an integer 1 … %d, got %q", MaxPageLimit, v[0])
		}
		lq.Limit = n
	}
	if v, ok := q["after"]; ok {
		if _, both := q["page"]; both {
			return lq, badParam("after", "cannot be combined with page")
		}
		if v[0] != "" && !validID(v[0]) {
			return lq, badParam("after", "not a camera id: %q", v[0])
		}
		lq.Cursor, lq.After, lq.Page = true, v[0], 0
	}
	if v, ok := q["page"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > 1_000_000 {
			return lq, badParam("page", "must be an integer ≥ 1, got %q", v[0])
		}
		lq.Page = n
	}
	if v, ok := q["status"]; ok {
		if v[0] != "online" && v[0] != "offline" {
			return lq, badParam("status", "must be online or offline, got %q", v[0])
		}
		lq.Filter.Status = v[0]
	}
	if v, ok := q["district"]; ok {
		if !districts[v[0]] {
			return lq, badParam("district", "unknown district %q", v[0])
		}
		lq.Filter.District = v[0]
	}
	if v, ok := q["fields"]; ok {
		seen := map[string]bool{}
		for _, f := range strings.Split(v[0], ",") {
			f = strings.TrimSpace(f)
			if !cameraFields[f] {
				return lq, badParam("fields", "unknown field %q", f)
			}
			if !seen[f] {
				seen[f] = true
				lq.Fields = append(lq.Fields, f)
			}
		}
		sort.Strings(lq.Fields)
	}
	return lq, nil
}

// key is the canonical cache key of the query.
func (lq ListQuery) key() string {
	return fmt.Sprintf("cameras:p=%d:c=%t:a=%s:l=%d:s=%s:d=%s:f=%s", lq.Page, lq.Cursor, lq.After, lq.Limit,
		lq.Filter.Status, url.QueryEscape(lq.Filter.District), strings.Join(lq.Fields, ","))
}

// CameraPage is the answer of GET /api/v1/cameras. Offset pages carry Page
// and Total; cursor pages carry Next ("" on the last page).
type CameraPage struct {
	Items []json.RawMessage `json:"items"`
	Limit int               `json:"limit"`
	Page  int               `json:"page,omitempty"`
	Total *int              `json:"total,omitempty"`
	Next  *string           `json:"next,omitempty"`
}

func (s *System) listCameras(r *http.Request) ([]byte, error) {
	s.regMu.RLock()
	districts := s.districts
	s.regMu.RUnlock()
	q, err := ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	lq, err := ParseListQuery(q, districts)
	if err != nil {
		return nil, err
	}
	return s.read(r.Context(), lq.key(), func(ctx context.Context) ([]byte, error) {
		return s.loadPage(ctx, lq)
	})
}

func (s *System) loadPage(ctx context.Context, lq ListQuery) ([]byte, error) {
	p := store.Page{Limit: lq.Limit, Fields: lq.Fields}
	if lq.Cursor {
		p.After, p.SkipCount = lq.After, true
		if lq.Limit < store.MaxPageLimit {
			p.Limit = lq.Limit + 1 // one more tells whether there is a next page
		}
		if len(p.Fields) > 0 && !contains(p.Fields, "id") {
			p.Fields = append(append([]string(nil), p.Fields...), "id")
		}
	} else {
		p.Offset = (lq.Page - 1) * lq.Limit
	}
	cams, total, err := s.store.Cameras(ctx, lq.Filter, p)
	if err != nil {
		return nil, fmt.Errorf("listing cameras: %w", err)
	}
	out := CameraPage{Items: make([]json.RawMessage, 0, min(len(cams), lq.Limit)), Limit: lq.Limit}
	if lq.Cursor {
		next := ""
		// With limit+1 asked, a next page exists iff more came back;
		// at the store's maximum a full page may be followed by an
		// empty one.
		if len(cams) > lq.Limit || (p.Limit == lq.Limit && len(cams) == lq.Limit) {
			cams = cams[:lq.Limit]
			next = cams[len(cams)-1].ID
		}
		out.Next = &next
	} else {
		out.Page, out.Total = lq.Page, &total
	}
	for i := range cams {
		b, err := projectCamera(&cams[i], lq.Fields)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, b)
	}
	return json.Marshal(out)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// projectCamera renders c with only fields (all when empty).
func projectCamera(c *store.Camera, fields []string) (json.RawMessage, error) {
	if len(fields) == 0 {
		return json.Marshal(c)
	}
	m := make(map[string]any, len(fields))
	for _, f := range fields {
		switch f {
		case "id":
			m[f] = c.ID
		case "name":
			m[f] = c.Name
		case "code":
			m[f] = c.Code
		case "district":
			m[f] = c.District
		case "location":
			m[f] = c.Location
		case "cameraType":
			m[f] = c.CameraType
		case "status":
			m[f] = c.Status
		case "snapshotUrl":
			m[f] = c.SnapshotURL
		case "lastUpdate":
			m[f] = c.LastUpdate
		}
	}
	return json.Marshal(m)
}
