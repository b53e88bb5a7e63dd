package static

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

func TestFilesPresent(t *testing.T) {
	for _, name := range []string{"index.html", "app.js", "connection.js", "room.js", "dom.js", "style.css", "favicon.svg"} {
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
