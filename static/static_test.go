package static

import (
	"encoding/json"
	"fmt"
	"html"
	"io/fs"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"hearth/internal/checkin"
	"hearth/internal/crisis"
	"hearth/internal/protocol"
)

// clientFiles are every file of the web client; static.go embeds each.
var clientFiles = []string{
	"index.html", "style.css", "favicon.svg",
	"early.js", "app.js", "connection.js", "room.js", "log.js", "people.js", "roomstate.js",
	"notices.js", "dms.js", "facilitator.js", "crisis.js", "share.js", "reactions.js", "agreement.js", "checkins.js", "dialog.js", "dom.js",
	"neutral.html", "neutral.css",
}

func TestFilesPresent(t *testing.T) {
	for _, name := range clientFiles {
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(b) == 0 {
			t.Errorf("%s is empty", name)
		}
	}
}

// Every module a script imports must be embedded too, or the page breaks
// with a 404 that no Go test would otherwise notice.
func TestImportsAreEmbedded(t *testing.T) {
	importRE := regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^;]*?\bfrom\s+'\./([^']+)'`)
	for _, name := range clientFiles {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range importRE.FindAllStringSubmatch(string(b), -1) {
			if _, err := fs.Stat(FS, m[1]); err != nil {
				t.Errorf("%s imports ./%s, which is not embedded: %v", name, m[1], err)
			}
		}
	}
}

// The page is served with Content-Security-Policy: default-src 'self', which
// refuses inline scripts, inline styles and event-handler attributes.
func TestIndexIsCSPClean(t *testing.T) {
	b, err := fs.ReadFile(FS, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, tag := range regexp.MustCompile(`(?i)<script\b[^>]*>`).FindAllString(html, -1) {
		if !strings.Contains(tag, "src=") {
			t.Errorf("inline script: %s", tag)
		}
	}
	if regexp.MustCompile(`(?i)<style\b|\sstyle\s*=|\son[a-z]+\s*=`).MatchString(html) {
		t.Error("index.html has an inline style or event-handler attribute")
	}
	if !strings.Contains(html, `<html lang="en">`) {
		t.Error(`index.html must declare lang="en"`)
	}
}

// Scripts put text from people and the server on the page as text only, and
// never do what the CSP refuses (eval, inline styles).
func TestScriptsAreTextOnlyAndCSPClean(t *testing.T) {
	forbidden := regexp.MustCompile(`\.innerHTML\b|\.outerHTML\b|insertAdjacentHTML|document\.write|\beval\s*\(|new\s+Function\s*\(|\.style\.|setAttribute\(\s*'style'|\.cssText\b|createContextualFragment|\bsetTimeout\(\s*['"]`)
	for _, name := range clientFiles {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			if m := forbidden.FindString(line); m != "" {
				t.Errorf("%s:%d uses %q", name, i+1, m)
			}
		}
	}
}

// Nothing the page shows may outlive the tab: no script uses browser storage
// (crisis resources, alerts and conversations live in memory only).
func TestScriptsStoreNothing(t *testing.T) {
	storage := regexp.MustCompile(`\b(localStorage|sessionStorage|indexedDB|openDatabase)\b|document\.cookie|\bcaches\.open\b|serviceWorker`)
	for _, name := range clientFiles {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			if m := storage.FindString(line); m != "" {
				t.Errorf("%s:%d uses %q", name, i+1, m)
			}
		}
	}
}

