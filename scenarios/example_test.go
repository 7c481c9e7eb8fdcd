package scenarios_test

import (
	"fmt"

	"github.com/camload/camload/scenarios"
)

func ExampleLoad() {
	sc, err := scenarios.Load("smoke.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sc.Name, sc.Fleet.Cameras, sc.System.Modes, sc.Cells(), "cells")
	k, _ := sc.KnobsFor("batched")
	fmt.Println(sc.KnobFlags(k))
	// Output:
	// smoke [10 30] [sync batched] 4 cells
	// [--fetch-timeout=2s]
}

func ExampleParse() {
	_, err := scenarios.Parse("x.yaml", []byte("name: x\nfleet:\n  cameras: [100, 0]\n"), nil)
	fmt.Println(err)
	// Output:
	// x.yaml:3: fleet.cameras[1]: must be 1…20000, got 0
}
