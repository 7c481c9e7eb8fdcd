package reports

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/camload/camload/results"
)

// scaleoutSections are the report's "Scale-out" sections, one per (mode,
// cameras) of run.Scaleout: throughput per replica count and the scaling
// efficiency throughput ÷ (replicas × throughput of one), never clipped.
// Every figure names its window (the cycles window), its process (all
// replicas, one replica, the runner and Redis, the machine) and its n (the
// repetitions behind its median); one the run did not measure reads "—".
func scaleoutSections(run *results.Run) []section {
	var out []section
	for _, so := range run.Scaleout {
		t := table{Header: []string{"Replicas", "Cameras/s, all replicas (cycles window)", "Cameras/s per replica (cycles window)",
			"Efficiency thr ÷ (replicas × thr of 1)", "Repetitions (n) / cycles", "CPU per camera, all replicas (cycles window)",
			"Core share per replica (cycles window)", "Runner + Redis (cores, cycles window)", "Reclaimed jobs (sum over the n repetitions)",
			"Machine busy (cycles window)", "Redis"}, Bold: 3}
		for _, p := range so.Points {
			pc := scalePointCells(run, so, p)
			eff := "—"
			if p.Replicas == 1 && p.Efficiency != nil {
				eff = "1 (the baseline)"
			} else if p.Efficiency != nil {
				eff = fmt.Sprintf("%.2f", *p.Efficiency)
				if p.EfficiencyCI != nil {
					eff += fmt.Sprintf(" [%.2f, %.2f]", p.EfficiencyCI[0], p.EfficiencyCI[1])
				}
				eff += fmt.Sprintf(" (n=%d)", p.EfficiencyN)
			}
			thr := fmt.Sprintf("%.1f", p.Throughput)
			if p.ThroughputCI != nil {
				thr += fmt.Sprintf(" [%.1f, %.1f]", p.ThroughputCI[0], p.ThroughputCI[1])
			}
			withN := func(s string, n int) string { return fmt.Sprintf("%s (n=%d)", s, n) }
			cpuCam := "—"
			if p.CPUPerCamera > 0 {
				cpuCam = withN(cpuPerCameraText(p), pc.cpuN)
			}
			share := "—"
			if p.CoreShare > 0 {
				share = withN(fmt.Sprintf("%.2f", p.CoreShare), pc.shareN)
			}
			busy := "—"
			if p.CPUMachinePercent > 0 {
				busy = withN(fmt.Sprintf("%.0f%%", p.CPUMachinePercent), p.N)
			}
			t.Rows = append(t.Rows, []string{strconv.Itoa(p.Replicas), withN(thr, p.N), withN(fmt.Sprintf("%.1f", p.PerReplica), p.N), eff,
				fmt.Sprintf("%d / %d", p.N, p.Cycles), cpuCam, share, withN(fmt.Sprintf("%.2f", p.SupportCores), p.N),
				strconv.Itoa(pc.reclaimed), busy, strings.Join(pc.redis, "; ")})
		}
		intro := fmt.Sprintf("%s at %d cameras as %s `camload serve --group` replicas sharing each cycle's cameras through a Redis Stream. Window: %s; every CPU figure is over the same cycles window. "+
			"Figures are medians over the ok repetitions of a replica count, n the repetitions behind each (efficiency pairs repetition r of the replicas with repetition r of one, n the pairs; CPU figures count the repetitions that read every replica's CPU); 95%% CI from 5 repetitions on; — where the run did not measure it. "+
			"Efficiency is never clipped: above 1, one replica alone did not use its core (bound by latency, not CPU); a machine busy near 100%% left no core to scale onto. Core share per replica = the replicas' CPU ÷ (window × replicas × GOMAXPROCS): below 1 a replica did not get its core. Runner + Redis = the cores the fleet, FerretDB and Redis (all hosted by the runner here) used meanwhile; machine busy counts every process on the machine. A steady CPU per camera shows that the coordination itself costs little.",
			so.Mode, so.Cameras, replicaRange(so), so.Window)
		out = append(out, section{ID: "scaleout-" + so.Mode + "-" + strconv.Itoa(so.Cameras),
			Title: fmt.Sprintf("Scale-out: %s at %d cameras, %s replicas", so.Mode, so.Cameras, replicaRange(so)), Intro: intro, Tables: []table{t}})
	}
	return out
}

// replicaRange is the replica counts of so: "1…3".
func replicaRange(so results.Scaleout) string {
	if len(so.Points) == 0 {
		return "no"
	}
	lo, hi := so.Points[0].Replicas, so.Points[len(so.Points)-1].Replicas
	if lo == hi {
		return strconv.Itoa(lo)
	}
	return strconv.Itoa(lo) + "…" + strconv.Itoa(hi)
}

