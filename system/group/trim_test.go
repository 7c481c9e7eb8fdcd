package group

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestTrim: Trim deletes exactly the entries below the lowest pending one
// (or, with none pending, up to the last delivered one) and never a job
// still pending or undelivered.
func TestTrim(t *testing.T) {
	forEach(t, func(t *testing.T, s server) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		name := groupName(t, s)
		c := s.client(t)
		r, err := New(c, Options{Name: name}, func(context.Context, Job) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if n, err := r.Trim(ctx); err != nil || n != 0 {
			t.Fatalf("Trim() on a missing stream = %d, %v; want 0, nil", n, err)
		}
		if err := r.ensureGroup(ctx); err != nil {
			t.Fatal(err)
		}
		stream, group := r.Options().Stream, r.Options().Group
		var ids []string
		for _, cam := range cameraIDs(10) {
			id, err := c.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []string{"cycle", "1", "camera", cam}}).Result()
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if _, err := c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "x", Streams: []string{stream, ">"}, Count: 6, Block: -1}).Result(); err != nil {
			t.Fatal(err)
		}
		// Delivered: 0..5; acknowledged: 0, 1, 3; pending: 2, 4, 5.
		if err := c.XAck(ctx, stream, group, ids[0], ids[1], ids[3]).Err(); err != nil {
			t.Fatal(err)
		}
		if n, err := r.Trim(ctx); err != nil || n != 2 {
			t.Errorf("Trim() with entry 2 pending = %d, %v; want 2 (entries 0 and 1)", n, err)
		}
		if err := c.XAck(ctx, stream, group, ids[2], ids[4], ids[5]).Err(); err != nil {
			t.Fatal(err)
		}
		if n, err := r.Trim(ctx); err != nil || n != 4 {
			t.Errorf("Trim() with nothing pending = %d, %v; want 4 (entries 2..5)", n, err)
		}
		got, err := c.XRange(ctx, stream, "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 || got[0].ID != ids[6] {
			t.Errorf("stream after Trim = %d entries from %v; want the 4 undelivered from %s", len(got), got, ids[6])
		}
	})
}

// TestResumeOwnPending: a replica restarted under the same consumer name
// processes the jobs it held before at once, without waiting ClaimIdle.
func TestResumeOwnPending(t *testing.T) {
	forEach(t, func(t *testing.T, s server) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		name := groupName(t, s)
		o := testOptions(name, "x")
		o.ClaimIdle = time.Hour // no takeover in this test
		started := make(chan struct{}, 1)
		first := start(t, s.client(t), o, func(ctx context.Context, j Job) error {
			select {
			case started <- struct{}{}:
			default:
			}
			<-ctx.Done()
			return ctx.Err()
		})
		if err := first.WaitCoordinator(ctx); err != nil {
			t.Fatal(err)
		}
		cams := cameraIDs(3)
		id, err := first.Enqueue(ctx, cams)
		if err != nil {
			t.Fatal(err)
		}
		<-started
		if err := first.stop(); err != nil {
			t.Fatal(err)
		}
		l := newLedger()
		second := start(t, s.client(t), o, l.handler("x", 0))
		sum, err := second.Wait(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		l.checkOnce(t, id, cams)
		if sum.Reclaimed != 0 || sum.Processed["x"] != 3 {
			t.Errorf("Wait = %+v; want 3 processed by x, none reclaimed", sum)
		}
	})
}
