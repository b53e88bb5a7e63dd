package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// Limits of identity-provider keys and of the JWKS fetcher.
const (
	// MinRSABits is the smallest RSA modulus accepted for RS256, in bits,
	// from the public key file and from a JWKS alike.
	MinRSABits = 2048
	// JWKSRefreshInterval is how often the JWKS is fetched again, so that
	// keys the identity provider withdraws stop verifying within this
	// time.
	JWKSRefreshInterval = 15 * time.Minute
	// JWKSUnknownKIDEvery is the least time between two fetches caused by a
	// token whose kid is not in the cached JWKS (a key rotation), so that
	// tokens with made-up kids cannot make Hearth hammer the identity
	// provider.
	JWKSUnknownKIDEvery = time.Minute
	// JWKSFetchTimeout bounds one JWKS fetch, including the first one at
	// start, and how long a token with an unknown kid may wait for one.
	JWKSFetchTimeout = 10 * time.Second
	// JWKSMaxBytes is the largest JWKS response read; a longer one fails
	// to decode and the keys already cached stay in use.
	JWKSMaxBytes = 1 << 20
)

// Asymmetric algorithms accepted with a public key or a JWKS; HS256 is only
// ever verified with Config.Secret.
var asymmetricAlgs = []string{
	jwt.SigningMethodRS256.Alg(),
	jwt.SigningMethodES256.Alg(),
	jwt.SigningMethodEdDSA.Alg(),
}

// keyFits reports whether key may verify a token of alg: RS256 needs an
// RSA key of at least MinRSABits, ES256 an ECDSA P-256 key, EdDSA an
// Ed25519 key. Anything else (an HMAC secret from a JWKS "oct" key above
// all) never fits, so no algorithm can be verified with another's key.
func keyFits(alg string, key any) bool {
	switch alg {
	case jwt.SigningMethodRS256.Alg():
		k, ok := key.(*rsa.PublicKey)
		return ok && k.N != nil && k.N.BitLen() >= MinRSABits
	case jwt.SigningMethodES256.Alg():
		k, ok := key.(*ecdsa.PublicKey)
		return ok && k.Curve == elliptic.P256()
	case jwt.SigningMethodEdDSA.Alg():
		k, ok := key.(ed25519.PublicKey)
		return ok && len(k) == ed25519.PublicKeySize
	}
	return false
}

// CheckPublicKey reports whether pemBytes holds a public key the Verifier
// accepts (see parsePublicKey): config checks HEARTH_JWT_PUBLIC_KEY with it
// before anything starts.
func CheckPublicKey(pemBytes []byte) error {
	_, _, err := parsePublicKey(pemBytes)
	return err
}

// parsePublicKey reads one PEM public key (PKIX "PUBLIC KEY", PKCS #1 "RSA
// PUBLIC KEY" or a certificate) with golang-jwt's helpers and returns it
// with the algorithm it verifies.
func parsePublicKey(pemBytes []byte) (key any, alg string, err error) {
	if k, err := jwt.ParseRSAPublicKeyFromPEM(pemBytes); err == nil {
		key, alg = k, jwt.SigningMethodRS256.Alg()
	} else if k, err := jwt.ParseECPublicKeyFromPEM(pemBytes); err == nil {
		key, alg = k, jwt.SigningMethodES256.Alg()
	} else if k, err := jwt.ParseEdPublicKeyFromPEM(pemBytes); err == nil {
		key, alg = k, jwt.SigningMethodEdDSA.Alg()
	} else {
		return nil, "", errors.New("auth: the JWT public key is not a PEM RSA, ECDSA or Ed25519 public key (a private key is refused: give the identity provider's public key)")
	}
	if !keyFits(alg, key) {
		return nil, "", fmt.Errorf("auth: the JWT public key is too weak or of an unsupported curve (RSA needs at least %d bits, ECDSA P-256)", MinRSABits)
	}
	return key, alg, nil
}

// jwks is a JWKS fetched from an identity provider, cached and refreshed
// by keyfunc/jwkset. Its refresh goroutine ends when the context it was
// made with is done.
type jwks struct {
	kf        keyfunc.Keyfunc
	storage   jwkset.Storage
	transport *http.Transport
}

// newJWKS starts fetching url. The first fetch happens now, bounded by
// JWKSFetchTimeout; when it fails the error is logged and the verifier
// starts anyway (the next refresh, or a token with an unknown kid, tries
// again). It fails only for a URL that does not parse.
func newJWKS(ctx context.Context, url string, log *slog.Logger) (*jwks, error) {
	// Keep-alives off: a fetch every few minutes gains nothing from them,
	// and no idle connection outlives the verifier.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	client := &http.Client{Transport: cappedTransport{tr}, Timeout: JWKSFetchTimeout}
	onError := func(ctx context.Context, err error) {
		if errors.Is(err, context.Canceled) {
			return // the verifier is closing, or a caller gave up
		}
		log.Error("auth: cannot fetch the identity provider's JWKS; tokens signed with keys not yet cached are refused",
			"jwks_url", url, "err", err)
	}
	storage, err := jwkset.NewStorageFromHTTP(url, jwkset.HTTPClientStorageOptions{
		Client:                    client,
		Ctx:                       ctx,
		HTTPTimeout:               JWKSFetchTimeout,
		NoErrorReturnFirstHTTPReq: true,
		RefreshErrorHandler:       onError,
		RefreshInterval:           JWKSRefreshInterval,
	})
	if err != nil {
		return nil, fmt.Errorf("auth: JWKS URL: %w", err)
	}
	combined, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs:          map[string]jwkset.Storage{url: storage},
		RateLimitWaitMax:  JWKSFetchTimeout,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(JWKSUnknownKIDEvery), 1),
	})
	if err != nil {
		return nil, fmt.Errorf("auth: JWKS: %w", err)
	}
	kf, err := keyfunc.New(keyfunc.Options{
		Ctx:     ctx,
		Storage: combined,
		// Keys marked for encryption never verify signatures.
		UseWhitelist: []jwkset.USE{jwkset.UseSig, ""},
	})
	if err != nil {
		return nil, fmt.Errorf("auth: JWKS: %w", err)
	}
	return &jwks{kf: kf, storage: combined, transport: tr}, nil
}

// keys returns the JWKS keys that may verify token: the one its kid names
// (fetching the JWKS again, at most every JWKSUnknownKIDEvery, when the kid
// is unknown), or every key when it has no kid; only keys that fit its
// algorithm.
func (j *jwks) keys(ctx context.Context, token *jwt.Token) ([]jwt.VerificationKey, error) {
	got, err := j.kf.KeyfuncCtx(ctx)(token)
	if err != nil {
		return nil, err
	}
	alg := token.Method.Alg()
	var out []jwt.VerificationKey
	switch k := got.(type) {
	case jwt.VerificationKeySet:
		for _, key := range k.Keys {
			if keyFits(alg, key) {
				out = append(out, key)
			}
		}
	default:
		if keyFits(alg, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// loaded reports whether at least one key is cached.
func (j *jwks) loaded(ctx context.Context) bool {
	all, err := j.storage.KeyReadAll(ctx)
	return err == nil && len(all) > 0
}

// cappedTransport reads at most JWKSMaxBytes of a response body.
type cappedTransport struct{ base http.RoundTripper }

func (t cappedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = cappedBody{Reader: io.LimitReader(resp.Body, JWKSMaxBytes), Closer: resp.Body}
	return resp, nil
}

type cappedBody struct {
	io.Reader
	io.Closer
}
