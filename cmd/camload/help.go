package main

import (
	"embed"
	"strings"
)

// helpFiles are the long descriptions and examples of the subcommands,
// help/NAME.txt and help/NAME.example.txt: documentation, kept out of the
// wiring.
//
//go:embed help/*.txt
var helpFiles embed.FS

// help returns help/NAME.txt without its final newline.
func help(name string) string {
	b, err := helpFiles.ReadFile("help/" + name + ".txt")
	if err != nil {
		panic("camload: no help/" + name + ".txt") // a build mistake, caught by every test
	}
	return strings.TrimSuffix(string(b), "\n")
}
