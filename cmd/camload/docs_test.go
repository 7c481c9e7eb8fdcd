package main

import (
	"context"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDocsCommands keeps docs/github-actions.md honest: every camload
// subcommand it shows exists and every --flag it passes is one the
// subcommand has.
func TestDocsCommands(t *testing.T) {
	b, err := os.ReadFile("../../docs/github-actions.md")
	if err != nil {
		t.Fatal(err)
	}
	// Join continued lines, then find "camload[-x] SUB args…".
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	cmdRE := regexp.MustCompile(`camload(?:-head|-base)? (run|report|gate|compare)\b([^\n|;&]*)`)
	flagRE := regexp.MustCompile(`(?:^|\s)--([a-z][a-z-]*)`)
	a := &app{ctx: context.Background(), stdout: io.Discard, stderr: io.Discard}
	root := newRoot(a)
	seen := 0
	for _, m := range cmdRE.FindAllStringSubmatch(text, -1) {
		cmd, _, err := root.Find([]string{m[1]})
		if err != nil || cmd == root {
			t.Errorf("docs: camload %s is not a subcommand", m[1])
			continue
		}
		for _, fm := range flagRE.FindAllStringSubmatch(m[2], -1) {
			if cmd.Flags().Lookup(fm[1]) == nil {
				t.Errorf("docs: camload %s has no flag --%s (in %q)", m[1], fm[1], strings.TrimSpace(m[0]))
			}
		}
		seen++
	}
	if seen < 8 {
		t.Errorf("docs: found %d camload commands; the pattern no longer matches the document", seen)
	}
}
