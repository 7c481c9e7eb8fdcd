package results

import (
	"encoding/json"
	"testing"
)

func TestSupports(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    int64
		q    float64
		want bool
	}{
		{99, 0.99, false}, // p99 needs 100 samples
		{100, 0.99, true},
		{19, 0.95, false},
		{20, 0.95, true},
		{1, 0.5, false}, // a median of one sample is that sample: shown as max
		{2, 0.5, true},
		{5, 1, true}, // the maximum needs one sample
		{0, 1, false},
	} {
		if got := Supports(tc.n, tc.q); got != tc.want {
			t.Errorf("Supports(%d, %g) = %t; want %t", tc.n, tc.q, got, tc.want)
		}
	}
}

// TestCapacityReadsSchema1 reads a schema-1 capacity (a bare number) as a
// censored lower bound, and a schema-2 object as written.
func TestCapacityReadsSchema1(t *testing.T) {
	t.Parallel()
	var e Endpoint
	if err := json.Unmarshal([]byte(`{"capacity": 4678.1}`), &e); err != nil {
		t.Fatal(err)
	}
	if e.Capacity == nil || e.Capacity.Rate != 4678.1 || !e.Capacity.Censored || e.Capacity.FirstFail != nil {
		t.Fatalf("schema-1 capacity read as %+v; want rate 4678.1, censored, no first fail", e.Capacity)
	}
	ff := 800.0
	in := Endpoint{Capacity: &Capacity{Rate: 400, LastPass: new(float64), FirstFail: &ff, Cap: 1e5, Steps: []CapacityStep{{Rate: 400, Requests: 800, Pass: true, JudgedOn: "p99"}}}}
	*in.Capacity.LastPass = 400
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Endpoint
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Capacity.Censored || *out.Capacity.FirstFail != 800 || len(out.Capacity.Steps) != 1 || out.Capacity.Steps[0].JudgedOn != "p99" {
		t.Fatalf("round trip = %+v; want the bracket as written", out.Capacity)
	}
}

func TestDecodeSchemaVersions(t *testing.T) {
	t.Parallel()
	for _, v := range []int{1, 2} {
		b := []byte(`{"schema": ` + string(rune('0'+v)) + `, "cells": [{"mode": "batched", "cameras": 10}]}`)
		if _, err := Decode(b); err != nil {
			t.Errorf("Decode(schema %d) = %v; want ok", v, err)
		}
	}
	if _, err := Decode([]byte(`{"schema": 3, "cells": []}`)); err == nil {
		t.Error("Decode(schema 3) succeeded; want an error naming the version")
	}
}