// "Get help now" is in the page header (so on every screen), and the panel's
// built-in copy — shown until the server sends its own resources, and even
// when the scripts fail — offers every default resource's links exactly as
// the server's defaults give them, plus 911 for immediate danger.
func TestBuiltInHelpMatchesServerDefaults(t *testing.T) {
	b, err := fs.ReadFile(FS, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	header := page[strings.Index(page, "<header"):strings.Index(page, "</header>")]
	if !strings.Contains(header, `id="help-link"`) || !strings.Contains(header, `href="#help"`) || !strings.Contains(header, ">Get help now<") {
		t.Error(`the page header lacks the "Get help now" link to #help`)
	}
	start, end := strings.Index(page, `<section id="help"`), strings.Index(page, `<main`)
	if start < 0 || end < start {
		t.Fatal(`the help panel must come between the header and <main>, outside every screen`)
	}
	panel := page[start:end]
	links := map[string]string{} // href → its <a> tag
	for _, m := range regexp.MustCompile(`<a\b[^>]*\bhref="([^"]*)"[^>]*>`).FindAllStringSubmatch(panel, -1) {
		links[html.UnescapeString(m[1])] = m[0]
	}
	for _, r := range crisis.DefaultResources() {
		if r.ID != crisis.Resource911 && !strings.Contains(panel, html.EscapeString(r.Name)) {
			t.Errorf("built-in help lacks %q", r.Name)
		}
		for _, a := range r.Actions {
			tag, ok := links[a.Href]
			if !ok {
				t.Errorf("built-in help lacks the link %q (%s)", a.Href, a.Label)
				continue
			}
			if strings.HasPrefix(a.Href, "https:") && (!strings.Contains(tag, `target="_blank"`) || !strings.Contains(tag, `rel="noopener noreferrer"`)) {
				t.Errorf("%s must open in a new tab with rel=\"noopener noreferrer\": %s", a.Href, tag)
			}
		}
	}
	for _, want := range []string{"If you are in immediate danger, call 911.", "TTY 1-800-487-4889", "It is not a crisis counselling line", "Text HOME to 741741"} {
		if !strings.Contains(panel, want) {
			t.Errorf("built-in help lacks %q", want)
		}
	}
}

// Nobody is ever made to share (docs/protocol.md, "Sharing"): the client
// never names another member in raise_hand, lower_hand or set_presence
// (they act on the sender alone), and gives the floor only from the list of
// raised hands. Queue and floor changes are told politely, never assertively.
func TestSharingNeverForces(t *testing.T) {
	selfOnly := regexp.MustCompile(`type:\s*'(raise_hand|lower_hand|set_presence|pass)'`)
	giveFloor := regexp.MustCompile(`type:\s*'give_floor'`)
	for _, name := range clientFiles {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if selfOnly.MatchString(line) && strings.Contains(line, "member_id") {
				t.Errorf("%s:%d names a member in a command that only the member may send for themselves: %s", name, i+1, strings.TrimSpace(line))
			}
			if giveFloor.MatchString(line) && name != "facilitator.js" {
				t.Errorf("%s:%d sends give_floor; only the facilitator tools' list of raised hands may", name, i+1)
			}
		}
	}
	page, err := fs.ReadFile(FS, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	live := regexp.MustCompile(`<p id="share-live"[^>]*>`).FindString(string(page))
	if !strings.Contains(live, `aria-live="polite"`) {
		t.Errorf(`#share-live must be a polite live region, got %q`, live)
	}
}

// readFile returns an embedded file's text.
func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(FS, name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// jsFunction returns the source of the top-level function name in src,
// from "function name(" (async or not) to its closing brace at the start
// of a line.
func jsFunction(t *testing.T, src, file, name string) string {
	t.Helper()
	loc := regexp.MustCompile(`(?m)^(?:export )?(?:async )?function ` + regexp.QuoteMeta(name) + `\(`).FindStringIndex(src)
	if loc == nil {
		t.Fatalf("%s has no top-level function %s", file, name)
	}
	end := strings.Index(src[loc[0]:], "\n}\n")
	if end < 0 {
		t.Fatalf("%s: cannot find the end of function %s", file, name)
	}
	return src[loc[0] : loc[0]+end+2]
}

// The group agreement (docs/protocol.md, "The group agreement"): an
// agreement_required refusal opens the agreement, "I agree and join" joins
// again with agree set to its version, "Not now" goes back to the start
// screen, and a refusal on a re-join after a reconnect shows it again.
func TestAgreementFlow(t *testing.T) {
	app := readFile(t, "app.js")
	agreement := readFile(t, "agreement.js")
	for _, want := range []string{"confirmLabel: 'I agree and join'", "cancelLabel: 'Not now'", "long: true"} {
		if !strings.Contains(agreement, want) {
			t.Errorf("agreement.js lacks %s", want)
		}
	}
	// The text goes in as elements with text, never as markup.
	nodes := jsFunction(t, agreement, "agreement.js", "agreementNodes")
	if !strings.Contains(nodes, "h('p', { text:") || !strings.Contains(nodes, "h('li', { text:") {
		t.Errorf("agreementNodes must build paragraphs and list items with dom.js text:\n%s", nodes)
	}
	refused := jsFunction(t, app, "app.js", "joinRefused")
	for _, want := range []string{"'agreement_required'", "showAgreement(err.guidelines", "agree: version", "onNotNow"} {
		if !strings.Contains(refused, want) {
			t.Errorf("joinRefused (the first join) lacks %s", want)
		}
	}
	rejoin := jsFunction(t, app, "app.js", "rejoin")
	for _, want := range []string{"'agreement_required'", "showAgreement(err.guidelines", "changed: true", "rejoin(version)", "frame.agree = agree", "backToStart()"} {
		if !strings.Contains(rejoin, want) {
			t.Errorf("rejoin (after a reconnect) lacks %s", want)
		}
	}
	if !strings.Contains(jsFunction(t, app, "app.js", "backToStart"), "showScreen('name'") {
		t.Error(`backToStart ("Not now") must show the name screen, where joining starts`)
	}
	conn := readFile(t, "connection.js")
	if !strings.Contains(conn, "details.guidelines") {
		t.Error("ProtocolError must carry the agreement of an agreement_required error")
	}
}

// A refused display name is explained with the server's own sentence next
// to the name field, which gets the focus back; every name code of the
// protocol is known to the page.
func TestNameRefusals(t *testing.T) {
	app := readFile(t, "app.js")
	codes := regexp.MustCompile(`const NAME_CODES = new Set\(\[([^\]]*)\]\)`).FindStringSubmatch(app)
	if codes == nil {
		t.Fatal("app.js has no NAME_CODES")
	}
	for _, c := range []protocol.Code{protocol.CodeNameEmpty, protocol.CodeNameTooLong, protocol.CodeNameInvalidChar,
		protocol.CodeNameInvisible, protocol.CodeNameReserved, protocol.CodeNameTaken} {
		if !strings.Contains(codes[1], "'"+string(c)+"'") {
			t.Errorf("NAME_CODES lacks %s", c)
		}
	}
	refused := jsFunction(t, app, "app.js", "joinRefused")
	if !strings.Contains(refused, "err?.message") || !strings.Contains(refused, "setNameError(text)") || !strings.Contains(refused, "$('name-input').focus()") {
		t.Errorf("joinRefused must show the server's sentence by the name field and focus it:\n%s", refused)
	}
	page := readFile(t, "index.html")
	input := regexp.MustCompile(`<input id="name-input"[^>]*>`).FindString(page)
	if !strings.Contains(input, `aria-describedby="name-hint name-error"`) {
		t.Errorf("the name field must be described by its error: %s", input)
	}
	if !regexp.MustCompile(`<p id="name-error"[^>]*aria-live="polite"`).MatchString(page) {
		t.Error("#name-error must be a polite live region")
	}
}

// The confidentiality reminder is shown once on entering the room (a
// dismissible notice above the conversation), not again on a re-join after
// a reconnect.
func TestConfidentialityReminder(t *testing.T) {
	app := readFile(t, "app.js")
	for _, want := range []string{"'What is shared here stays here.'", "'Messages are not kept after the session.'"} {
		if !strings.Contains(app, want) {
			t.Errorf("app.js lacks the reminder %s", want)
		}
	}
	if enter := jsFunction(t, app, "app.js", "enterRoom"); !strings.Contains(enter, "addNotice({ key: 'confidential'") {
		t.Errorf("enterRoom must add the reminder:\n%s", enter)
	}
	if strings.Count(app, "key: 'confidential'") != 1 {
		t.Error("the reminder must be added in one place only (enterRoom), never on a re-join")
	}
	if strings.Contains(jsFunction(t, app, "app.js", "rejoin"), "confidential") {
		t.Error("rejoin must not repeat the reminder")
	}
}

// When the person is out of the room — they left, were removed or banned,
// or the session ended — the conversation is taken off the page: no
// message text stays in the DOM (the log, private messages, notices quoting
// a reported message, the text boxes, a dialog quoting a message).
func TestConversationClearedWhenOut(t *testing.T) {
	app := readFile(t, "app.js")
	for _, fn := range []string{"leaveRoom", "onRemoved", "onSessionEnded", "enterLobby"} {
		if body := jsFunction(t, app, "app.js", fn); !strings.Contains(body, "leaveLocally()") {
			t.Errorf("%s must clear the conversation (leaveLocally):\n%s", fn, body)
		}
	}
	if !strings.Contains(jsFunction(t, app, "app.js", "leaveLocally"), "clearConversation()") {
		t.Error("leaveLocally must call clearConversation")
	}
	clear := jsFunction(t, app, "app.js", "clearConversation")
	for _, want := range []string{"clearLog()", "clearDms()", "clearNotices()", "$('composer-text').value = ''"} {
		if !strings.Contains(clear, want) {
			t.Errorf("clearConversation lacks %s", want)
		}
	}
	if !strings.Contains(jsFunction(t, app, "app.js", "showScreen"), "closeDialog()") {
		t.Error("leaving the room screen must close the dialog")
	}
	onClose := jsFunction(t, readFile(t, "dialog.js"), "dialog.js", "onClose")
	for _, want := range []string{"'dialog-quote'", "$('dialog-body').replaceChildren()", "$('dialog-fields').replaceChildren()"} {
		if !strings.Contains(onClose, want) {
			t.Errorf("a closed dialog must take its words off the page; onClose lacks %s", want)
		}
	}
	if !strings.Contains(jsFunction(t, readFile(t, "dms.js"), "dms.js", "clearDms"), "$('dm-text').value = ''") {
		t.Error("clearDms must empty the private message box")
	}
}

// "Leave quickly" is in the page header next to "Get help now", on every
// screen, named for screen readers; it (and Escape twice) closes the socket,
// empties the page, forgets the token and replaces the history entry with
// the neutral page — without waiting for the server.
func TestLeaveQuickly(t *testing.T) {
	page := readFile(t, "index.html")
	header := page[strings.Index(page, "<header"):strings.Index(page, "</header>")]
	button := regexp.MustCompile(`<button id="leave-quickly"[^>]*>([^<]*)</button>`).FindStringSubmatch(header)
	if button == nil {
		t.Fatal(`the page header lacks the "Leave quickly" button`)
	}
	if !strings.Contains(button[0], `type="button"`) || !strings.Contains(button[0], `aria-label="Leave quickly: hides this page at once"`) || button[1] != "Leave quickly" {
		t.Errorf("the Leave quickly button must say so and be named for screen readers: %s", button[0])
	}
	if strings.Index(header, `id="help-link"`) > strings.Index(header, `id="leave-quickly"`) {
		t.Error(`"Leave quickly" belongs right after "Get help now"`)
	}

	app := readFile(t, "app.js")
	leave := jsFunction(t, app, "app.js", "leaveQuickly")
	for _, want := range []string{"app.conn?.destroy()", "wipePage(", "app.token = ''", "app.room = null", "location.replace(NEUTRAL_PAGE)"} {
		if !strings.Contains(leave, want) {
			t.Errorf("leaveQuickly lacks %s:\n%s", want, leave)
		}
	}
	// history.replaceState to neutral.html first would make Chromium count the
	// group's earlier entries as the neutral page's own: Back would then show
	// it under the group's address, and a reload would load the group's page.
	if strings.Contains(leave, "replaceState") || strings.Contains(leave, "pushState") {
		t.Error("leaveQuickly must replace the page with location.replace alone")
	}
	if strings.Contains(leave, "await") || strings.Contains(leave, "request(") {
		t.Error("leaveQuickly must not wait for the server")
	}
	if !strings.Contains(app, "const NEUTRAL_PAGE = 'neutral.html';") {
		t.Error("app.js must leave for neutral.html")
	}
	escape := jsFunction(t, app, "app.js", "onEscapeKey")
	for _, want := range []string{"'Escape'", "dialog[open]", "leaveQuickly()"} {
		if !strings.Contains(escape, want) {
			t.Errorf("onEscapeKey lacks %s", want)
		}
	}
	start := jsFunction(t, app, "app.js", "start")
	for _, want := range []string{"$('leave-quickly').addEventListener('click', leaveQuickly)", "addEventListener('keydown', onEscapeKey, true)"} {
		if !strings.Contains(start, want) {
			t.Errorf("start must wire %s", want)
		}
	}
	if !strings.Contains(jsFunction(t, readFile(t, "dom.js"), "dom.js", "wipePage"), "document.body.replaceChildren()") {
		t.Error("wipePage must empty the whole page")
	}
}

// The neutral page says nothing of Hearth or of a support group, runs no
// script, and needs nothing the Content-Security-Policy refuses.
func TestNeutralPage(t *testing.T) {
	page := readFile(t, "neutral.html")
	style := readFile(t, "neutral.css")
	words := regexp.MustCompile(`(?i)hearth|support|group|facilitat|crisis|check-?in|988|favicon|chat`)
	for name, text := range map[string]string{"neutral.html": page, "neutral.css": style} {
		if m := words.FindString(text); m != "" {
			t.Errorf("%s gives away what it hides: %q", name, m)
		}
	}
	if regexp.MustCompile(`(?i)<script\b|<style\b|\sstyle\s*=|\son[a-z]+\s*=|<img\b|<iframe\b|https?:`).MatchString(page) {
		t.Error("neutral.html must be plain: no scripts, inline styles, images, frames or other hosts")
	}
	if !strings.Contains(page, `<html lang="en">`) || !regexp.MustCompile(`<title>[^<]+</title>`).MatchString(page) {
		t.Error(`neutral.html must declare lang="en" and have a title`)
	}
}

// agreementBlocks, run by Node when it is installed: paragraphs, "- "
// bullets and a heading, as plain strings.
func TestAgreementBlocksInNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	text := "Our group agreement\r\n\r\nWelcome. Please read this.\nA second line.\n\nWhat we keep:\n- Messages: <b>not</b> kept.\n  Really.\n- Names: for this group only.\n\n\n<img src=x onerror=alert(1)>"
	arg, _ := json.Marshal(text)
	script := "import { agreementBlocks } from './agreement.js';\nconsole.log(JSON.stringify(agreementBlocks(" + string(arg) + ")));"
	out, err := exec.Command(node, "--input-type=module", "-e", script).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	want := `[{"kind":"heading","text":"Our group agreement"},` +
		`{"kind":"paragraph","text":"Welcome. Please read this.\nA second line."},` +
		`{"kind":"paragraph","text":"What we keep:"},` +
		`{"kind":"list","items":["Messages: <b>not</b> kept.\nReally.","Names: for this group only."]},` +
		`{"kind":"paragraph","text":"<img src=x onerror=alert(1)>"}]`
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("agreementBlocks =\n%s\nwant\n%s", got, want)
	}
}

