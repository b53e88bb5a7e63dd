package static

import (
	"html"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"hearth/internal/crisis"
)

// clientFiles are every file of the web client; static.go embeds each.
var clientFiles = []string{
	"index.html", "style.css", "favicon.svg",
	"app.js", "connection.js", "room.js", "log.js", "people.js", "roomstate.js",
	"notices.js", "dms.js", "facilitator.js", "crisis.js", "share.js", "reactions.js", "dialog.js", "dom.js",
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
