package auth

import (
	"fmt"
	"slices"
	"strings"

	"hearth/internal/protocol"
)

// DefaultRoleClaim is the claim read for the role when Config.RoleClaim is
// empty.
const DefaultRoleClaim = "role"

// rolesByPrivilege lists the Hearth roles a token may carry, most privileged
// first. When an identity provider's role array holds several of them, the
// first in this order wins. A supervisor reads every room's audit log and
// reports and receives reports about facilitators (oversight over all
// rooms), a facilitator creates and leads rooms, a member joins the rooms
// whose roster holds them.
var rolesByPrivilege = []string{protocol.RoleSupervisor, protocol.RoleFacilitator, protocol.RoleMember}

// RoleFromClaims returns the Hearth role (protocol.RoleMember,
// RoleFacilitator or RoleSupervisor) carried by decoded JSON claims (as
// encoding/json decodes them: map[string]any, []any, string).
//
// claim names where the role is: a top-level claim name, or, when no
// top-level claim has that exact name, a dotted path into nested objects
// (Keycloak's "realm_access.roles"). Empty means DefaultRoleClaim. A name
// that itself contains dots (Auth0's "https://hearth.example/roles") is
// found as a top-level claim first.
//
// The value may be:
//   - absent, null, or the empty string: RoleMember;
//   - a string: it must be a Hearth role, or the error wraps ErrInvalidToken;
//   - an array: values that are not Hearth roles (other strings, non-strings)
//     are ignored; of the Hearth roles present the most privileged wins
//     (supervisor, then facilitator, then member); none present: RoleMember.
//
// Any other type (number, boolean, object) is an error wrapping
// ErrInvalidToken. A path that runs through something other than an object
// counts as absent. Matching is exact (case-sensitive).
func RoleFromClaims(claims map[string]any, claim string) (string, error) {
	if claim == "" {
		claim = DefaultRoleClaim
	}
	val, ok := lookupClaim(claims, claim)
	if !ok || val == nil {
		return protocol.RoleMember, nil
	}
	switch v := val.(type) {
	case string:
		if v == "" {
			return protocol.RoleMember, nil
		}
		if !slices.Contains(rolesByPrivilege, v) {
			return "", fmt.Errorf("%w (unknown role)", ErrInvalidToken)
		}
		return v, nil
	case []any:
		return bestRole(v), nil
	case []string: // claims built in Go rather than decoded from JSON
		anys := make([]any, len(v))
		for i, s := range v {
			anys[i] = s
		}
		return bestRole(anys), nil
	default:
		return "", fmt.Errorf("%w (role claim is neither a string nor an array)", ErrInvalidToken)
	}
}

// bestRole returns the most privileged Hearth role among vals, or
// RoleMember when there is none.
func bestRole(vals []any) string {
	for _, r := range rolesByPrivilege {
		for _, v := range vals {
			if s, ok := v.(string); ok && s == r {
				return r
			}
		}
	}
	return protocol.RoleMember
}

// lookupClaim finds name in claims: as a top-level key first, else as a
// dotted path through nested objects.
func lookupClaim(claims map[string]any, name string) (any, bool) {
	if v, ok := claims[name]; ok {
		return v, true
	}
	if !strings.Contains(name, ".") {
		return nil, false
	}
	var cur any = claims
	for _, part := range strings.Split(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}