// Resuming after a dropped connection (docs/protocol.md, "Epoch, seq and
// resuming"): a re-join carries resume_from and the hidden members, a gap
// is told with the calm sentence, the resume point is forgotten when the
// session ends, and nothing of it is kept in the browser.
func TestResumeFlow(t *testing.T) {
	app := readFile(t, "app.js")
	rejoin := jsFunction(t, app, "app.js", "rejoin")
	for _, want := range []string{"room?.resumePoint()", "frame.resume_from = from", "withHidden(", "room.beginResume(reply, from)", "addNote(TEXT.notRecovered, 'note--warn')"} {
		if !strings.Contains(rejoin, want) {
			t.Errorf("rejoin lacks %s", want)
		}
	}
	if !strings.Contains(app, "notRecovered: 'Some messages could not be recovered.'") {
		t.Error("app.js lacks the sentence for a gap")
	}
	if !strings.Contains(jsFunction(t, app, "app.js", "onJoinSubmit"), "withHidden(") {
		t.Error("the first join must carry the hidden members too")
	}
	if !strings.Contains(jsFunction(t, app, "app.js", "onSessionEnded"), "room.forgetResumePoint()") {
		t.Error("onSessionEnded must forget the resume point (facilitators stay in the room)")
	}
	if !strings.Contains(jsFunction(t, app, "app.js", "onMessage"), "room.seenMessages.has(event.message_id)") {
		t.Error("onMessage must not show a message twice")
	}
}

