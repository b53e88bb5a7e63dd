package checkin

import (
	"math"
	"slices"
	"time"
)

// TrendWindow is how many of a member's latest check-ins in a room the
// trend is computed over.
const TrendWindow = 5

// TrendThreshold is the least-squares slope, in mood points per check-in,
// at or beyond which a trend is rising (≥ +0.25) or falling (≤ −0.25);
// between the two it is steady. 0.25 is one mood point spread evenly over
// a full window of five check-ins (four steps): a single one-point change
// at the end of five (slope 0.2) is still steady, two such changes are not.
const TrendThreshold = 0.25

// Direction names which way a trend goes.
type Direction string

// Directions of a trend.
const (
	Rising  Direction = "rising"
	Falling Direction = "falling"
	Steady  Direction = "steady"
)

// Trend is the direction of a member's latest moods.
type Trend struct {
	// Count is how many check-ins it is computed over: 2 to TrendWindow.
	Count int
	// Slope is the least-squares slope of mood against the check-in's
	// position in the series (0 for the oldest of the window, 1 for the
	// next, …): mood points per check-in, whatever the time between them,
	// rounded to two decimals. −4 to +4.
	Slope float64
	// Direction is Rising at Slope ≥ TrendThreshold, Falling at Slope ≤
	// −TrendThreshold, and Steady between.
	Direction Direction
}

// TrendOf returns the trend of moods, given oldest first, over the last
// TrendWindow of them, and false with fewer than two (no trend yet). The
// slope is Σ(x−x̄)(y−ȳ) / Σ(x−x̄)² with x = 0, 1, … the position and y the
// mood.
func TrendOf(moods []int) (Trend, bool) {
	if len(moods) > TrendWindow {
		moods = moods[len(moods)-TrendWindow:]
	}
	n := len(moods)
	if n < 2 {
		return Trend{}, false
	}
	var meanX, meanY float64
	for i, m := range moods {
		meanX += float64(i)
		meanY += float64(m)
	}
	meanX /= float64(n)
	meanY /= float64(n)
	var sxy, sxx float64
	for i, m := range moods {
		dx := float64(i) - meanX
		sxy += dx * (float64(m) - meanY)
		sxx += dx * dx
	}
	slope := math.Round(sxy/sxx*100) / 100
	if slope == 0 {
		slope = 0 // no "-0" in JSON
	}
	t := Trend{Count: n, Slope: slope, Direction: Steady}
	switch {
	case slope >= TrendThreshold:
		t.Direction = Rising
	case slope <= -TrendThreshold:
		t.Direction = Falling
	}
	return t, true
}

// Summary is one member's line in a room's summary for its facilitators.
type Summary struct {
	// MemberID is the member's id in the room.
	MemberID string
	// Count is how many check-ins the member has in the room (within the
	// retention).
	Count int
	// Latest is the member's newest check-in in the room; nil when they
	// have none.
	Latest *CheckIn
	// DaysSinceLast is how many whole days (24 hours) have passed between
	// Latest.CreatedAt and the summary's time (0 on the same day; never
	// negative); meaningless when Latest is nil.
	DaysSinceLast int
	// Trend is over the member's last TrendWindow check-ins in the room;
	// nil with fewer than two.
	Trend *Trend
	// CrisisAlert is true when the room has an open (unacknowledged)
	// crisis alert about the member. Summarize leaves it false: the caller
	// fills it from the room's open alerts.
	CrisisAlert bool
}

// Summarize returns a Summary for each member id in members, in that
// order, from checkIns (those of one room, in any order). memberID maps a
// check-in's author (its UserID) to their member id in the room; check-ins
// by anyone not in members are ignored. now is the time the summary is for
// (DaysSinceLast).
func Summarize(members []string, checkIns []CheckIn, memberID func(userID string) string, now time.Time) []Summary {
	byMember := make(map[string][]CheckIn, len(members))
	for _, m := range members {
		byMember[m] = nil
	}
	for _, c := range checkIns {
		m := memberID(c.UserID)
		if cs, ok := byMember[m]; ok {
			byMember[m] = append(cs, c)
		}
	}
	out := make([]Summary, 0, len(members))
	for _, m := range members {
		cs := byMember[m]
		slices.SortFunc(cs, func(a, b CheckIn) int { // oldest first
			switch {
			case a.Cursor().Less(b.Cursor()):
				return -1
			case b.Cursor().Less(a.Cursor()):
				return 1
			}
			return 0
		})
		s := Summary{MemberID: m, Count: len(cs)}
		if len(cs) > 0 {
			latest := cs[len(cs)-1]
			s.Latest = &latest
			s.DaysSinceLast = max(int(now.Sub(latest.CreatedAt)/(24*time.Hour)), 0)
			moods := make([]int, len(cs))
			for i, c := range cs {
				moods[i] = c.Mood
			}
			if t, ok := TrendOf(moods); ok {
				s.Trend = &t
			}
		}
		out = append(out, s)
	}
	return out
}
