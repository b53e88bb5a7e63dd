package node

import (
	"context"
	"time"

	"hearth/internal/hub"
	"hearth/internal/limit"
)

// limits is what the hub needs of internal/limit's Memory and Redis.
type limits interface {
	AllowAll(ctx context.Context, user string, buckets []limit.Bucket) (time.Duration, error)
	Acquire(ctx context.Context, user, connID string, most int, ttl time.Duration) (bool, error)
	Refresh(ctx context.Context, live map[string][]string, ttl time.Duration) error
	Release(ctx context.Context, user, connID string) error
}

// hubLimits gives the hub a limit implementation as a hub.Limiter: the
// hub declares its own Bucket (it does not import internal/limit), the
// same fields as limit.Bucket.
type hubLimits struct{ limits }

// AllowAll asks the limits about the hub's buckets (see hub.Limiter).
func (l hubLimits) AllowAll(ctx context.Context, user string, buckets []hub.Bucket) (time.Duration, error) {
	var arr [2]limit.Bucket
	lb := arr[:0]
	for _, b := range buckets {
		lb = append(lb, limit.Bucket(b))
	}
	return l.limits.AllowAll(ctx, user, lb)
}
