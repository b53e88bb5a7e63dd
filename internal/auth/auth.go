// Package auth verifies bearer tokens (JWT: Hearth's own HS256 tokens, and
// an identity provider's RS256, ES256 and EdDSA tokens checked against a
// public key file or a JWKS), mints Hearth's own, and derives member ids,
// the pseudonymous per-room identifiers that stand for a user in front of
// other people.
package auth

import (
	"cmp"
	"context"
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
	// without sub or exp, of an unknown role, of the wrong iss/aud, or
	// naming a kid the JWKS does not hold.
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
	// Secret is the HS256 key, at least MinSecretBytes long. It verifies
	// HS256 tokens (those Hearth mints itself, see Mint) and nothing else.
	Secret []byte
	// Issuer, when set, must equal the token's iss, whatever its algorithm.
	Issuer string
	// Audience, when set, must be one of the token's aud values, whatever
	// its algorithm.
	Audience string
	// PublicKey, when set, is one PEM public key (PKIX, PKCS #1 or a
	// certificate; from the file HEARTH_JWT_PUBLIC_KEY names): an RSA key
	// of at least MinRSABits verifies RS256 tokens, an ECDSA P-256 key
	// ES256, an Ed25519 key EdDSA.
	PublicKey []byte
	// JWKSURL, when set, is an identity provider's JWKS endpoint
	// (HEARTH_JWT_JWKS_URL); RS256, ES256 and EdDSA tokens are verified with
	// the key their kid names (or, without a kid, any key that fits). The
	// Verifier caches it and fetches it again every JWKSRefreshInterval,
	// and when a token names an unknown kid (at most every
	// JWKSUnknownKIDEvery).
	JWKSURL string
	// RoleClaim names the claim that carries the role in tokens signed with
	// PublicKey or a JWKS key: a claim name or a dotted path (see
	// RoleFromClaims); empty means DefaultRoleClaim. HS256 tokens are
	// Hearth's own and always carry it in "role".
	RoleClaim string
	// Logger receives JWKS fetch failures (the URL and the error, nothing
	// from any token). Nil discards them.
	Logger *slog.Logger
}

// Verifier checks tokens. It is safe for concurrent use. One made with a
// JWKSURL runs a goroutine that refreshes the keys: Close stops it.
type Verifier struct {
	cfg       Config
	parser    *jwt.Parser
	fileKey   any    // from Config.PublicKey; nil when unset
	fileAlg   string // the algorithm fileKey verifies
	jwks      *jwks  // nil without Config.JWKSURL
	ctx       context.Context
	cancel    context.CancelFunc
	roleClaim string
}

