// Package static holds Hearth's embedded web client: a plain HTML, CSS and
// ES-module page (no build step, no third-party code) that speaks protocol
// hearth.v1 over the WebSocket at /ws. It is written to run under
// Content-Security-Policy: default-src 'self' — no inline scripts or styles.
//
// The client reads its sign-in token from the URL fragment
// (/#token=…&room=…), removes the fragment at once and keeps everything in
// memory only.
package static

import "embed"

// FS holds the web client files at its root, ready for
// http.FileServerFS(static.FS): index.html (served at /), the ES modules
// app.js (the user interface), connection.js (socket, auth, request ids,
// reply routing, reconnect), room.js (per-room state) and dom.js (text-only
// DOM helpers), style.css and favicon.svg.
//
//go:embed index.html app.js connection.js room.js dom.js style.css favicon.svg
var FS embed.FS
