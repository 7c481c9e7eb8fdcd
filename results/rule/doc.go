// Package rule parses and judges a scenario's rules: thresholds with
// k6-style selectors ("cycle_p99{mode:batched,cameras:1000}: < 1s") and
// expect rules that relate cells
// ("rss_peak{mode:batched,cameras:1000} <= 0.2 * rss_peak{mode:async,cameras:1000}").
//
// The package knows no metric names and no result schema. A caller checks
// names and units with a Metrics function (Rule.Check) and judges rules on
// its data through a Source: the cells of a run, with labels that
// selectors match, and per-repetition values of a metric in a cell. The
// unit of replication is the repetition: a rule on a cell with several
// repetitions is judged on the 95% bootstrap interval of the medians
// (Rule.Evaluate), so one lucky draw cannot decide it. A censored value (a
// capacity search that never failed) is a lower bound, and rules built on
// it reason on the bound.
//
// Grammar (spaces are free except inside names and numbers):
//
//	threshold  = ref ":" cmp constexpr
//	expect     = sum cmp sum
//	cmp        = "<" | "<=" | ">" | ">=" | "==" | "!="   (also ≤ ≥ ≠)
//	sum        = product { ("+" | "-") product }
//	product    = unary { ("*" | "/") unary }
//	unary      = "-" unary | primary
//	primary    = number [unit] | ref | "(" sum ")"
//	ref        = metric [ "{" label { "," label } "}" ]
//	label      = name ":" value
//	metric     = name { ("." | "-") name }   (a "-" joins only before a letter or _)
//	unit       = duration (ns us µs ms s m h, compound as in 1m30s)
//	           | size (B kB MB GB TB PB, KiB MiB GiB TiB PiB; case-insensitive)
//	           | "%"
//
// A threshold's constant expression has no metric references; an expect
// rule has at least one.
package rule