// NewVerifier returns a Verifier for cfg. Errors: a secret shorter than
// MinSecretBytes, a PublicKey that is not a PEM public key of a supported
// kind and size, or a JWKSURL that does not parse. A JWKS that cannot be
// fetched now is not an error: it is logged at error level and fetched
// again later (see Config.JWKSURL), so a node starts while the identity
// provider is briefly down; KeysLoaded tells whether it has arrived.
func NewVerifier(cfg Config) (*Verifier, error) {
	if len(cfg.Secret) < MinSecretBytes {
		return nil, fmt.Errorf("auth: the JWT secret must be at least %d bytes, got %d", MinSecretBytes, len(cfg.Secret))
	}
	v := &Verifier{cfg: cfg, roleClaim: cmp.Or(cfg.RoleClaim, DefaultRoleClaim)}
	methods := []string{jwt.SigningMethodHS256.Alg()}
	if len(cfg.PublicKey) > 0 {
		key, alg, err := parsePublicKey(cfg.PublicKey)
		if err != nil {
			return nil, err
		}
		v.fileKey, v.fileAlg = key, alg
		methods = append(methods, alg)
	}
	if cfg.JWKSURL != "" {
		log := cfg.Logger
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		ctx, cancel := context.WithCancel(context.Background())
		j, err := newJWKS(ctx, cfg.JWKSURL, log)
		if err != nil {
			cancel()
			return nil, err
		}
		v.ctx, v.cancel, v.jwks = ctx, cancel, j
		methods = append(methods, asymmetricAlgs...)
	} else {
		v.ctx, v.cancel = context.WithCancel(context.Background())
	}
	slices.Sort(methods)
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(slices.Compact(methods)),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(Leeway),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// Close stops the JWKS refresh goroutine, if any, and makes later
// fetches fail; tokens whose keys are cached still verify. It is safe to
// call more than once and returns nil.
func (v *Verifier) Close() error {
	v.cancel()
	if v.jwks != nil {
		v.jwks.transport.CloseIdleConnections()
	}
	return nil
}

// KeysLoaded reports whether the JWKS, when one is configured, has been
// fetched and holds at least one key; true without a JWKS. A false answer
// means nobody with an identity provider's token can sign in yet (tokens
// Hearth mints itself still work).
func (v *Verifier) KeysLoaded(ctx context.Context) bool {
	return v.jwks == nil || v.jwks.loaded(ctx)
}

// keyFor chooses the key for token from its algorithm alone, never from
// its headers' jku, x5u or jwk: HS256 gets Config.Secret; RS256, ES256 and
// EdDSA get the public key file's key and the JWKS's, but only keys whose
// type fits the algorithm. The parser has already refused every other
// algorithm (none included).
func (v *Verifier) keyFor(ctx context.Context, token *jwt.Token) (any, error) {
	alg := token.Method.Alg()
	if alg == jwt.SigningMethodHS256.Alg() {
		return v.cfg.Secret, nil
	}
	var set jwt.VerificationKeySet
	if v.fileKey != nil && alg == v.fileAlg {
		set.Keys = append(set.Keys, v.fileKey)
	}
	var jwksErr error
	if v.jwks != nil {
		keys, err := v.jwks.keys(ctx, token)
		set.Keys, jwksErr = append(set.Keys, keys...), err
	}
	if len(set.Keys) == 0 {
		return nil, errors.Join(errors.New("no key for this token"), jwksErr)
	}
	return set, nil
}

// Verify checks token and returns the identity it carries. Errors wrap
// ErrInvalidToken or ErrExpired. A token that is both forged and expired is
// reported as invalid: the signature is checked before the time claims.
// A token naming a kid the cached JWKS lacks may wait up to
// JWKSFetchTimeout for a fetch; VerifyContext bounds that by ctx too.
func (v *Verifier) Verify(token string) (Identity, error) {
	return v.VerifyContext(v.ctx, token)
}

// VerifyContext is Verify with ctx bounding any JWKS fetch it causes.
func (v *Verifier) VerifyContext(ctx context.Context, token string) (Identity, error) {
	if token == "" || len(token) > protocol.MaxTokenBytes {
		return Identity{}, ErrInvalidToken
	}
	c := jwt.MapClaims{}
	tok, err := v.parser.ParseWithClaims(token, c, func(t *jwt.Token) (any, error) { return v.keyFor(ctx, t) })
	if err != nil {
		// golang-jwt verifies the signature before validating claims, so an
		// expired error here means the signature was good.
		if errors.Is(err, jwt.ErrTokenExpired) && !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
			return Identity{}, fmt.Errorf("%w (%v)", ErrExpired, err)
		}
		return Identity{}, fmt.Errorf("%w (%v)", ErrInvalidToken, err)
	}
	sub, err := c.GetSubject()
	if err != nil || sub == "" {
		return Identity{}, fmt.Errorf("%w (no sub)", ErrInvalidToken)
	}
	exp, err := c.GetExpirationTime()
	if err != nil || exp == nil {
		return Identity{}, fmt.Errorf("%w (no exp)", ErrInvalidToken)
	}
	claim := DefaultRoleClaim // Hearth's own tokens
	if tok.Method.Alg() != jwt.SigningMethodHS256.Alg() {
		claim = v.roleClaim
	}
	role, err := RoleFromClaims(c, claim)
	if err != nil {
		return Identity{}, err
	}
	return Identity{UserID: sub, Role: role, Expires: exp.Time}, nil
}

// claims are the JWT claims Hearth mints.
type claims struct {
	Role string `json:"role,omitempty"`
	jwt.RegisteredClaims
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
