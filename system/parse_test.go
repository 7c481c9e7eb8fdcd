package system

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/camload/camload/internal/cfgerr"
)

func TestParseListQuery(t *testing.T) {
	t.Parallel()
	districts := map[string]bool{"District 1": true, "Binh Thanh": true}
	for _, tc := range []struct {
		name, query string
		param       string // "" = valid
		want        ListQuery
	}{
		{"defaults", "", "", ListQuery{Page: 1, Limit: DefaultPageLimit}},
		{"offset page", "page=3&limit=20", "", ListQuery{Page: 3, Limit: 20}},
		{"cursor first page", "after=&limit=5", "", ListQuery{Cursor: true, Limit: 5}},
		{"cursor", "after=cam-00010", "", ListQuery{Cursor: true, After: "cam-00010", Limit: DefaultPageLimit}},
		{"filters", "status=online&district=Binh+Thanh", "", ListQuery{Page: 1, Limit: DefaultPageLimit}},
		{"fields sorted and deduped", "fields=status,id,status", "", ListQuery{Page: 1, Limit: DefaultPageLimit, Fields: []string{"id", "status"}}},
		{"limit zero", "limit=0", "limit", ListQuery{}},
		{"limit too big", "limit=1001", "limit", ListQuery{}},
		{"limit not a number", "limit=ten", "limit", ListQuery{}},
		{"page zero", "page=0", "page", ListQuery{}},
		{"page negative", "page=-1", "page", ListQuery{}},
		{"page and after", "page=2&after=cam-1", "after", ListQuery{}},
		{"after injection", "after=%7B%22%24gt%22%3A%22%22%7D", "after", ListQuery{}},
		{"status unknown", "status=broken", "status", ListQuery{}},
		{"status operator", "status[$ne]=x", "status[$ne]", ListQuery{}},
		{"district unknown", "district=Atlantis", "district", ListQuery{}},
		{"field unknown", "fields=id,password", "fields", ListQuery{}},
		{"field empty", "fields=", "fields", ListQuery{}},
		{"repeated", "limit=1&limit=2", "limit", ListQuery{}},
		{"unknown parameter", "sort=name", "sort", ListQuery{}},
	} {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, err := ParseListQuery(q, districts)
		if tc.param != "" {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Parameter != tc.param || ae.Status != 400 {
				t.Errorf("%s: ParseListQuery(%q) error = %v; want a 400 naming %q", tc.name, tc.query, err, tc.param)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: ParseListQuery(%q) = %v", tc.name, tc.query, err)
			continue
		}
		got.Filter = ListQuery{}.Filter
		if got.Page != tc.want.Page || got.Limit != tc.want.Limit || got.Cursor != tc.want.Cursor ||
			got.After != tc.want.After || strings.Join(got.Fields, ",") != strings.Join(tc.want.Fields, ",") {
			t.Errorf("%s: ParseListQuery(%q) = %+v; want %+v", tc.name, tc.query, got, tc.want)
		}
	}
}

func TestParseQuery(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("A", 4000)
	for _, tc := range []struct {
		name, raw string
		param     string // "" with ok false: an error naming no parameter
		ok        bool
	}{
		{"empty", "", "", true},
		{"plain", "limit=5&district=Qu%E1%BA%ADn+1&fields=id,name", "", true},
		{"empty pieces", "&&limit=5&", "", true},
		{"trailing percent in value", "fields=password%&limit=2", "fields", false},
		{"bad escape in value", "limit=%zz", "limit", false},
		{"bad escape in second", "limit=2&page=%g1", "page", false},
		{"bad escape in name", "li%zzmit=2", "li%zzmit", false},
		{"bad escape without name", "=%zz", `""`, false},
		{"semicolon", "limit=2;page=1", "limit", false},
		{"long bad value clipped", "after=" + long + "%", "after", false},
		{"long bad name clipped", long + "%=1", long[:maxEcho] + "…", false},
		{"at the parameter cap", strings.Repeat("x=1&", MaxQueryParams), "", true},
		{"over the parameter cap", strings.Repeat("x=1&", MaxQueryParams+1), "", false},
		{"20,000 parameters", strings.Repeat("limit=1&", 20000), "", false},
		{"500 KB value", "fields=" + strings.Repeat("x", 500<<10), "", false},
	} {
		q, err := ParseQuery(tc.raw)
		if tc.ok {
			want, werr := url.ParseQuery(tc.raw)
			if err != nil || werr != nil || !reflect.DeepEqual(q, want) {
				t.Errorf("%s: ParseQuery = %v, %v; want %v (url.ParseQuery)", tc.name, q, err, want)
			}
			continue
		}
		var ae *apiError
		if !errors.As(err, &ae) || ae.Status != 400 || ae.Parameter != tc.param {
			t.Errorf("%s: ParseQuery error = %#v; want a 400 naming %q", tc.name, err, tc.param)
			continue
		}
		if len(ae.Message) > 3*maxEcho+100 {
			t.Errorf("%s: message of %d bytes echoes the input: %.200q…", tc.name, len(ae.Message), ae.Message)
		}
	}
}

// FuzzParseListQuery parses raw query strings as the API does: ParseQuery
// must agree with url.ParseQuery on what decodes (within the caps), every
// error is a 400 that quotes at most maxEcho bytes of input, and whatever
// ParseListQuery accepts is in range and whitelisted.
func FuzzParseListQuery(f *testing.F) {
	for _, s := range []string{"", "page=2&limit=10", "after=cam-1", "fields=id,name", "status=online&district=D1", "limit=%00",
		"fields=password%&limit=2", "limit=%zz", "%zz=1", "limit=1;page=2", "district=D%201", "district=D+1",
		strings.Repeat("limit=1&", 20000), "after=" + strings.Repeat("%", 5000), strings.Repeat("x", 300) + "=%"} {
		f.Add(s)
	}
	districts := map[string]bool{"D1": true, "D 1": true}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := ParseQuery(raw)
		want, werr := url.ParseQuery(raw)
		pieces := 0
		for _, p := range strings.Split(raw, "&") {
			if p != "" {
				pieces++
			}
		}
		withinCaps := len(raw) <= MaxQueryBytes && pieces <= MaxQueryParams
		switch {
		case err == nil && (werr != nil || !withinCaps):
			t.Fatalf("ParseQuery(%q) accepted what url.ParseQuery rejects (%v) or is over a cap", raw, werr)
		case err == nil && !reflect.DeepEqual(q, want):
			t.Fatalf("ParseQuery(%q) = %v; url.ParseQuery = %v", raw, q, want)
		case err != nil && werr == nil && withinCaps:
			t.Fatalf("ParseQuery(%q) = %v; url.ParseQuery decodes it", raw, err)
		}
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status != 400 {
				t.Fatalf("ParseQuery(%q) = %v; want a 400 apiError", raw, err)
			}
			if ae.Parameter == "" && ae != errTooManyParams && ae != errQueryTooLong {
				t.Fatalf("ParseQuery(%q) = %v names no parameter", raw, err)
			}
			if len(ae.Parameter) > maxEcho+len("…") || len(ae.Message) > 3*maxEcho+100 {
				t.Fatalf("ParseQuery(%q): error echoes too much: %q", raw, ae.Message)
			}
			return
		}
		lq, err := ParseListQuery(q, districts)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Parameter == "" {
				t.Fatalf("ParseListQuery(%q) = %v; want an apiError naming a parameter", raw, err)
			}
			return
		}
		if lq.Limit < 1 || lq.Limit > MaxPageLimit || (!lq.Cursor && lq.Page < 1) {
			t.Fatalf("ParseListQuery(%q) = %+v: out of range", raw, lq)
		}
		if lq.After != "" && !validID(lq.After) {
			t.Fatalf("ParseListQuery(%q): after %q passed unvalidated", raw, lq.After)
		}
		if lq.Filter.District != "" && !districts[lq.Filter.District] {
			t.Fatalf("ParseListQuery(%q): district %q passed unvalidated", raw, lq.Filter.District)
		}
		for _, f := range lq.Fields {
			if !cameraFields[f] {
				t.Fatalf("ParseListQuery(%q): field %q passed unvalidated", raw, f)
			}
		}
	})
}

