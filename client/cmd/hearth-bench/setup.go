package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"hearth/client"
)

// Roles in tokens (the server's protocol.RoleMember and RoleFacilitator).
const (
	roleMember      = "member"
	roleFacilitator = "facilitator"
)

// sessionMinutes is the planned length given to start_session: the
// protocol's largest (240). Nothing ends a session by itself at its planned
// end; the run ends the sessions it started.
const sessionMinutes = 240

// restTimeout bounds one REST call during setup.
const restTimeout = 30 * time.Second

// maxRESTAnswer bounds a REST answer read, in bytes.
const maxRESTAnswer = 1 << 20

// minter signs tokens the way `go run ./server token` does: HS256, with sub,
// role, iat and exp, and iss and aud when the server is configured with
// HEARTH_JWT_ISSUER and HEARTH_JWT_AUDIENCE.
type minter struct {
	secret           []byte
	issuer, audience string
	ttl              time.Duration
}

// tokenClaims are the claims the server reads (see docs/protocol.md,
// Identity).
type tokenClaims struct {
	Role string `json:"role,omitempty"`
	jwt.RegisteredClaims
}

// mint returns a token for user sub with role, valid for m.ttl from now.
func (m minter) mint(sub, role string) (string, error) {
	now := time.Now()
	c := tokenClaims{Role: role, RegisteredClaims: jwt.RegisteredClaims{
		Subject:   sub,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(m.ttl)),
		Issuer:    m.issuer,
	}}
	if m.audience != "" {
		c.Audience = jwt.ClaimStrings{m.audience}
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(m.secret)
	if err != nil {
		return "", fmt.Errorf("mint a token: %w", err)
	}
	return tok, nil
}

// runID returns a random id (12 hex characters) that prefixes every user id
// of one run, so that runs against one store never share users.
func runID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// rest is a small client of the REST API of one node (see the README's
// REST section): JSON over HTTP with a bearer token.
type rest struct {
	http *http.Client
	base string // http://host:port
}

// call makes one REST call and decodes a 2xx JSON answer into out (nil to
// ignore it). An error answer in the API's shape is returned as a wrapped
// *client.ServerError. Errors never carry the token.
func (r rest) call(ctx context.Context, method, path, token string, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, restTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: encode: %w", method, path, err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxRESTAnswer))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct {
			Error client.ServerError `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error.Code != "" {
			return fmt.Errorf("%s %s: HTTP %d: %w", method, path, resp.StatusCode, &e.Error)
		}
		return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not the expected JSON: %w", method, path, err)
	}
	return nil
}

// createRoom creates a room as the facilitator holding token (POST
// /api/rooms), with room for capacity members and no waiting room, and
// puts users on its roster (POST /api/rooms/{id}/members). It returns the
// room's id, chosen by the server.
func (r rest) createRoom(ctx context.Context, token, name string, capacity int, users []string) (string, error) {
	var created struct {
		ID string `json:"id"`
	}
	body := map[string]any{"name": name, "kind": "support", "capacity": capacity, "waiting_room": false}
	if err := r.call(ctx, http.MethodPost, "/api/rooms", token, body, &created); err != nil {
		return "", fmt.Errorf("create a room: %w", err)
	}
	if created.ID == "" {
		return "", errors.New("create a room: the answer has no id")
	}
	for _, u := range users {
		if err := r.call(ctx, http.MethodPost, "/api/rooms/"+created.ID+"/members", token, map[string]string{"user_id": u}, nil); err != nil {
			return "", fmt.Errorf("add a member to room %s: %w", created.ID, err)
		}
	}
	return created.ID, nil
}

// restBase returns the REST base URL (http://host:port) of a node's
// WebSocket URL.
func restBase(wsURL string) (string, error) {
	b, err := client.HTTPBase(wsURL)
	if err != nil {
		return "", fmt.Errorf("node URL: %w", err)
	}
	return strings.TrimRight(b, "/"), nil
}
