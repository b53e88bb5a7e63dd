package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// A -tokens file holds the run's tokens instead of minting them with
// HEARTH_JWT_SECRET, for deployments whose tokens come from an identity
// provider (RS256 or ES256 through a JWKS: the servers hold no shared
// secret). One token a line, "ROLE TOKEN", ROLE facilitator or member;
// blank lines and lines starting with # are ignored. The run takes the
// first -rooms facilitator tokens (room i's lead facilitator: the i-th)
// and the first -rooms × -members member tokens (room 0's members, then
// room 1's, …). A member's user id, which goes on the roster, is the
// token's sub claim, read without verifying the token (the servers verify
// it). Errors name the file and the line, never a token.

// maxTokenBytes is the longest token the server accepts, in bytes:
// protocol.MaxTokenBytes, which this command may not import, so it must be
// kept in step by hand.
const maxTokenBytes = 4 << 10

// maxTokenLine bounds a line of a -tokens file, in bytes: room for a role,
// spaces and a token somewhat longer than the server accepts, so that such
// a token is refused as too long, by its size.
const maxTokenLine = 2 * maxTokenBytes

// fileToken is one token of a -tokens file that the run uses. Its String
// and GoString leave the token out, so that printing a config (%v, %+v,
// %#v) never prints a token.
type fileToken struct {
	Line int       // the line of the file, from 1
	Role string    // roleFacilitator or roleMember
	Sub  string    // the user id: the token's sub claim, not verified
	Exp  time.Time // the token's exp claim
	raw  string    // the token itself
}

// String describes t without its token or user id.
func (t fileToken) String() string { return fmt.Sprintf("%s token (line %d)", t.Role, t.Line) }

// GoString is String, for %#v.
func (t fileToken) GoString() string { return t.String() }

// tokenFile is what the run takes from a -tokens file.
type tokenFile struct {
	Path         string
	Facilitators []fileToken // one per room, in room order
	Members      []fileToken // -members per room, room 0's first
}

// readTokenFile reads the -tokens file at path for a run of rooms rooms of
// members members that may last until end. It checks every line (ROLE
// TOKEN, a known role, a JWT with a sub and an exp) and, of the tokens the
// run takes, that no two share a user id, that there are enough and that
// none expires before end. Every error wraps errUsage and names the file
// (and the line when there is one); none carries a token.
func readTokenFile(path string, rooms, members int, end time.Time) (tokenFile, error) {
	tf := tokenFile{Path: path}
	f, err := os.Open(path)
	if err != nil {
		return tokenFile{}, fmt.Errorf("%w: -tokens %s: %w", errUsage, path, err)
	}
	defer f.Close()
	lineErr := func(line int, format string, args ...any) error {
		return usageError("-tokens %s line %d: %s", path, line, fmt.Sprintf(format, args...))
	}
	needFac, needMem := rooms, rooms*members
	nFac, nMem := 0, 0
	users := map[string]int{} // sub → the line of the first token taken for it
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), maxTokenLine)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		// Neither field is ever quoted in an error: a line written the
		// wrong way round would put the token in the role's place.
		fields := strings.Fields(text)
		if len(fields) != 2 {
			return tokenFile{}, lineErr(line, "want ROLE TOKEN (two fields: facilitator or member, then the token), got %d fields", len(fields))
		}
		role, raw := fields[0], fields[1]
		if role != roleFacilitator && role != roleMember {
			return tokenFile{}, lineErr(line, "the role (the first field) must be %s or %s, in lower case", roleFacilitator, roleMember)
		}
		tok, err := parseFileToken(raw)
		if err != nil {
			return tokenFile{}, fmt.Errorf("%w: -tokens %s line %d: %w", errUsage, path, line, err)
		}
		tok.Line, tok.Role = line, role
		take := false
		if role == roleFacilitator {
			nFac++
			take = nFac <= needFac
		} else {
			nMem++
			take = nMem <= needMem
		}
		if !take {
			continue
		}
		if first, dup := users[tok.Sub]; dup {
			return tokenFile{}, lineErr(line, "the same user (sub) as line %d: every connection of the run must be a distinct user (the server's limits are per user)", first)
		}
		users[tok.Sub] = line
		if role == roleFacilitator {
			tf.Facilitators = append(tf.Facilitators, tok)
		} else {
			tf.Members = append(tf.Members, tok)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return tokenFile{}, lineErr(line+1, "longer than %d bytes (the server accepts tokens of at most %d)", maxTokenLine, maxTokenBytes)
		}
		return tokenFile{}, fmt.Errorf("%w: -tokens %s: %w", errUsage, path, err)
	}
	switch {
	case nFac < needFac:
		return tokenFile{}, usageError("-tokens %s has %d facilitator tokens; -rooms %d needs %d (one per room)", path, nFac, rooms, needFac)
	case nMem < needMem:
		return tokenFile{}, usageError("-tokens %s has %d member tokens; -rooms %d × -members %d needs %d", path, nMem, rooms, members, needMem)
	}
	if err := checkExpiry(tf, end); err != nil {
		return tokenFile{}, err
	}
	return tf, nil
}

// parseFileToken decodes raw's claims without verifying its signature (the
// servers verify it) and returns its sub and exp. The server refuses a
// token without either, or longer than maxTokenBytes. Errors never carry
// the token.
func parseFileToken(raw string) (fileToken, error) {
	if len(raw) > maxTokenBytes {
		return fileToken{}, fmt.Errorf("the token is %d bytes; the server accepts at most %d", len(raw), maxTokenBytes)
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); err != nil {
		return fileToken{}, fmt.Errorf("the token is not a JWT: %w", err)
	}
	sub, err := claims.GetSubject()
	if err != nil || sub == "" {
		return fileToken{}, errors.New("the token has no sub claim (its user id)")
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return fileToken{}, errors.New("the token has no exp claim; the server refuses such tokens")
	}
	return fileToken{Sub: sub, Exp: exp.Time, raw: raw}, nil
}

// checkExpiry refuses tokens that expire before end, the planned end of
// the run: the server closes a connection when its token expires, and a
// member could not reconnect. The error names the token that expires
// first, and by how much it falls short.
func checkExpiry(tf tokenFile, end time.Time) error {
	var first *fileToken
	short := 0
	for _, list := range [][]fileToken{tf.Facilitators, tf.Members} {
		for i := range list {
			t := &list[i]
			if !t.Exp.Before(end) {
				continue
			}
			short++
			if first == nil || t.Exp.Before(first.Exp) {
				first = t
			}
		}
	}
	if first == nil {
		return nil
	}
	others := ""
	if short > 1 {
		others = fmt.Sprintf(" (and %d more of the tokens the run takes)", short-1)
	}
	return usageError("-tokens %s line %d: the token expires %s before the planned end of the run%s, %s from now (setup, then -warmup + -duration + -drain for each step); give tokens valid that long, or plan a shorter run",
		tf.Path, first.Line, end.Sub(first.Exp).Round(time.Second), others, time.Until(end).Round(time.Second))
}