const goodCamera = `{"id":"cam-00001","name":"Le Loi x Nguyen Hue","code":"C1","district":"District 1",
"location":{"lat":10.77,"lng":106.70},"cameraType":"PTZ","status":"online",
"snapshotUrl":"http://127.0.0.1:8701/cameras/cam-00001/snapshot.jpg"}`

func TestParseRegistry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		want       string // substring of the error; "" = valid
	}{
		{"valid", "[" + goodCamera + "]", ""},
		{"not json", "<html>", "decoding cameras"},
		{"empty", "[]", "no cameras"},
		{"missing id", "[" + strings.Replace(goodCamera, `"cam-00001"`, `""`, 1) + "]", "id: missing"},
		{"bad id", "[" + strings.Replace(goodCamera, `"id":"cam-00001"`, `"id":"cam/../x"`, 1) + "]", "id: must be"},
		{"duplicate", "[" + goodCamera + "," + goodCamera + "]", `camera 1 ("cam-00001"): id: duplicate`},
		{"status", "[" + strings.Replace(goodCamera, `"online"`, `"maybe"`, 1) + "]", "status: must be"},
		{"type", "[" + strings.Replace(goodCamera, `"PTZ"`, `"Fisheye"`, 1) + "]", "cameraType"},
		{"lat", "[" + strings.Replace(goodCamera, `10.77`, `100.5`, 1) + "]", "location.lat"},
		{"url scheme", "[" + strings.Replace(goodCamera, `http://127`, `ftp://127`, 1) + "]", "snapshotUrl"},
		{"url query", "[" + strings.Replace(goodCamera, `snapshot.jpg`, `snapshot.jpg?x=1`, 1) + "]", "snapshotUrl: must have no query"},
		{"district", "[" + strings.Replace(goodCamera, `"District 1"`, `""`, 1) + "]", "district: missing"},
	} {
		cams, err := ParseRegistry([]byte(tc.body))
		switch {
		case tc.want == "" && (err != nil || len(cams) != 1 || cams[0].ID != "cam-00001"):
			t.Errorf("%s: ParseRegistry = %v, %v; want one camera", tc.name, cams, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: ParseRegistry error = %v; want one containing %q", tc.name, err, tc.want)
		}
	}
}

