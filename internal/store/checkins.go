package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"hearth/internal/checkin"
)

// DefaultCheckInSweep is how often the bbolt check-in store deletes the
// check-ins whose retention has ended. Reads never return those even
// between sweeps, so the period only bounds how long they stay on disk.
const DefaultCheckInSweep = 10 * time.Minute

// CheckInOptions configure a check-in store (OpenBoltCheckIns,
// NewRedisCheckIns).
type CheckInOptions struct {
	// Retention is how long a check-in is kept after it was posted
	// (HEARTH_CHECKIN_RETENTION); checkin.DefaultRetention when 0.
	Retention time.Duration
	// SweepEvery is how often the bbolt store sweeps expired check-ins
	// away; DefaultCheckInSweep when 0. Redis ignores it: its keys expire
	// by themselves.
	SweepEvery time.Duration
	// Logger hears of failed sweeps (the error only: ids at most, never a
	// note); nil discards.
	Logger *slog.Logger
}

func (o CheckInOptions) withDefaults() CheckInOptions {
	if o.Retention <= 0 {
		o.Retention = checkin.DefaultRetention
	}
	if o.SweepEvery <= 0 {
		o.SweepEvery = DefaultCheckInSweep
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// errBadCheckIn rejects a check-in that New did not make: no id, no author,
// no room or no time.
var errBadCheckIn = errors.New("store: a check-in needs an id, a user id, at least one room and a time")

func checkPut(c checkin.CheckIn) error {
	if !checkin.ValidID(c.ID) || c.UserID == "" || len(c.Rooms) == 0 || c.CreatedAt.IsZero() {
		return errBadCheckIn
	}
	for _, r := range c.Rooms {
		if r == "" {
			return errBadCheckIn
		}
	}
	return nil
}

// cutoffKey returns the sort-key prefix below which check-ins have
// outlived retention at now: a check-in posted at or before now−retention
// (in whole milliseconds) is expired, and its key — its CreatedAt's
// zero-padded milliseconds, then ":" — sorts below this prefix, the next
// millisecond's digits.
func cutoffKey(now time.Time, retention time.Duration) string {
	ms := now.Add(-retention).UnixMilli() + 1
	return fmt.Sprintf("%016d", max(ms, 0))
}

func encodeCheckIn(c checkin.CheckIn) ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("store: encode check-in %s: %w", c.ID, err)
	}
	return b, nil
}

func decodeCheckIn(id string, b []byte) (checkin.CheckIn, error) {
	var c checkin.CheckIn
	if err := json.Unmarshal(b, &c); err != nil {
		// Not wrapped: a syntax error quotes a character of the input,
		// which may be the note's.
		return checkin.CheckIn{}, fmt.Errorf("store: decode check-in %s: the stored JSON is not a check-in", id)
	}
	return c, nil
}

// checkInPage returns limit capped to [0, checkin.MaxStorePage].
func checkInPage(limit int) int { return min(max(limit, 0), checkin.MaxStorePage) }
