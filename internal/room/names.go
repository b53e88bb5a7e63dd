package room

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/mtibben/confusables"
	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"

	"hearth/internal/protocol"
)

// Display names are per room: each person chooses one when they join
// (protocol.NormalizeDisplayName decides which strings are names at all),
// and Room.Names keeps it, by member id, for as long as they belong to the
// group. A room refuses a name that is a reserved word or a facilitator's
// name (name_reserved), or that another person of the room has
// (name_taken). "The same name" is decided by SameName.

// reservedNames are refused as a whole name, for everyone, facilitators
// included (the role shown beside a name comes from Member.Role, never from
// the name). Each names a role or an authority that people in a support
// group would trust to speak for the group or for the service: a member
// using it could mislead people at a vulnerable moment. Variants in case,
// spacing, punctuation and look-alike letters ("Co Facilitator",
// "ADM1N", "Suppοrt-Team" with a Greek ο) are caught by SameName, so the
// list holds one spelling of each.
var reservedNames = []string{
	"facilitator", "co-facilitator", "moderator", "admin", "administrator", "host",
	"hearth", "system", "support team", "staff", "therapist", "counselor", "counsellor",
}

// reservedWords are refused as any word of a name too ("Sam (facilitator)",
// "Admin Kim", "Hearth Support"): the role titles and the service's own
// name, which no ordinary name contains as a word. "host", "system" and
// "staff" are not here: they are words of real names.
var reservedWords = []string{"facilitator", "moderator", "admin", "administrator", "hearth"}

// NameKey returns the key under which two display names are the same name
// regardless of case and of look-alike characters: the UTS #39 (Unicode
// Security Mechanisms, section 4, "Confusable Detection") skeleton of the
// name's NFKC case fold. In order: NFKC (fullwidth, ligature, mathematical
// and other compatibility forms become plain ones: "Ｌｅｅ", "𝐋𝐞𝐞" → "Lee");
// Default_Ignorable_Code_Point characters removed (as UTS #39 prescribes
// since Unicode 15.1); combining marks removed after NFD (dropMarks: "Lée"
// and "Lee" are one name); full case folding; the skeleton, which maps each
// character to its confusables.txt prototype (Cyrillic "е" → "e", digit
// "0" → "O", "1" → "l", "m" → "rn"; data of Unicode 13, from
// github.com/mtibben/confusables); case folding and skeleton again (a
// prototype may be a capital: "0" → "O" → "o"), then NFKC; finally white
// space and punctuation are removed ("Dr.  Lee", "Dr Lee", "dr.lee" are one
// name; "co-facilitator" is "cofacilitator"), unless the name is made of
// punctuation alone, which keeps its punctuation.
//
// So "Dr. Lee", "dr. lee", "Dr. Lее" (Cyrillic е) and "Dr.  Lee" share a
// key, and "Facilitat0r" (digit zero) has the key of "facilitator": zero
// and capital O are confusable in UTS #39, and a member calling themselves
// "Facilitat0r" is exactly the impersonation the rule is for.
//
// The key is for comparison only: never shown, logged or stored.
func NameKey(name string) string {
	s := dropMarks(dropIgnorable(norm.NFKC.String(name)))
	s = confusables.Skeleton(cases.Fold().String(s))
	s = confusables.Skeleton(cases.Fold().String(s))
	return compact(norm.NFKC.String(s))
}

// visualKey is the skeleton of the name as written, before any case
// folding: folding first turns a capital that looks like a Latin letter
// into a small letter that does not (Cyrillic "Т", "Н", "В", Greek "Κ",
// "Ν", Latin "I" against "l"), so NameKey alone would let "Κate" (Greek
// Kappa) pass for "Kate", or "AIex" for "Alex". Two names with the same
// visualKey look the same as written.
func visualKey(name string) string {
	s := dropMarks(dropIgnorable(norm.NFKC.String(name)))
	return compact(norm.NFKC.String(confusables.Skeleton(s)))
}

// SameName reports whether two display names count as the same name in a
// room: the same NameKey (equal ignoring case, spacing, punctuation and
// look-alike small letters), or the same skeleton as written (look-alike
// capitals). No single key can do both — case folding and the confusable
// mapping disagree on capitals such as "I", whose small form is "i" but
// whose look-alike is "l" — hence two comparisons.
func SameName(a, b string) bool {
	return NameKey(a) == NameKey(b) || visualKey(a) == visualKey(b)
}

// dropIgnorable removes Default_Ignorable_Code_Point characters.
func dropIgnorable(s string) string {
	return strings.Map(func(r rune) rune {
		if protocol.IsDefaultIgnorable(r) {
			return -1
		}
		return r
	}, s)
}