// The resume point of room.js, run by Node when it is installed: the
// joined's seq until events come, then the highest seq seen; during a
// replay the point resumed from (so a drop during it loses nothing), and
// joined's picture once the replay is over; a new epoch is a gap.
func TestResumePointInNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	script := `import { RoomState } from './room.js';
const out = [];
const r = new RoomState('demo');
const p = () => { const x = r.resumePoint(); out.push(x ? x.epoch + '/' + x.seq : '-'); };
p();
const you = { member_id: 'k3v9', display_name: 'Robin', role: 'member' };
r.applyJoined({ you, members: [you] });
r.noteJoined({ epoch: 'e1', seq: 10 });
p();
r.noteSeq(11); p();
let res = r.beginResume({ epoch: 'e1', seq: 15, resume: { replayed: 3, gap: false } }, r.resumePoint());
out.push(JSON.stringify(res)); p();
for (const [seq, gap] of [[12, r.noteSeq(12)], [13, r.noteSeq(13)]]) { out.push(seq + ':' + gap + ':' + (r.replayStep(seq, true) !== null)); }
p();
out.push('14:' + r.noteSeq(14) + ':' + (r.replayStep(14, true) !== null)); p();
out.push('16:' + (r.replayStep(16, false) !== null) + ':' + r.noteSeq(16));
res = r.beginResume({ epoch: 'e1', seq: 30, resume: { replayed: 2, gap: true } }, r.resumePoint());
out.push(JSON.stringify(res) + ':' + r.excuseGap);
out.push('27:' + (r.replayStep(27, false) !== null)); r.noteSeq(27); r.replayStep(27, true);
out.push('31:' + (r.replayStep(31, false) !== null)); r.noteSeq(31); p();
res = r.beginResume({ epoch: 'e2', seq: 4, resume: { replayed: 0, gap: true } }, r.resumePoint());
out.push(JSON.stringify(res)); p();
r.forgetResumePoint(); p();
console.log(out.join(' '));`
	out, err := exec.Command(node, "--input-type=module", "-e", script).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	want := `- e1/10 e1/11 {"gap":false,"replaying":3} e1/11 12:false:false 13:false:false e1/13 14:false:true e1/15 ` +
		`16:false:false {"gap":true,"replaying":2}:true 27:false 31:true e1/31 {"gap":true,"replaying":0} e2/4 -`
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("resume points =\n%s\nwant\n%s", got, want)
	}
}

