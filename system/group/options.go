package group

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/camload/camload/internal/cfgerr"
)

// Defaults of Options: the value a zero field stands for.
const (
	// DefaultGroup is the consumer group when Options.Group is empty.
	DefaultGroup = "replicas"
	// DefaultClaimIdle is Options.ClaimIdle when zero: a job pending that
	// long without a sign of life from its replica is taken over.
	DefaultClaimIdle = 30 * time.Second
	// DefaultLeaseTTL is Options.LeaseTTL when zero.
	DefaultLeaseTTL = 10 * time.Second
	// DefaultBlock is Options.Block when zero.
	DefaultBlock = time.Second
	// DefaultBatch is Options.Batch when zero: one job per read. A worker
	// runs its batch's jobs one after another, so a replica holds up to
	// Workers × Batch jobs at once; with 64 workers and batches of 8 the
	// first two replicas to read could take up to 1024 jobs between them,
	// the whole of a 1000-camera cycle. Measured (scenarios/scaleout.yaml,
	// 3 replicas, 3 cycles of 1000 cameras, a shared 2-core machine):
	// batches of 8 split the 3000 jobs 1320/728/952 (one run), batches of
	// 1 gave every replica 881…1151 of them (5 repetitions); a cycle lasts
	// as long as its busiest replica. One XREADGROUP per job costs a round
	// trip on loopback, far below a camera's fetch and analysis (CPU per
	// camera 6.12 ms at batches of 8, 5.87 ms at 1: no cost seen).
	DefaultBatch = 1
	// DefaultWorkers is Options.Workers when zero.
	DefaultWorkers = 1
	// DefaultRetention is Options.Retention when zero.
	DefaultRetention = 15 * time.Minute
	// MaxErrors is how many failed cameras' error texts a cycle keeps
	// (Summary.Errors); later failures are only counted.
	MaxErrors = 10
)

// Options configure a Replica. Every replica of one group must use the same
// Name, Stream, Group, LeaseTTL and Retention; Consumer must differ.
type Options struct {
	// Name names the group (camload serve --group NAME). Required. Every key
	// the group uses starts with "camload:{Name}:"; the braces are a Redis
	// Cluster hash tag, so all of them live in one slot and the Lua scripts
	// may touch several.
	Name string

	// Stream is the Redis Stream holding the jobs.
	// Zero: "camload:{Name}:jobs". Keep the {Name} hash tag on a cluster.
	Stream string

	// Group is the Redis consumer group the replicas read the stream in.
	// Zero: DefaultGroup.
	Group string

	// Consumer names this replica in the consumer group; it must be unique
	// among the live replicas. Zero: "<hostname>-<pid>-<random hex>".
	Consumer string

	// ClaimIdle is how long a job may sit in another replica's pending list
	// without a sign of life before this replica takes it over with
	// XAUTOCLAIM; the claim pass runs every ClaimIdle/2. A replica refreshes
	// the jobs it holds every ClaimIdle/3, so a slow job of a live replica
	// is not taken over. Zero: DefaultClaimIdle. At least 1ms.
	ClaimIdle time.Duration

	// LeaseTTL is the lifetime of the coordinator lease; the holder renews
	// it every LeaseTTL/3 and others try to take it as often. When the
	// coordinator dies, another replica takes over within LeaseTTL +
	// LeaseTTL/3. Zero: DefaultLeaseTTL. At least 3ms.
	LeaseTTL time.Duration

	// Block is how long one XREADGROUP waits for new jobs. It bounds how
	// long Run takes to return after its context is cancelled. Zero:
	// DefaultBlock. At least 1ms.
	Block time.Duration

	// Batch is how many jobs one worker reads (XREADGROUP COUNT) and one
	// claim pass takes over (XAUTOCLAIM COUNT) at a time. Larger batches
	// save round trips; smaller ones balance a cycle's tail across
	// replicas better. Zero: DefaultBatch.
	Batch int

	// Workers is how many jobs this replica processes at once, each worker
	// reading its own batches. Zero: DefaultWorkers.
	Workers int

	// Retention is how long a cycle's bookkeeping (its summary counters and
	// the set of cameras done, which makes redelivered jobs harmless) is
	// kept in Redis after its last update. Zero: DefaultRetention.
	Retention time.Duration

	// OnError, when set, is called with every Redis error that Run's loops
	// survive (they retry after Block); it is called from Run's goroutines,
	// possibly concurrently. Nil: such errors are only retried.
	OnError func(error)
}

// withDefaults returns o with zero fields replaced by their defaults, or a
// *cfgerr.Error naming the first bad field.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	if o.Name == "" {
		errs = append(errs, cfgerr.Field("group", "a group name is required"))
	} else if strings.ContainsAny(o.Name, "{}") || strings.TrimSpace(o.Name) != o.Name {
		errs = append(errs, cfgerr.Field("group", "%q: a group name must not contain braces or surrounding spaces", o.Name))
	}
	if o.Stream == "" {
		o.Stream = prefix(o.Name) + "jobs"
	}
	if o.Group == "" {
		o.Group = DefaultGroup
	}
	if o.Consumer == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "replica"
		}
		var b [4]byte
		_, _ = rand.Read(b[:])
		o.Consumer = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	durations := []struct {
		field string
		v     *time.Duration
		def   time.Duration
		min   time.Duration
	}{
		{"group.claim-idle", &o.ClaimIdle, DefaultClaimIdle, time.Millisecond},
		{"group.lease-ttl", &o.LeaseTTL, DefaultLeaseTTL, 3 * time.Millisecond},
		{"group.block", &o.Block, DefaultBlock, time.Millisecond},
		{"group.retention", &o.Retention, DefaultRetention, time.Millisecond},
	}
	for _, d := range durations {
		switch {
		case *d.v == 0:
			*d.v = d.def
		case *d.v < d.min:
			errs = append(errs, cfgerr.Field(d.field, "%s: must be at least %s (or zero for the default %s)", *d.v, d.min, d.def))
		}
	}
	ints := []struct {
		field string
		v     *int
		def   int
	}{
		{"group.batch", &o.Batch, DefaultBatch},
		{"group.workers", &o.Workers, DefaultWorkers},
	}
	for _, n := range ints {
		switch {
		case *n.v == 0:
			*n.v = n.def
		case *n.v < 0:
			errs = append(errs, cfgerr.Field(n.field, "%d: must be > 0 (or zero for the default %d)", *n.v, n.def))
		}
	}
	return o, cfgerr.Join(errs...)
}

// prefix is the common start of every key of group name.
func prefix(name string) string { return "camload:{" + name + "}:" }
