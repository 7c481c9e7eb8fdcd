package rule

import (
	"fmt"
	"sort"

	"github.com/camload/camload/internal/cfgerr"
)

// ParseSet parses a scenario's rules: the thresholds map (key →
// condition) in key order, then the expect list in order, and checks each
// against metrics (nil skips the check). Every bad rule is reported, each
// as a *cfgerr.Error naming "thresholds.<key>" or "expect[<i>]", joined.
func ParseSet(thresholds map[string]string, expect []string, metrics Metrics) ([]*Rule, error) {
	keys := make([]string, 0, len(thresholds))
	for k := range thresholds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var rules []*Rule
	var errs []error
	add := func(field string, r *Rule, err error) {
		if err == nil && metrics != nil {
			err = r.Check(metrics)
		}
		if err != nil {
			errs = append(errs, &cfgerr.Error{Field: field, Err: err})
			return
		}
		rules = append(rules, r)
	}
	for _, k := range keys {
		r, err := ParseThreshold(k, thresholds[k])
		add("thresholds."+k, r, err)
	}
	for i, s := range expect {
		r, err := ParseExpect(s)
		add(fmt.Sprintf("expect[%d]", i), r, err)
	}
	return rules, cfgerr.Join(errs...)
}
