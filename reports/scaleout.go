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
// efficiency throughput(n) ÷ (n × throughput(1)), never clipped.
func scaleoutSections(run *results.Run) []section {
	var out []section
	for _, so := range run.Scaleout {
		t := table{Header: []string{"Replicas (n)", "Cameras/s (all)", "Cameras/s per replica", "Efficiency thr(n) ÷ (n × thr(1))", "Repetitions / cycles", "CPU per camera (all replicas)", "Core share per replica", "Runner + Redis (cores)", "Reclaimed", "Machine busy (cycles window)", "Redis"}, Bold: 3}
		for _, p := range so.Points {
			eff := "—"
			if p.Replicas == 1 && p.Efficiency != nil {
				eff = "1 (the baseline)"
			} else if p.Efficiency != nil {
				eff = fmt.Sprintf("%.2f (n=%d)", *p.Efficiency, p.EfficiencyN)
				if p.EfficiencyCI != nil {
					eff += fmt.Sprintf(" [%.2f, %.2f]", p.EfficiencyCI[0], p.EfficiencyCI[1])
				}
			}
			thr := fmt.Sprintf("%.1f", p.Throughput)
			if p.ThroughputCI != nil {
				thr += fmt.Sprintf(" [%.1f, %.1f]", p.ThroughputCI[0], p.ThroughputCI[1])
			}
			cpuCam := "—"
			if p.CPUPerCamera > 0 {
				cpuCam = results.FormatDuration(time.Duration(p.CPUPerCamera * float64(time.Second)))
			}
			share := "—"
			if p.CoreShare > 0 {
				share = fmt.Sprintf("%.2f", p.CoreShare)
			}
			reclaimed, redis := 0, map[string]bool{}
			var redisNames []string
			for _, c := range run.Cells {
				if c.Replicas == nil || c.Mode != so.Mode || c.Cameras != so.Cameras || c.Replicas.Count != p.Replicas {
					continue
				}
				reclaimed += c.Replicas.Reclaimed
				name := c.Replicas.Redis
				if i := strings.Index(name, " (started by the runner on"); i >= 0 {
					name = name[:i] + " (started by the runner)"
				}
				if i := strings.Index(name, " (hosted by the runner on"); i >= 0 {
					name = name[:i] + " (hosted by the runner)"
				}
				if !redis[name] {
					redis[name] = true
					redisNames = append(redisNames, name)
				}
			}
			t.Rows = append(t.Rows, []string{strconv.Itoa(p.Replicas), thr, fmt.Sprintf("%.1f", p.PerReplica), eff,
				fmt.Sprintf("%d / %d", p.N, p.Cycles), cpuCam, share, fmt.Sprintf("%.2f", p.SupportCores), strconv.Itoa(reclaimed), fmt.Sprintf("%.0f%%", p.CPUMachinePercent), strings.Join(redisNames, "; ")})
		}
		intro := fmt.Sprintf("%s at %d cameras as n `camload serve --group` replicas sharing each cycle's cameras through a Redis Stream. Window: %s. "+
			"Figures are medians over repetitions (n = repetitions; efficiency pairs repetition r of n replicas with repetition r of one; 95%% CI from 5 repetitions on). "+
			"Efficiency is never clipped: above 1, one replica alone did not use its core (bound by latency, not CPU); a machine busy near 100%% left no core to scale onto. Core share per replica = the replicas' CPU ÷ (window × n × GOMAXPROCS): below 1 a replica did not get its core. Runner + Redis = the cores the fleet, FerretDB and Redis (all hosted by the runner here) used meanwhile. A steady CPU per camera shows that the coordination itself costs little.",
			so.Mode, so.Cameras, so.Window)
		out = append(out, section{ID: "scaleout-" + so.Mode + "-" + strconv.Itoa(so.Cameras),
			Title: fmt.Sprintf("Scale-out: %s at %d cameras, 1…n replicas", so.Mode, so.Cameras), Intro: intro, Tables: []table{t}})
	}
	return out
}

// modeLabel is a cell's mode in the text summary: "batched", or
// "batched×2" for a cell of 2 replicas.
func modeLabel(c results.Cell) string {
	if c.Replicas != nil {
		return c.Mode + "×" + strconv.Itoa(c.Replicas.Count)
	}
	return c.Mode
}

// writeScaleoutText adds run.Scaleout to the text summary: one line per
// replica count with its throughput, per replica, efficiency (never
// clipped) and n.
func writeScaleoutText(w io.Writer, run *results.Run) {
	for _, so := range run.Scaleout {
		fmt.Fprintf(w, "\nscale-out %s × %d cameras (window: %s):", so.Mode, so.Cameras, so.Window)
		for _, p := range so.Points {
			eff := "-"
			if p.Efficiency != nil {
				eff = fmt.Sprintf("%.2f (n=%d)", *p.Efficiency, p.EfficiencyN)
			}
			fmt.Fprintf(w, "\n  n=%d replicas: %.1f cameras/s, %.1f per replica, efficiency %s, %d repetitions / %d cycles, CPU per camera %s, core share per replica %.2f, machine busy %.0f%%",
				p.Replicas, p.Throughput, p.PerReplica, eff, p.N, p.Cycles, results.FormatDuration(time.Duration(p.CPUPerCamera*float64(time.Second))), p.CoreShare, p.CPUMachinePercent)
		}
	}
}