func FuzzParseRegistry(f *testing.F) {
	f.Add([]byte("[" + goodCamera + "]"))
	f.Add([]byte(`[{"id":"a"}]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		cams, err := ParseRegistry(body)
		if err != nil {
			return
		}
		for _, c := range cams {
			if !validID(c.ID) || c.District == "" || (c.Status != "online" && c.Status != "offline") {
				t.Fatalf("ParseRegistry accepted invalid camera %+v", c)
			}
		}
	})
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	base, _ := DefaultConfig(ModeBatched, "http://127.0.0.1:8700")
	for _, tc := range []struct {
		name  string
		edit  func(*Config)
		field string // "" = valid
	}{
		{"valid", func(*Config) {}, ""},
		{"mode", func(c *Config) { c.Mode = "turbo" }, "mode"},
		{"fleet missing", func(c *Config) { c.FleetURL = "" }, "fleet"},
		{"fleet scheme", func(c *Config) { c.FleetURL = "ftp://x" }, "fleet"},
		{"interval", func(c *Config) { c.Interval = -1 }, "interval"},
		{"workers", func(c *Config) { c.Knobs.Workers = 0 }, "workers"},
		{"batch size", func(c *Config) { c.Knobs.BatchSize = -5 }, "batch-size"},
		{"fan-out", func(c *Config) { c.Knobs.FanOut = "sideways" }, "fan-out"},
		{"client", func(c *Config) { c.Knobs.Client = "carrier-pigeon" }, "client"},
		{"fetch timeout", func(c *Config) { c.Knobs.FetchTimeout = 0 }, "fetch-timeout"},
		{"max body", func(c *Config) { c.Knobs.MaxBody = 10 }, "max-body"},
		{"analyze cost", func(c *Config) { c.Knobs.AnalyzeCost = -time.Second }, "analyze-cost"},
	} {
		c := base
		tc.edit(&c)
		err := c.Validate()
		var ce *cfgerr.Error
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: Validate() = %v; want nil", tc.name, err)
		case tc.field != "" && (!errors.As(err, &ce) || ce.Field != tc.field):
			t.Errorf("%s: Validate() = %v; want a *cfgerr.Error for %q", tc.name, err, tc.field)
		}
	}
}