// The check-in page (README, "Check-ins between sessions"): reachable from
// the start screen and the room (#checkin), it says plainly that check-ins
// are not watched in real time and shows "Get help now" beside the form;
// the moods come from the server, in a fieldset with a legend; the
// confirmation is a polite live region; a refusal is shown next to the
// field it concerns; `resources` in the answer open the crisis panel.
func TestCheckinPage(t *testing.T) {
	page := readFile(t, "index.html")
	for _, want := range []string{
		"Facilitators read check-ins when they can — they are not watched around the clock. If you need help now, use the numbers under “Get help now” on this page.",
		`<section id="screen-checkin"`,
		`<aside id="checkin-help"`,
		`<fieldset id="checkin-moods" class="choice mood-choice"`,
		`<legend class="label">How are you doing?</legend>`,
		`<div id="checkin-done" class="checkin-done" aria-live="polite"></div>`,
		`<input id="checkin-vis-facilitators" type="radio" name="visibility" value="facilitators" checked`,
		`<a id="checkin-link" class="button" href="#checkin">`,
		`href="tel:911"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
	if start := page[strings.Index(page, `<section id="screen-name"`):strings.Index(page, `<section id="screen-lobby"`)]; !strings.Contains(start, `href="#checkin"`) {
		t.Error("the start screen has no way to the check-in page")
	}
	for _, id := range []string{"checkin-mood-error", "checkin-note-error", "checkin-visibility-error", "checkin-rooms-error", "checkin-error"} {
		if !regexp.MustCompile(`<p id="` + id + `" class="field-error" aria-live="polite">`).MatchString(page) {
			t.Errorf("#%s must be a polite field error", id)
		}
	}

	js := readFile(t, "checkins.js")
	// The mood words live on the server: no script writes them.
	for _, m := range checkin.Moods() {
		for _, name := range clientFiles {
			if strings.HasSuffix(name, ".js") && strings.Contains(readFile(t, name), "'"+m.Label+"'") {
				t.Errorf("%s hard-codes the mood label %q; it comes from GET /api/checkins/moods", name, m.Label)
			}
		}
	}
	for _, want := range []string{"'/api/checkins/moods'", "'POST', '/api/checkins'", "/checkins/summary`", "renderHelpInto($('checkin-help-list'), $('checkin-help-danger'))"} {
		if !strings.Contains(js, want) {
			t.Errorf("checkins.js lacks %s", want)
		}
	}
	if posted := jsFunction(t, js, "checkins.js", "posted"); !strings.Contains(posted, "showCheckinResources(resources)") {
		t.Errorf("a check-in whose answer carries resources must open the crisis panel:\n%s", posted)
	}
	fields := regexp.MustCompile(`(?s)const FIELD_OF_CODE = \{(.*?)\};`).FindStringSubmatch(js)
	if fields == nil {
		t.Fatal("checkins.js has no FIELD_OF_CODE")
	}
	for _, c := range []protocol.Code{protocol.CodeInvalidMood, protocol.CodeNoteTooLong, protocol.CodeInvalidNote, protocol.CodeInvalidVisibility, protocol.CodeNotInRoom} {
		if !strings.Contains(fields[1], string(c)+":") {
			t.Errorf("FIELD_OF_CODE does not place %s next to its field", c)
		}
	}
	if refused := jsFunction(t, js, "checkins.js", "refused"); !strings.Contains(refused, "err?.message") || !strings.Contains(refused, "setFieldError(field, text)") {
		t.Errorf("refused must show the server's sentence next to the field:\n%s", refused)
	}
	if !strings.Contains(js, fmt.Sprintf("MAX_NOTE_CODE_POINTS = %d", checkin.MaxNoteRunes)) {
		t.Errorf("checkins.js must count the note to %d characters, as the server does", checkin.MaxNoteRunes)
	}

	app := readFile(t, "app.js")
	if !strings.Contains(app, "if (location.hash === '#checkin') openCheckin();") {
		t.Error("app.js does not open the check-in page on #checkin")
	}
	if !strings.Contains(jsFunction(t, app, "app.js", "onServerEvent"), "onCheckinEvent(event)") {
		t.Error("onServerEvent must hand checkin events to checkins.js")
	}
	// Other screens wait behind the check-in page instead of replacing it.
	if show := jsFunction(t, app, "app.js", "showScreen"); !strings.Contains(show, "app.behindCheckin = name") {
		t.Errorf("showScreen must not pull the person off the check-in page:\n%s", show)
	}
}

// The check-in page's wording of days and times, run by Node when it is
// installed.
func TestCheckinWordsInNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	script := `import { daysText, dayAndTime } from './checkins.js';
const now = new Date(2026, 10, 29, 20, 0);
console.log([null, -1, 0, 1, 5].map(daysText).join('|'));
console.log([new Date(2026, 10, 29, 18, 5), new Date(2026, 10, 28, 9, 10)].map((d) => dayAndTime(d.toISOString(), now)).join('|') + '|' + dayAndTime('x', now));`
	out, err := exec.Command(node, "--input-type=module", "-e", script).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	want := "Never|Never|Within the last day|1 day ago|5 days ago\nToday, 18:05|Yesterday, 09:10|"
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
