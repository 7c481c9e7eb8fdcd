package reports

import (
	"testing"

	"github.com/camload/camload/results"
)

// TestCapacityFloorFailed: a search whose first step failed is an upper
// bound, shown as "< floor", and gives no capacity figure (never 0).
func TestCapacityFloorFailed(t *testing.T) {
	t.Parallel()
	floor := 25.0
	k := &results.Capacity{FirstFail: &floor, Cap: 1e5}
	if got := capText(k); got != "< 25 (the floor failed)" {
		t.Errorf("capText(floor failed) = %q", got)
	}
	c := results.Cell{API: map[string]results.Endpoint{"list": {Capacity: k}}}
	if o := capacityFig("", "list").get(c); o.ok {
		t.Errorf("capacityFig of a failed floor = %+v; want no figure", o)
	}
	pass := 400.0
	c.API["list"] = results.Endpoint{Capacity: &results.Capacity{Rate: pass, LastPass: &pass, FirstFail: &floor}}
	if o := capacityFig("", "list").get(c); !o.ok || o.v != 400 {
		t.Errorf("capacityFig of a bracketed search = %+v; want 400", o)
	}
}
