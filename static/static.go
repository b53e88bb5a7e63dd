// Package static holds Hearth's embedded web client: a plain HTML, CSS and
// ES-module page (no build step, no third-party code) that speaks protocol
// hearth.v1 over the WebSocket at /ws. It is written to run under
// Content-Security-Policy: default-src 'self' — no inline scripts or styles.
//
// The client reads its sign-in token from the URL fragment
// (/#token=…&room=…), removes the fragment at once and keeps everything in
// memory only; the conversation is cleared from the page when the person
// leaves the room, is removed, or the session ends.
package static

import "embed"

// FS holds the web client files at its root, ready for
// http.FileServerFS(static.FS): index.html (served at /), the ES modules
// app.js (the user interface: screens, joining and the lobby, the table of
// room event handlers, sending), connection.js (socket, auth, request ids,
// reply routing, reconnect), room.js (per-room state: presence, session
// state, facilitator state, private-message threads, the sharing state,
// reaction counts), log.js (the conversation log and the actions on each
// message), people.js (the people list and its per-person actions),
// roomstate.js (phase, session clock,
// lock, slow mode, pinned announcement), notices.js (private notices and
// screen-reader announcements), dms.js (private messages), facilitator.js
// (facilitator tools and the waiting room), crisis.js ("Get help now", the
// crisis resources panel, "I need support", facilitators' crisis alerts),
// share.js (sharing: the mode, raised hands, the floor, Pass, taking part
// or just listening), reactions.js (supportive reactions under messages),
// agreement.js (the group agreement a member accepts before joining),
// checkins.js (between-session check-ins: the #checkin page over REST, and
// check-ins shown live in the room), signin.js (signing in through the
// organisation's identity provider: the session, tickets for the socket,
// the sign-in's end), rest.js (the one way the page calls the REST API
// and reads its errors), dialog.js (confirmations, short forms and longer texts to accept) and
// dom.js (text-only DOM helpers), style.css and favicon.svg; and neutral.html
// with neutral.css, the plain page (no scripts, no name of the app) that
// "Leave quickly" puts in place of the group.
//
//go:embed index.html early.js app.js connection.js room.js log.js people.js roomstate.js notices.js dms.js facilitator.js crisis.js share.js reactions.js agreement.js checkins.js signin.js rest.js dialog.js dom.js style.css favicon.svg neutral.html neutral.css
var FS embed.FS