func cpuPerCameraText(p results.ScalePoint) string {
	return results.FormatDuration(time.Duration(p.CPUPerCamera * float64(time.Second)))
}

// scalePoint is what a scale-out row reads from the run's cells besides
// the stored point.
type scalePoint struct {
	// cpuN and shareN are the repetitions behind CPU per camera and core
	// share: those that read every replica's CPU (and, for the share,
	// knew GOMAXPROCS), as bench.Scaleout counts them.
	cpuN, shareN int
	// reclaimed is the jobs reclaimed, summed over the repetitions.
	reclaimed int
	// redis names the Redis servers the repetitions used.
	redis []string
}

// scalePointCells reads point p of so from the repetitions behind it: the
// ok cells of p's replica count that measured a throughput.
func scalePointCells(run *results.Run, so results.Scaleout, p results.ScalePoint) scalePoint {
	var sp scalePoint
	seen := map[string]bool{}
	for _, c := range run.Cells {
		x := c.Replicas
		if x == nil || c.Mode != so.Mode || c.Cameras != so.Cameras || x.Count != p.Replicas ||
			(c.Status != results.StatusOK && c.Status != "") || x.Throughput <= 0 {
			continue
		}
		read := len(x.Members) > 0
		for _, m := range x.Members {
			read = read && m.CPUSeconds >= 0
		}
		if read && x.Processed > 0 {
			sp.cpuN++
		}
		if read && x.GOMAXPROCS > 0 {
			sp.shareN++
		}
		sp.reclaimed += x.Reclaimed
		name := x.Redis
		if i := strings.Index(name, " (started by the runner on"); i >= 0 {
			name = name[:i] + " (started by the runner)"
		}
		if i := strings.Index(name, " (hosted by the runner on"); i >= 0 {
			name = name[:i] + " (hosted by the runner)"
		}
		if !seen[name] {
			seen[name] = true
			sp.redis = append(sp.redis, name)
		}
	}
	return sp
}

// modeLabel is a cell's mode in the text summary: "batched", or
// "batched×2" for a cell of 2 replicas.
func modeLabel(c results.Cell) string {
	if c.Replicas != nil {
		return c.Mode + "×" + strconv.Itoa(c.Replicas.Count)
	}
	return c.Mode
}

// groupLabel is a group's mode in a report table: "batched", or
// "batched×2" for a group of 2 replicas.
func groupLabel(g results.Group) string {
	if g.Replicas > 0 {
		return g.Mode + "×" + strconv.Itoa(g.Replicas)
	}
	return g.Mode
}

// writeScaleoutText adds run.Scaleout to the text summary: one line per
// replica count with its throughput (all replicas, per replica),
// efficiency (never clipped), CPU per camera, core share and machine busy,
// each over the cycles window, and the repetitions (n) behind them; a
// figure not measured reads "-".
func writeScaleoutText(w io.Writer, run *results.Run) {
	for _, so := range run.Scaleout {
		fmt.Fprintf(w, "\nscale-out %s × %d cameras (window: %s; CPU over the same cycles window):", so.Mode, so.Cameras, so.Window)
		for _, p := range so.Points {
			pc := scalePointCells(run, so, p)
			// nOf names a figure's n where it is not the line's.
			nOf := func(n int) string {
				if n == p.N {
					return ""
				}
				return fmt.Sprintf(" (n=%d)", n)
			}
			eff := "-"
			if p.Efficiency != nil {
				eff = fmt.Sprintf("%.2f (n=%d)", *p.Efficiency, p.EfficiencyN)
			}
			cpuCam, share, busy := "-", "-", "-"
			if p.CPUPerCamera > 0 {
				cpuCam = cpuPerCameraText(p) + nOf(pc.cpuN)
			}
			if p.CoreShare > 0 {
				share = fmt.Sprintf("%.2f", p.CoreShare) + nOf(pc.shareN)
			}
			if p.CPUMachinePercent > 0 {
				busy = fmt.Sprintf("%.0f%%", p.CPUMachinePercent)
			}
			fmt.Fprintf(w, "\n  %s: %.1f cameras/s all replicas, %.1f per replica, efficiency %s, CPU per camera (all replicas) %s, core share per replica %s, machine busy %s; n=%d repetitions, %d cycles",
				plural(p.Replicas, "replica"), p.Throughput, p.PerReplica, eff, cpuCam, share, busy, p.N, p.Cycles)
		}
	}
}
