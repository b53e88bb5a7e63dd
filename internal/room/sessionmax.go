package room

import (
	"context"
	"time"
)

// SystemActor is the audit log's actor for what the server does by itself
// (a session reaching its maximum length).
const SystemActor = "system"

// EndAtMax ends the session that started at startedAt because it reached
// the maximum session length (HEARTH_SESSION_MAX), whatever alerts are open:
// the buffer of its messages expires then anyway. It reports false, changing
// nothing, when that session has already ended or another one is open. The
// audit log records it with actor SystemActor.
func (s *Service) EndAtMax(ctx context.Context, id string, startedAt time.Time) (Room, bool, error) {
	ended := false
	r, err := s.store.UpdateRoom(ctx, id, func(r *Room) error {
		ended = false
		if sessionOpen(r) && r.Session.StartedAt.Equal(startedAt) {
			r.Phase = PhaseEnded
			r.Session = &Session{StartedAt: r.Session.StartedAt, PlannedEnd: r.Session.PlannedEnd, Waiting: r.Session.Waiting}
			ended = true
		}
		return nil
	})
	if err == nil && ended {
		_ = s.store.AppendAudit(ctx, id, AuditEntry{Actor: SystemActor, Action: "session_max", At: s.now().UTC()})
	}
	return r, ended, storeErr(err)
}
