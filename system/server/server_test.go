package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/system"
)

func validConfig(t *testing.T) system.Config {
	t.Helper()
	cfg, ok := system.DefaultConfig(system.ModeBatched, "http://127.0.0.1:8700")
	if !ok {
		t.Fatal("no batched preset")
	}
	return cfg
}

func TestValidateZeroMeansDefault(t *testing.T) {
	o := Options{Config: validConfig(t)}
	if err := o.Validate(); err != nil {
		t.Fatalf("Options{Config: valid}.Validate() = %v; want nil (zero fields are defaults)", err)
	}
	d := o.withDefaults()
	if d.Listen != DefaultListen || d.Admin != DefaultAdmin || d.DB != DefaultDB ||
		d.BufferSize != DefaultBufferSize || d.ShutdownTimeout != DefaultShutdownTimeout ||
		d.RegistryTimeout != system.DefaultRegistryTimeout || d.Logger == nil {
		t.Errorf("withDefaults() = %+v", d)
	}
}

func TestValidateNamesEveryBadField(t *testing.T) {
	o := Options{Config: validConfig(t), Listen: "nowhere", Admin: "x", ParentPID: -1,
		BufferSize: -1, ShutdownTimeout: -time.Second, RegistryTimeout: -time.Second}
	o.Config.Knobs.Workers = 0
	err := o.Validate()
	var fields []string
	for _, e := range flatten(err) {
		var ce *cfgerr.Error
		if errors.As(e, &ce) {
			fields = append(fields, ce.Field)
		}
	}
	got := strings.Join(fields, ",")
	want := "listen,admin,parent-pid,buffer,shutdown-timeout,registry-timeout,workers"
	if got != want {
		t.Errorf("Validate() fields = %s; want %s (err %v)", got, want, err)
	}
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

func TestWriteReadyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ready.json")
	want := ReadyInfo{API: "http://127.0.0.1:1", Admin: "http://127.0.0.1:2", PID: 42}
	if err := writeReadyFile(path, want); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"api":"http://127.0.0.1:1","admin":"http://127.0.0.1:2","pid":42}`+"\n" {
		t.Errorf("ready file = %q", b)
	}
	var got ReadyInfo
	if err := json.Unmarshal(b, &got); err != nil || got != want {
		t.Errorf("round trip = %+v, %v; want %+v", got, err, want)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".ready-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if err := writeReadyFile(filepath.Join(path, "no", "such", "dir"), want); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}

func TestWatchParent(t *testing.T) {
	o := Options{ParentPID: os.Getppid() + 1, ParentPoll: 20 * time.Millisecond}.withDefaults() // not our parent
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := watchParent(ctx, cancel, o)
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a changed parent did not cancel within 10s")
	}
	<-done

	o.ParentPID = os.Getppid()
	ctx2, cancel2 := context.WithCancel(context.Background())
	done = watchParent(ctx2, cancel2, o)
	time.Sleep(100 * time.Millisecond) // several polls
	if ctx2.Err() != nil {
		t.Fatal("the real parent cancelled the context")
	}
	cancel2()
	<-done
}

func TestWatchStdin(t *testing.T) {
	r, w := io.Pipe()
	o := Options{Stdin: r}.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := watchParent(ctx, cancel, o)
	time.Sleep(20 * time.Millisecond)
	if ctx.Err() != nil {
		t.Fatal("cancelled while stdin is open")
	}
	w.Close()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("EOF on stdin did not cancel within 10s")
	}
	<-done
}
