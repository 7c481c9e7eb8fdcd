package group

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"
)

// TestLeaseTakeover: one replica holds the lease; a coordinator that stops
// renewing (its connection cut, so it cannot release either) loses it to
// another once the TTL passes; a coordinator that stops cleanly releases
// it at once.
func TestLeaseTakeover(t *testing.T) {
	forEach(t, func(t *testing.T, s server) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		name := groupName(t, s)
		l := newLedger()
		aClient := s.client(t)
		// A 3 s lease: with testOptions' 1 s, a renewal delayed past the
		// TTL on a busy machine under -race let the key lapse (CI
		// failure: Coordinator() = "" while a still ran).
		opts := func(consumer string) Options {
			o := testOptions(name, consumer)
			o.LeaseTTL = 3 * time.Second
			return o
		}
		a := start(t, aClient, opts("a"), l.handler("a", 0))
		if err := a.WaitCoordinator(ctx); err != nil {
			t.Fatal(err)
		}
		b := start(t, s.client(t), opts("b"), l.handler("b", 0))
		// b competes for several renewal periods without getting it.
		ttl := a.Options().LeaseTTL
		deadline := time.Now().Add(2 * ttl)
		for time.Now().Before(deadline) {
			if b.IsCoordinator() {
				t.Fatal("b became coordinator while a renews its lease")
			}
			time.Sleep(ttl / 10)
		}
		if who, err := b.Coordinator(ctx); err != nil || who != "a" {
			t.Fatalf("Coordinator() = %q, %v; want a", who, err)
		}

		// a stops renewing.
		if err := aClient.Close(); err != nil {
			t.Fatal(err)
		}
		s.elapse(ttl)
		if err := b.WaitCoordinator(ctx); err != nil {
			t.Fatal("b never took over:", err)
		}
		if who, err := b.Coordinator(ctx); err != nil || who != "b" {
			t.Errorf("Coordinator() after takeover = %q, %v; want b", who, err)
		}
		for a.IsCoordinator() { // a's own view expires by its clock
			if !sleep(ctx, ttl/10) {
				t.Fatal("a still believes it is coordinator after its TTL")
			}
		}
		if err := a.stop(); err == nil {
			t.Error("a's Run = nil with its client closed; want the release error")
		}

		// b stops cleanly: c takes over without waiting for the TTL.
		c := start(t, s.client(t), opts("c"), l.handler("c", 0))
		if err := b.stop(); err != nil {
			t.Fatal(err)
		}
		if err := c.WaitCoordinator(ctx); err != nil {
			t.Fatal("c never took over after b released the lease:", err)
		}
	})
}

// TestLeaseRenewsOnlyOwn: a lease whose key was taken by another replica
// is not extended by its former holder, and the local view of a lease
// expires by the clock when renewals stop.
func TestLeaseRenewsOnlyOwn(t *testing.T) {
	forEach(t, func(t *testing.T, s server) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		key := prefix(groupName(t, s)) + "coordinator"
		c := s.client(t)
		const ttl = 10 * time.Second
		one := newLease(c, key, "one", ttl)
		two := newLease(c, key, "two", ttl)
		if err := one.tick(ctx); err != nil || !one.held() {
			t.Fatalf("one.tick() = %v, held %t; want the free lease taken", err, one.held())
		}
		select {
		case <-one.wait():
		default:
			t.Error("one.wait() not closed while one holds the lease")
		}
		if err := two.tick(ctx); err != nil || two.held() {
			t.Fatalf("two.tick() = %v, held %t; want one's lease left alone", err, two.held())
		}

		// The key expires and two takes it; one's renewal must fail.
		if err := c.Del(ctx, key).Err(); err != nil {
			t.Fatal(err)
		}
		if err := two.tick(ctx); err != nil || !two.held() {
			t.Fatalf("two.tick() on a free lease = %v, held %t", err, two.held())
		}
		if err := c.PExpire(ctx, key, time.Second).Err(); err != nil {
			t.Fatal(err)
		}
		if err := one.tick(ctx); err != nil || one.held() {
			t.Fatalf("one.tick() = %v, held %t; want the renewal refused", err, one.held())
		}
		if pttl, err := c.PTTL(ctx, key).Result(); err != nil || pttl > time.Second {
			t.Errorf("PTTL after one's renewal attempt = %s, %v; want ≤ 1s (not extended)", pttl, err)
		}
		if v, err := c.Get(ctx, key).Result(); err != nil || v != two.token {
			t.Errorf("lease value = %q, %v; want two's token", v, err)
		}
		select {
		case <-one.wait():
			t.Error("one.wait() closed after one lost the lease")
		default:
		}
		if err := one.release(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := c.Exists(ctx, key).Result(); err != nil || n != 1 {
			t.Errorf("one.release() removed two's lease (EXISTS = %d, %v)", n, err)
		}

		// two's view expires by its clock without Redis saying so.
		var mu sync.Mutex
		now := time.Now()
		two.mu.Lock()
		two.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		two.mu.Unlock()
		if !two.held() {
			t.Fatal("two lost the lease early")
		}
		mu.Lock()
		now = now.Add(ttl)
		mu.Unlock()
		if two.held() {
			t.Error("two.held() = true a TTL after its last renewal")
		}
	})
}

// TestOptions: zero values take the documented defaults; bad values are
// errors naming the field.
func TestOptions(t *testing.T) {
	t.Parallel()
	o, err := Options{Name: "fleet"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := Options{Name: "fleet", Stream: "camload:{fleet}:jobs", Group: DefaultGroup, Consumer: o.Consumer,
		ClaimIdle: DefaultClaimIdle, LeaseTTL: DefaultLeaseTTL, Block: DefaultBlock, Batch: DefaultBatch,
		Workers: DefaultWorkers, Retention: DefaultRetention}
	if o.Consumer == "" || o.OnError != nil {
		t.Errorf("defaults: Consumer %q, OnError set %t; want a generated name, no OnError", o.Consumer, o.OnError != nil)
	}
	if o.OnError = nil; !reflect.DeepEqual(o, want) {
		t.Errorf("Options{Name: fleet}.withDefaults() = %+v; want %+v", o, want)
	}
	for _, tc := range []struct {
		o     Options
		field string
	}{
		{Options{}, "group"},                                                // name missing
		{Options{Name: "a{b}"}, "group"},                                    // hash tag braces
		{Options{Name: "a", Block: time.Microsecond}, "group.block"},        // below 1ms
		{Options{Name: "a", LeaseTTL: time.Millisecond}, "group.lease-ttl"}, // below 3ms
		{Options{Name: "a", ClaimIdle: -time.Second}, "group.claim-idle"},   // negative
		{Options{Name: "a", Retention: -1}, "group.retention"},              // negative
		{Options{Name: "a", Batch: -1}, "group.batch"},                      // negative
		{Options{Name: "a", Workers: -2}, "group.workers"},                  // negative
	} {
		_, err := tc.o.withDefaults()
		if err == nil || !containsField(err, tc.field) {
			t.Errorf("%+v.withDefaults() = %v; want an error for %s", tc.o, err, tc.field)
		}
	}
	if _, err := New(nil, Options{Name: "a"}, func(context.Context, Job) error { return nil }); err == nil {
		t.Error("New(nil client) succeeded")
	}
}
