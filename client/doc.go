// Package client is a Go client for Hearth's real-time chat protocol v1
// (WebSocket at /ws, subprotocol "hearth.v1", JSON text frames; see
// docs/protocol.md in the Hearth repository).
//
// The package is self-contained: it depends only on the standard library and
// github.com/coder/websocket, and defines its own small wire types, so that a
// third party can copy it out of the repository unchanged.
//
// # Use
//
// [Dial] connects, authenticates and waits for the server's welcome. The
// returned [Client] owns one reader goroutine that splits every server frame
// on '\n' (the server batches several JSON objects into one frame), decodes
// each line into an [Event], hands replies to the request waiting for them,
// and delivers everything else (room events, id-less errors) on
// [Client.Events]. Requests ([Client.Join], [Client.Send], [Client.Leave],
// [Client.Ping], and [Client.Request] for any other frame, such as
// raise_hand) generate their own request ids and return when the reply
// arrives, the context ends, or the connection ends. An error reply from
// the server is returned as a [*ServerError].
//
// # Joining
//
// A member joins a room only once they have accepted its group agreement.
// The first [Client.Join] of someone who has not (or whose room changed its
// text since) fails with a [*ServerError] of code "agreement_required"
// whose Guidelines hold the text and its version: show the text to the
// person, and if they accept, Join again with [JoinOptions].Agree set to the
// version. The server remembers the acceptance until the text changes, so
// later joins (a reconnect, another tab) need no Agree; when it has
// changed, Join fails the same way again. A display name the room refuses
// (codes name_taken, name_reserved, name_invisible, name_invalid_char,
// name_too_long, name_empty) comes with a sentence in Message to show
// before asking for another name.
//
// # Resuming
//
// When a connection drops, the room's events sent meanwhile can be
// recovered. Keep, per room, the [Joined].Epoch and the highest Seq seen (see
// [ResumePoint]); after reconnecting, Join
// with [JoinOptions].ResumeFrom set to them (and [JoinOptions].Hidden to the
// members this person hides, since hides last only as long as a
// connection). [Joined].Resume.Replayed events then follow on
// [Client.Events], in order and exactly once, before live ones; when
// [Joined].Resume.Gap is true, or the Epoch differs from the one resumed
// from, some could not be recovered, and the person should be told so.
// After leaving a room, or once its session has ended, join without
// ResumeFrom.
//
// [Client.Close] ends the connection with close code 1000 and waits for the
// reader goroutine to stop. When the server or the network ends the
// connection, [Client.Done] is closed, [Client.Events] is closed after the
// last event, and [Client.Err] and [Client.CloseStatus] say why; [Reconnect]
// tells whether that close code calls for reconnecting (with backoff) or is
// final.
//
// # Check-ins
//
// Between-session check-ins are REST calls, made without a connection:
// [PostCheckin] posts one (a mood, a note, who may read it, for which
// groups) and returns it as stored, with crisis [Resource]s when its note
// tripped the server's crisis detector; [Moods] returns the mood scale and
// its words; [HTTPBase] turns the WebSocket URL into the REST base URL.
//
// # Back-pressure
//
// Events are delivered on a channel with room for [EventBuffer] events (or
// [Options].EventBuffer). When
// it is full the reader goroutine waits for the consumer rather than drop
// anything: replies behind the waiting event are delayed too, and the server
// stops being read, so a consumer that stalls for long is eventually
// disconnected by the server: close code 1013 (try again later) when its
// send queue overflows, or a dropped connection (1006) when WebSocket pings
// go unanswered. The client's own heartbeat check (see ErrHeartbeatTimeout)
// is paused while it waits for the consumer. Drain Events promptly, in its
// own loop.
//
// # Privacy
//
// The package never logs. Error values carry close codes, error codes and
// the server's sentences, never tokens or message text.
package client
