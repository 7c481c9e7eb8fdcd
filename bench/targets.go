package bench

import (
	"math/rand/v2"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/camload/camload/scenarios"
	"github.com/camload/camload/simulator"
)

// urlRing is how many URLs a templated target draws (and then cycles
// through): enough that a 1000-camera fleet's `latest` reads reach nearly
// every camera and its list every page and filter.
const urlRing = 8192

// defaultLimit is the API's page size when a path does not say limit=.
const defaultLimit = 50

var limitParam = regexp.MustCompile(`[?&]limit=(\d+)`)

// targetURLs expands t's path template into URLs over the whole dataset,
// drawn deterministically from seed and the target's index ti:
//
//   - {{id}}: a camera of the fleet, uniformly or, when t.Zipf > 1, with a
//     Zipf skew of that exponent over a seeded shuffle of the cameras (a
//     few hot cameras, a long tail), as dashboards read them;
//   - {{page}}: 1 … t.Pages, or, when Pages is 0, every page of the camera
//     list at the path's limit (⌈cameras ÷ limit⌉);
//   - {{district}}: one of the fleet's districts (URL-escaped);
//   - {{status}}: online or offline.
//
// A path without placeholders is one URL.
func targetURLs(api string, t scenarios.Target, cams []simulator.Camera, seed int64, ti int) []string {
	if !strings.Contains(t.Path, "{{") {
		return []string{api + t.Path}
	}
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(ti)+1))
	order := rng.Perm(len(cams)) // rank → camera, for the Zipf skew
	var zipf *rand.Zipf
	if t.Zipf > 1 && len(cams) > 1 {
		zipf = rand.NewZipf(rng, t.Zipf, 1, uint64(len(cams)-1))
	}
	pages := t.Pages
	if pages <= 0 {
		limit := defaultLimit
		if m := limitParam.FindStringSubmatch(t.Path); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil && n > 0 {
				limit = n
			}
		}
		pages = max((len(cams)+limit-1)/limit, 1)
	}
	seen := map[string]bool{}
	var districts []string
	for _, c := range cams {
		if !seen[c.District] {
			seen[c.District] = true
			districts = append(districts, c.District)
		}
	}
	sort.Strings(districts)
	statuses := []string{simulator.StatusOnline, simulator.StatusOffline}
	camera := func() string {
		if zipf != nil {
			return cams[order[zipf.Uint64()]].ID
		}
		return cams[rng.IntN(len(cams))].ID
	}
	out := make([]string, urlRing)
	for i := range out {
		p := t.Path
		for strings.Contains(p, "{{id}}") && len(cams) > 0 {
			p = strings.Replace(p, "{{id}}", camera(), 1)
		}
		for strings.Contains(p, "{{page}}") {
			p = strings.Replace(p, "{{page}}", strconv.Itoa(1+rng.IntN(pages)), 1)
		}
		for strings.Contains(p, "{{district}}") && len(districts) > 0 {
			p = strings.Replace(p, "{{district}}", url.QueryEscape(districts[rng.IntN(len(districts))]), 1)
		}
		for strings.Contains(p, "{{status}}") {
			p = strings.Replace(p, "{{status}}", statuses[rng.IntN(len(statuses))], 1)
		}
		out[i] = api + p
	}
	return out
}
