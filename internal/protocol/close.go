package protocol

// CloseCode is a WebSocket close status code (RFC 6455 section 7.4) as Hearth
// uses it. Every code is either "reconnect" (the client should reconnect with
// backoff and resume) or "final" (reconnecting would fail the same way; the
// client stops and tells the person). docs/protocol.md has the same table.
type CloseCode int

// Close codes Hearth sends. 1000–1015 are RFC 6455 codes; 4000–4499 are
// Hearth's final codes and 4500–4999 Hearth's reconnect codes, so that a
// client can classify a code it does not know by its range.
const (
	CloseNormal          CloseCode = 1000 // final: the client or server ended the connection on purpose
	CloseGoingAway       CloseCode = 1001 // reconnect: the endpoint is going away
	CloseProtocolError   CloseCode = 1002 // final: the peer broke the WebSocket protocol
	CloseMessageTooBig   CloseCode = 1009 // final: a frame exceeded MaxFrameBytes
	CloseInternalError   CloseCode = 1011 // reconnect: an unexpected server fault
	CloseServiceRestart  CloseCode = 1012 // reconnect: the server is restarting (graceful shutdown)
	CloseTryAgainLater   CloseCode = 1013 // reconnect: the client read too slowly and its send queue overflowed
	CloseUnauthorized    CloseCode = 4401 // final: missing, invalid or expired token (also when a connection's token expires unrefreshed), or no auth in time
	CloseTooManyRequests CloseCode = 4429 // final: the connection kept flooding after being told rate_limited
	// CloseTooManyConnections (final) ends a connection refused with
	// too_many_connections: its user already has MaxConnsPerUser open.
	CloseTooManyConnections CloseCode = 4409
)

// Reconnect reports whether a client should reconnect after this close code.
// Codes not in the table are classified by range: 1001, 1005, 1006,
// 1011–1014 and 4500–4999 reconnect; everything else is final.
func (c CloseCode) Reconnect() bool {
	switch {
	case c == CloseGoingAway, c == 1005, c == 1006:
		return true
	case c >= 1011 && c <= 1014:
		return true
	case c >= 4500 && c <= 4999:
		return true
	}
	return false
}

// Reason returns the short, fixed reason text sent with the close frame
// (at most 123 bytes by RFC 6455; never dynamic).
func (c CloseCode) Reason() string {
	switch c {
	case CloseNormal:
		return "bye"
	case CloseGoingAway:
		return "going away"
	case CloseMessageTooBig:
		return "frame too large"
	case CloseInternalError:
		return "internal error"
	case CloseServiceRestart:
		return "service restart"
	case CloseTryAgainLater:
		return "slow consumer"
	case CloseUnauthorized:
		return "unauthorized"
	case CloseTooManyRequests:
		return "too many requests"
	case CloseTooManyConnections:
		return "too many connections"
	}
	return ""
}
