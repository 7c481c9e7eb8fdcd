package group

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// renewScript extends the lease only while it still holds this replica's
// token, so a replica whose lease expired and was taken never extends the
// new holder's lease. KEYS[1] lease; ARGV[1] token, ARGV[2] ttl in ms.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)

// releaseScript deletes the lease only while it holds this replica's token.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0`)

// lease is the coordinator lease: a key set with SET NX PX, renewed by its
// holder with renewScript. It is safe for concurrent use.
type lease struct {
	rdb   redis.UniversalClient
	key   string
	token string // "<consumer> <random hex>": unique per lease value
	ttl   time.Duration
	now   func() time.Time

	mu      sync.Mutex
	until   time.Time     // the lease is ours until then (zero: not ours)
	elected chan struct{} // closed while the lease is ours
}

func newLease(rdb redis.UniversalClient, key, consumer string, ttl time.Duration) *lease {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &lease{
		rdb:     rdb,
		key:     key,
		token:   consumer + " " + hex.EncodeToString(b[:]),
		ttl:     ttl,
		now:     time.Now,
		elected: make(chan struct{}),
	}
}

// held reports whether the lease is ours now. It turns false by itself
// once the last successful acquire or renew is older than the TTL, even
// when Redis cannot be reached to say so.
func (l *lease) held() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.heldLocked()
}

func (l *lease) heldLocked() bool { return !l.until.IsZero() && l.now().Before(l.until) }

// wait returns a channel closed while the lease is ours.
func (l *lease) wait() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.heldLocked() && !l.until.IsZero() {
		l.lostLocked()
	}
	return l.elected
}

// tick acquires the lease when free and renews it when ours: one round
// trip. The validity is counted from before the command was sent, so the
// local view expires no later than the key in Redis.
func (l *lease) tick(ctx context.Context) error {
	sent := l.now()
	l.mu.Lock()
	ours := l.heldLocked()
	l.mu.Unlock()
	var ok bool
	if !ours {
		// SET NX PX takes a free lease.
		var err error
		if ok, err = l.rdb.SetNX(ctx, l.key, l.token, l.ttl).Result(); err != nil {
			return err
		}
	}
	if !ok {
		// Renew ours; this also recovers our own lease after the local
		// view expired while Redis still holds our token.
		n, err := renewScript.Run(ctx, l.rdb, []string{l.key}, l.token, l.ttl.Milliseconds()).Int64()
		if err != nil {
			return err
		}
		ok = n == 1
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if ok {
		if !l.heldLocked() {
			select {
			case <-l.elected:
			default:
				close(l.elected)
			}
		}
		l.until = sent.Add(l.ttl)
	} else if !l.until.IsZero() {
		l.lostLocked()
	}
	return nil
}

// lostLocked records that the lease is no longer ours.
func (l *lease) lostLocked() {
	l.until = time.Time{}
	select {
	case <-l.elected:
		l.elected = make(chan struct{})
	default:
	}
}

// release gives the lease up if it is still ours.
func (l *lease) release(ctx context.Context) error {
	l.mu.Lock()
	l.lostLocked()
	l.mu.Unlock()
	err := releaseScript.Run(ctx, l.rdb, []string{l.key}, l.token).Err()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	return err
}

// holder returns the consumer name of the current coordinator, or "" when
// no replica holds the lease.
func (l *lease) holder(ctx context.Context) (string, error) {
	v, err := l.rdb.Get(ctx, l.key).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	for i := len(v) - 1; i >= 0; i-- {
		if v[i] == ' ' {
			return v[:i], nil
		}
	}
	return v, nil
}
