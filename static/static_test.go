package static

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// clientFiles are every file of the web client; static.go embeds each.
var clientFiles = []string{
	"index.html", "style.css", "favicon.svg",
	"app.js", "connection.js", "room.js", "log.js", "people.js", "roomstate.js",
	"notices.js", "dms.js", "facilitator.js", "dialog.js", "dom.js",
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
