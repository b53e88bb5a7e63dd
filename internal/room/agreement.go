package room

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"hearth/internal/protocol"
)

// The group agreement: every room has guidelines — its own text, or
// Hearth's default — that a member accepts before joining. Facilitators
// need not accept. An acceptance is of one version of the text; when the
// text changes, members accept again.

//go:embed guidelines.md
var guidelinesFile string

var (
	defaultGuidelines        = normalizeGuidelines(guidelinesFile)
	defaultGuidelinesVersion = GuidelinesVersion(defaultGuidelines)
)

// MaxGuidelinesRunes is the longest group agreement a facilitator may set,
// in code points after trimming and NFC normalization.
const MaxGuidelinesRunes = 8000

// Agreement records that a member accepted the group agreement: which
// version (see GuidelinesVersion) and when (UTC).
type Agreement struct {
	Version string    `json:"version"`
	At      time.Time `json:"at"`
}

// DefaultGuidelines returns Hearth's default group agreement (the embedded
// guidelines.md, trimmed, in NFC): plain text in short paragraphs and "- "
// bullets, about 300 words, covering confidentiality, respect, passing,
// observing, what the service keeps and for how long, the crisis check, and
// the crisis lines.
func DefaultGuidelines() string { return defaultGuidelines }

// GuidelinesVersion returns the version of a group agreement text: the
// first 16 lowercase hex characters (8 bytes) of the SHA-256 of the text in
// NFC. Equal texts have equal versions on every node and across restarts;
// any change to the text changes it.
func GuidelinesVersion(text string) string {
	sum := sha256.Sum256([]byte(norm.NFC.String(text)))
	return hex.EncodeToString(sum[:8])
}

// CurrentGuidelines returns the room's group agreement — its own text, or
// DefaultGuidelines when it has none — and that text's version.
func (r *Room) CurrentGuidelines() (text, version string) {
	if r.Guidelines == "" {
		return defaultGuidelines, defaultGuidelinesVersion
	}
	return r.Guidelines, GuidelinesVersion(r.Guidelines)
}

func normalizeGuidelines(text string) string { return strings.TrimSpace(norm.NFC.String(text)) }

// Guidelines returns the room's current group agreement: text and version
// (anyone on the roster or facilitating, but not a banned member). Errors:
// not_found (no such room, or not one of its people), banned.
func (s *Service) Guidelines(ctx context.Context, a Actor, id string) (text, version string, err error) {
	r, _, err := s.Get(ctx, a, id)
	if err != nil {
		return "", "", err
	}
	text, version = r.CurrentGuidelines()
	return text, version, nil
}

// SetGuidelines sets the room's group agreement (facilitators only): text
// is trimmed and put in NFC, and must be at most MaxGuidelinesRunes code
// points with no control characters but tab and line breaks. An empty text,
// or one equal to DefaultGuidelines, restores the default (stored as empty,
// so the room follows later changes of the default). Setting the text the
// room already has changes nothing and is not audited. Otherwise every
// member's earlier acceptance stops being current, so each accepts again at
// their next join. Audited as "set_guidelines" — never the text. Errors:
// forbidden, banned, not_found (no such room, or not one of its people),
// invalid_request.
func (s *Service) SetGuidelines(ctx context.Context, a Actor, id, text string) (Room, error) {
	if len(text) > 4*MaxGuidelinesRunes*4 {
		return Room{}, invalid("The group agreement can be at most %d characters long.", MaxGuidelinesRunes)
	}
	text = normalizeGuidelines(text)
	if utf8.RuneCountInString(text) > MaxGuidelinesRunes {
		return Room{}, invalid("The group agreement can be at most %d characters long.", MaxGuidelinesRunes)
	}
	for _, r := range text {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return Room{}, invalid("The group agreement cannot contain control characters.")
		}
	}
	if text == defaultGuidelines {
		text = ""
	}
	changed := false
	r, err := s.updateIfChanged(ctx, id, func(r *Room) (bool, error) {
		changed = false
		if _, err := s.authorize(r, a, facilitates); err != nil {
			return false, err
		}
		if r.Guidelines == text {
			return false, nil
		}
		r.Guidelines, changed = text, true
		return true, nil
	})
	if protocol.AsError(err).Code == protocol.CodeNotMember {
		return Room{}, protocol.Err(protocol.CodeNotFound) // not the join path: a missing room is not_found
	}
	if err != nil {
		return Room{}, err
	}
	if changed {
		s.audit(ctx, id, a.UserID, "set_guidelines", "")
	}
	return r, nil
}

// Accept records that userID accepts the room's group agreement at version,
// as a join carrying "agree" does. Facilitators need not accept: for them
// it returns the room and writes nothing. For a member whose acceptance is
// of the current version it writes nothing either, whatever version says
// (a reconnect need not send "agree"). Otherwise, when version is the
// current version, it records {version, now} in Agreements, in one
// UpdateRoom; when it is not (empty, an old version after the text changed,
// anything else), it returns agreement_required carrying the current text
// and version (protocol.Error.Guidelines) for the client to show.
// Errors: agreement_required, not_member (also for a missing room), banned,
// unavailable.
func (s *Service) Accept(ctx context.Context, id, userID, version string) (Room, error) {
	me := s.memberID(id, userID)
	return s.updateIfChanged(ctx, id, func(r *Room) (bool, error) {
		role, err := s.person(r, userID)
		if err != nil {
			return false, err
		}
		if role.Facilitates() {
			return false, nil
		}
		text, current := r.CurrentGuidelines()
		if r.Agreements[me].Version == current {
			return false, nil
		}
		if version != current {
			return false, protocol.AgreementRequired(text, current)
		}
		if r.Agreements == nil {
			r.Agreements = map[string]Agreement{}
		}
		r.Agreements[me] = Agreement{Version: current, At: s.now().UTC().Truncate(time.Millisecond)}
		return true, nil
	})
}

// AgreementStatus is one roster member's standing with the group
// agreement, as facilitators see it.
type AgreementStatus struct {
	MemberID    string
	DisplayName string    // from Room.Names; empty if they have not chosen one
	Version     string    // the version they accepted; empty if never
	Current     bool      // Version is the room's current version
	At          time.Time // when they accepted (UTC); zero if never
}

// Agreements lists, for every member on the roster in roster order, which
// version of the group agreement they accepted and whether it is the
// current one (facilitators only). Errors: not_found (no such room, or not
// one of its people), banned, forbidden.
func (s *Service) Agreements(ctx context.Context, a Actor, id string) ([]AgreementStatus, error) {
	r, role, err := s.Get(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if !role.Facilitates() {
		return nil, protocol.Err(protocol.CodeForbidden)
	}
	_, current := r.CurrentGuidelines()
	out := make([]AgreementStatus, 0, len(r.Roster))
	for _, u := range r.Roster {
		m := s.memberID(id, u)
		ag := r.Agreements[m]
		out = append(out, AgreementStatus{MemberID: m, DisplayName: r.Names[m], Version: ag.Version,
			Current: ag.Version != "" && ag.Version == current, At: ag.At})
	}
	return out, nil
}
