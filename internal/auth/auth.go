// Package auth verifies and mints Hearth's bearer tokens (JWT, HS256) and
// derives member ids, the pseudonymous per-room identifiers that stand for a
// user in front of other people.
package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"hearth/internal/protocol"
)

// MinSecretBytes is the shortest HS256 key accepted, in bytes (32: the size
// of the SHA-256 output, as RFC 7518 section 3.2 requires for HS256).
const MinSecretBytes = 32

// Leeway is the clock skew tolerated when checking exp and nbf.
const Leeway = 10 * time.Second

// Errors returned by Verifier.Verify. Both wrap a *protocol.Error so the
// connection handler can send the code to the client.
var (
	// ErrInvalidToken: malformed, forged, of a refused algorithm, too long,
	// without sub or exp, of an unknown role, or of the wrong iss/aud.
	ErrInvalidToken = protocol.Err(protocol.CodeInvalidToken)
	// ErrExpired: correctly signed but past exp.
	ErrExpired = protocol.Err(protocol.CodeTokenExpired)
)

// Identity is who a verified token says the caller is.
type Identity struct {
	UserID  string    // the token's sub
	Role    string    // protocol.RoleMember, RoleFacilitator or RoleSupervisor
	Expires time.Time // the token's exp
}

// LogValue implements slog.LogValuer: an Identity logs as its role only,
// never the user id or anything else from the token.
func (id Identity) LogValue() slog.Value { return slog.GroupValue(slog.String("role", id.Role)) }

// Config configures a Verifier.
type Config struct {
	// Secret is the HS256 key, at least MinSecretBytes long.
	Secret []byte
	// Issuer, when set, must equal the token's iss.
	Issuer string
	// Audience, when set, must be one of the token's aud values.
	Audience string
}

// Verifier checks tokens. It is safe for concurrent use.
type Verifier struct {
	cfg    Config
	parser *jwt.Parser
}

// NewVerifier returns a Verifier for cfg, or an error if the secret is
// shorter than MinSecretBytes.
func NewVerifier(cfg Config) (*Verifier, error) {
	if len(cfg.Secret) < MinSecretBytes {
		return nil, fmt.Errorf("auth: the JWT secret must be at least %d bytes, got %d", MinSecretBytes, len(cfg.Secret))
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(Leeway),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	return &Verifier{cfg: cfg, parser: jwt.NewParser(opts...)}, nil
}

// claims are the JWT claims Hearth reads.
type claims struct {
	Role string `json:"role,omitempty"`
	jwt.RegisteredClaims
}

// Verify checks token and returns the identity it carries. Errors wrap
// ErrInvalidToken or ErrExpired. A token that is both forged and expired is
// reported as invalid: the signature is checked before the time claims.
func (v *Verifier) Verify(token string) (Identity, error) {
	if token == "" || len(token) > protocol.MaxTokenBytes {
		return Identity{}, ErrInvalidToken
	}
	var c claims
	_, err := v.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) {
		// The key never depends on the token's headers (kid, jku, x5u).
		return v.cfg.Secret, nil
	})
	if err != nil {
		// golang-jwt verifies the signature before validating claims, so an
		// expired error here means the signature was good.
		if errors.Is(err, jwt.ErrTokenExpired) && !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
			return Identity{}, fmt.Errorf("%w (%v)", ErrExpired, err)
		}
		return Identity{}, fmt.Errorf("%w (%v)", ErrInvalidToken, err)
	}
	if c.Subject == "" {
		return Identity{}, fmt.Errorf("%w (no sub)", ErrInvalidToken)
	}
	role := c.Role
	if role == "" {
		role = protocol.RoleMember
	}
	if !slices.Contains([]string{protocol.RoleMember, protocol.RoleFacilitator, protocol.RoleSupervisor}, role) {
		return Identity{}, fmt.Errorf("%w (unknown role)", ErrInvalidToken)
	}
	return Identity{UserID: c.Subject, Role: role, Expires: c.ExpiresAt.Time}, nil
}

// Mint returns an HS256 token for sub with role, valid for ttl from now,
// carrying cfg's issuer and audience when set. It is used by the
// `server token` subcommand and by -dev mode.
func Mint(cfg Config, sub, role string, ttl time.Duration, now time.Time) (string, error) {
	if len(cfg.Secret) < MinSecretBytes {
		return "", fmt.Errorf("auth: the JWT secret must be at least %d bytes", MinSecretBytes)
	}
	if sub == "" {
		return "", errors.New("auth: a token needs a subject (-sub)")
	}
	if role != protocol.RoleMember && role != protocol.RoleFacilitator && role != protocol.RoleSupervisor {
		return "", fmt.Errorf("auth: role must be %q, %q or %q", protocol.RoleMember, protocol.RoleFacilitator, protocol.RoleSupervisor)
	}
	c := claims{Role: role, RegisteredClaims: jwt.RegisteredClaims{
		Subject:   sub,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		Issuer:    cfg.Issuer,
	}}
	if cfg.Audience != "" {
		c.Audience = jwt.ClaimStrings{cfg.Audience}
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(cfg.Secret)
}

// MemberIDs derives member ids. The zero value is not usable; use
// NewMemberIDs.
type MemberIDs struct{ key []byte }

// NewMemberIDs returns a MemberIDs keyed by key. Every node of one
// deployment must use the same key, or one user gets different member ids on
// different nodes. Hearth derives it from the JWT secret (see
// DeriveMemberKey).
func NewMemberIDs(key []byte) MemberIDs { return MemberIDs{key: slices.Clone(key)} }

// DeriveMemberKey derives the member-id key from the JWT secret with a
// domain-separation label, so the secret itself is never used for two
// purposes.
func DeriveMemberKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("hearth member-id key v1"))
	return m.Sum(nil)
}

var memberIDEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// For returns the member id of user in room: 16 characters of lowercase
// Crockford-style base32 of HMAC-SHA256(key, room NUL user), 80 bits. It is
// the same for one user in one room on every node, across tabs, reconnects
// and sessions, and reveals nothing of the user id.
func (m MemberIDs) For(room, user string) string {
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte(room))
	h.Write([]byte{0})
	h.Write([]byte(user))
	return memberIDEncoding.EncodeToString(h.Sum(nil)[:10])
}
