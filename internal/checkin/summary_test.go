package checkin

import (
	"testing"
	"time"
)

func TestTrendOf(t *testing.T) {
	cases := []struct {
		moods []int
		ok    bool
		slope float64
		dir   Direction
		count int
	}{
		{nil, false, 0, "", 0},
		{[]int{3}, false, 0, "", 0},
		{[]int{2, 4}, true, 2, Rising, 2},
		{[]int{4, 4}, true, 0, Steady, 2},
		{[]int{1, 2, 2}, true, 0.5, Rising, 3},
		{[]int{2, 3, 2}, true, 0, Steady, 3},
		{[]int{3, 2, 1, 1}, true, -0.7, Falling, 4},
		{[]int{1, 2, 3, 4, 5}, true, 1, Rising, 5},
		{[]int{5, 4, 3, 2, 1}, true, -1, Falling, 5},
		{[]int{3, 3, 3, 3, 4}, true, 0.2, Steady, 5},  // one step up at the end: still steady
		{[]int{4, 3, 3, 3, 3}, true, -0.2, Steady, 5}, // one step down at the start
		{[]int{3, 3, 3, 4, 4}, true, 0.3, Rising, 5},
		{[]int{5, 1, 5, 1, 5}, true, 0, Steady, 5},
		{[]int{1, 1, 5, 4, 3, 2, 1}, true, -1, Falling, 5},      // only the last five count
		{[]int{5, 5, 5, 5, 4, 4, 3, 3}, true, -0.5, Falling, 5}, // 5,4,4,3,3
	}
	for _, tc := range cases {
		tr, ok := TrendOf(tc.moods)
		if ok != tc.ok || tr.Slope != tc.slope || tr.Direction != tc.dir || tr.Count != tc.count {
			t.Errorf("TrendOf(%v) = %+v, %v; want slope %v %s over %d, %v", tc.moods, tr, ok, tc.slope, tc.dir, tc.count, tc.ok)
		}
	}
}

// A known series: the figures of each member's line are worked out by hand.
func TestSummarize(t *testing.T) {
	day := 24 * time.Hour
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	now := start.Add(5*day + 2*day + 3*time.Hour) // 2 days 3 hours after u1's last
	ci := func(id, user string, mood int, at time.Time) CheckIn {
		return CheckIn{ID: id, UserID: user, Mood: mood, Visibility: VisibilityFacilitators, Rooms: []string{"r1"}, CreatedAt: at}
	}
	// Given out of order, as a store page may be.
	series := []CheckIn{
		ci("c4", "u1", 4, start.Add(3*day)),
		ci("c1", "u1", 2, start),
		ci("c6", "u1", 5, start.Add(5*day)),
		ci("c3", "u1", 3, start.Add(2*day)),
		ci("c2", "u1", 3, start.Add(1*day)),
		ci("c5", "u1", 5, start.Add(4*day)),
		ci("d1", "u2", 1, now.Add(-30*time.Hour)),
		ci("x1", "u4", 1, now.Add(-time.Hour)), // not a member any more
		// Two at the same millisecond: the id decides which is latest.
		ci("e1", "u5", 4, now.Add(-time.Minute)),
		ci("e2", "u5", 2, now.Add(-time.Minute)),
	}
	members := map[string]string{"u1": "m1", "u2": "m2", "u3": "m3", "u4": "m4", "u5": "m5"}
	got := Summarize([]string{"m3", "m1", "m2", "m5"}, series, func(u string) string { return members[u] }, now)

	if len(got) != 4 || got[0].MemberID != "m3" || got[1].MemberID != "m1" || got[2].MemberID != "m2" || got[3].MemberID != "m5" {
		t.Fatalf("members %+v, want m3, m1, m2, m5 in that order", got)
	}
	if m3 := got[0]; m3.Count != 0 || m3.Latest != nil || m3.Trend != nil || m3.CrisisAlert {
		t.Errorf("m3 (no check-ins) = %+v", m3)
	}
	// m1: moods 2,3,3,4,5,5; the trend is over the last five, 3,3,4,5,5:
	// x̄=2, ȳ=4, Σ(x−x̄)(y−ȳ) = (−2)(−1)+(−1)(−1)+0+1·1+2·1 = 6, Σ(x−x̄)² = 10.
	m1 := got[1]
	if m1.Count != 6 || m1.Latest == nil || m1.Latest.ID != "c6" || m1.Latest.Mood != 5 || m1.DaysSinceLast != 2 {
		t.Errorf("m1 = %+v (latest %+v)", m1, m1.Latest)
	}
	if m1.Trend == nil || *m1.Trend != (Trend{Count: 5, Slope: 0.6, Direction: Rising}) {
		t.Errorf("m1 trend = %+v, want 0.6 rising over 5", m1.Trend)
	}
	m2 := got[2]
	if m2.Count != 1 || m2.Latest == nil || m2.Latest.Mood != 1 || m2.DaysSinceLast != 1 || m2.Trend != nil {
		t.Errorf("m2 = %+v", m2)
	}
	m5 := got[3]
	if m5.Latest == nil || m5.Latest.ID != "e2" || m5.DaysSinceLast != 0 || m5.Trend == nil || m5.Trend.Slope != -2 {
		t.Errorf("m5 = %+v (latest %+v, trend %+v)", m5, m5.Latest, m5.Trend)
	}
}