// dropMarks removes combining marks (Mn, Me) after canonical
// decomposition, so that a name with an accent or a dot added ("Dr. Lée",
// "Dr. Leẹ", "Alex́") compares equal to the name without it: to someone
// reading quickly they are the same name. (Two people named "Renée" and
// "Renee" in one group would be told apart with difficulty too.)
func dropMarks(s string) string {
	return norm.NFC.String(strings.Map(func(r rune) rune {
		if unicode.In(r, unicode.Mn, unicode.Me) {
			return -1
		}
		return r
	}, norm.NFD.String(s)))
}

// compact removes white space and punctuation, unless nothing would be
// left, in which case it removes only white space.
func compact(s string) string {
	out := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsPunct(r) {
			return -1
		}
		return r
	}, s)
	if out != "" {
		return out
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// reservedKeys holds NameKey and visualKey of every reserved name and word
// as written in lower case, Title case and UPPER case, so that the visual
// comparison sees "ADM1N" (digit one) as "ADMIN".
var reservedKeys = func() (k struct{ names, words map[string]bool }) {
	k.names, k.words = map[string]bool{}, map[string]bool{}
	add := func(m map[string]bool, w string) {
		for _, v := range []string{w, cases.Title(language.Und).String(w), strings.ToUpper(w)} {
			m[NameKey(v)], m[visualKey(v)] = true, true
		}
	}
	for _, w := range reservedNames {
		add(k.names, w)
	}
	for _, w := range reservedWords {
		add(k.words, w)
	}
	return k
}()

// reserved reports whether name is a reserved name, or has a reserved word
// among its words (split at white space and punctuation).
func reserved(name string) bool {
	if reservedKeys.names[NameKey(name)] || reservedKeys.names[visualKey(name)] {
		return true
	}
	words := strings.FieldsFunc(norm.NFKC.String(name), func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) })
	return slices.ContainsFunc(words, func(w string) bool { return reservedKeys.words[NameKey(w)] || reservedKeys.words[visualKey(w)] })
}

// DisplayName returns the display name memberID chose in this room: their
// Names entry, else the name they gave at the door if they wait in the
// lobby (a Waiting entry from before names were kept in Names), else "".
func (r *Room) DisplayName(memberID string) string {
	if n, ok := r.Names[memberID]; ok {
		return n
	}
	if r.Session != nil {
		for _, w := range r.Session.Waiting {
			if w.MemberID == memberID {
				return w.DisplayName
			}
		}
	}
	return ""
}

// people returns the member ids of the room's facilitators and of its
// roster.
func (s *Service) people(r *Room) (facilitators, members map[string]bool) {
	facilitators, members = map[string]bool{}, map[string]bool{}
	for _, u := range r.Facilitators {
		facilitators[s.memberID(r.ID, u)] = true
	}
	for _, u := range r.Roster {
		members[s.memberID(r.ID, u)] = true
	}
	return facilitators, members
}

// person checks that userID belongs to the room and is not banned, and
// returns their role. Errors: not_member, banned.
func (s *Service) person(r *Room, userID string) (Role, error) {
	role := r.RoleOf(userID)
	if role == RoleNone {
		return RoleNone, protocol.Err(protocol.CodeNotMember)
	}
	if !role.Facilitates() && slices.Contains(r.Banned, s.memberID(r.ID, userID)) {
		return RoleNone, protocol.Err(protocol.CodeBanned)
	}
	return role, nil
}

// ClaimName makes name userID's display name in room id, in one
// store.UpdateRoom so that two people claiming look-alike names at once on
// two nodes cannot both win. The name is normalized and checked by
// protocol.NormalizeDisplayName first; then, for members and facilitators
// alike, it is refused when it is a reserved name or has a reserved word
// (name_reserved), when it is the same name (SameName) as a facilitator's
// other than the caller's own (name_reserved), and when it is the same name
// as anyone else's in the room (name_taken) — except that a facilitator's
// first name in the room wins over a member's (see ClaimNameReleasing). A
// person may change their own name, including to a variant of it ("sam" →
// "Sam"). Claiming the name one already has changes nothing: no write, the
// version stays.
//
// It returns the room as stored; the name is Names[memberID], normalized.
// A claimed name replaces any copy in the lobby (Waiting.DisplayName is
// cleared: read names through Room.DisplayName). Entries of people no
// longer in the room are dropped on the way.
//
// Errors: the name codes above and name_empty, name_too_long,
// name_invalid_char, name_invisible; not_member (not on the roster, not a
// facilitator, or no such room); banned; unavailable.
func (s *Service) ClaimName(ctx context.Context, id, userID, name string) (Room, error) {
	r, _, err := s.ClaimNameReleasing(ctx, id, userID, name)
	return r, err
}

// ClaimNameReleasing is ClaimName, and also returns the member ids whose
// names the claim released. A facilitator's name is theirs in the room
// before they first join, even though the room learns it only then: when a
// facilitator who has no name in the room yet claims the same name as
// members have, the members' names are released (deleted from Names) and
// the facilitator gets the name, instead of name_taken. Those members must
// choose another name at their next join (the hub takes them out of the
// room now), and the release is audited as "release_name" (actor: the
// facilitator, target: the member). A facilitator who already has a name
// in the room gets name_taken, like anyone: only the first claim releases.
func (s *Service) ClaimNameReleasing(ctx context.Context, id, userID, name string) (Room, []string, error) {
	name, perr := protocol.NormalizeDisplayName(name)
	if perr != nil {
		return Room{}, nil, perr
	}
	me := s.memberID(id, userID)
	var released []string
	r, err := s.updateIfChanged(ctx, id, func(r *Room) (bool, error) {
		released = nil
		role, err := s.person(r, userID)
		if err != nil {
			return false, err
		}
		if reserved(name) {
			return false, protocol.Err(protocol.CodeNameReserved)
		}
		_, named := r.Names[me]
		firstFacilitatorClaim := role.Facilitates() && !named
		facilitators, members := s.people(r)
		for _, m := range slices.Sorted(maps.Keys(r.Names)) {
			if m == me || (!facilitators[m] && !members[m]) {
				continue
			}
			if SameName(name, r.Names[m]) {
				switch {
				case facilitators[m]:
					return false, protocol.Err(protocol.CodeNameReserved)
				case !firstFacilitatorClaim:
					return false, protocol.Err(protocol.CodeNameTaken)
				}
				released = append(released, m)
			}
		}
		changed := r.Names[me] != name || len(released) > 0
		for m := range r.Names {
			if !facilitators[m] && !members[m] || slices.Contains(released, m) {
				delete(r.Names, m)
				changed = true
			}
		}
		if r.Session != nil {
			for i := range r.Session.Waiting {
				if w := &r.Session.Waiting[i]; w.MemberID == me && w.DisplayName != "" {
					w.DisplayName, changed = "", true
				}
			}
		}
		if !changed {
			return false, nil
		}
		if r.Names == nil {
			r.Names = map[string]string{}
		}
		r.Names[me] = name
		return true, nil
	})
	if err != nil {
		return Room{}, nil, err
	}
	for _, m := range released {
		s.audit(ctx, id, userID, ActionReleaseName, m)
	}
	return r, released, nil
}

// ActionReleaseName is the audit action of a facilitator's first name in a
// room releasing a member's same name (see ClaimNameReleasing).
const ActionReleaseName = "release_name"

// forget deletes what the room keeps about a person who no longer belongs
// to it: their display name, their acceptance of the group agreement, and
// their place (and name) in the lobby. Every path that takes someone off
// the roster or out of the facilitators calls it.
func (s *Service) forget(r *Room, userID string) {
	m := s.memberID(r.ID, userID)
	delete(r.Names, m)
	delete(r.Agreements, m)
	if r.Session != nil {
		r.Session.Waiting = slices.DeleteFunc(r.Session.Waiting, func(w Waiting) bool { return w.MemberID == m })
	}
}

// errUnchanged aborts an UpdateRoom whose fn found nothing to change, so
// that nothing is written and the version stays.
var errUnchanged = errors.New("room: nothing to change")

// updateIfChanged applies fn to room id, writing only when fn reports a
// change: fn returns (false, nil) to leave the room as it is, and must not
// have changed anything when it returns false or an error. fn first runs on
// a plain read (no write at all when nothing is to change), then, if it
// changes something, in UpdateRoom, where it may run again on fresh copies.
// A missing room is not_member: the callers are on the join path.
func (s *Service) updateIfChanged(ctx context.Context, id string, fn func(*Room) (bool, error)) (Room, error) {
	r, err := s.store.Room(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Room{}, protocol.Err(protocol.CodeNotMember)
	}
	if err != nil {
		return Room{}, storeErr(err)
	}
	changed, err := fn(&r)
	if err != nil {
		return Room{}, err
	}
	if !changed {
		return r, nil
	}
	var same Room
	out, err := s.store.UpdateRoom(ctx, id, func(cur *Room) error {
		changed, err := fn(cur)
		if err == nil && !changed {
			same, err = *cur, errUnchanged
		}
		return err
	})
	switch {
	case errors.Is(err, errUnchanged):
		return same, nil
	case errors.Is(err, ErrNotFound):
		return Room{}, protocol.Err(protocol.CodeNotMember)
	}
	return out, storeErr(err)
}
