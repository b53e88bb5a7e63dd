package hubtest

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// PolicyRow is one row of an authorization table in docs/protocol.md
// ("Authorization"): its first cell (backticks removed, spaces collapsed),
// the cells between it and the role columns, and each role's cell
// ("allowed", an error code, "403 forbidden" over REST, "—").
type PolicyRow struct {
	Key   string
	Extra []string
	Cells map[string]string // role (column header) → cell
}

// ReadPolicy reads the first table after the line heading (for example
// "### WebSocket commands by role") in docs/protocol.md, the one written
// policy that the WebSocket and REST tests hold the server to. extra is how
// many columns sit between the first one and the role columns. It returns
// the role names (column headers) and the rows, and fails t when the
// heading or the table is missing or a row has the wrong number of cells.
func ReadPolicy(t testing.TB, heading string, extra int) ([]string, []PolicyRow) {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	f, err := os.Open(filepath.Join(filepath.Dir(here), "..", "..", "docs", "protocol.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	split := func(line string) []string {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for i, c := range cells {
			cells[i] = strings.Join(strings.Fields(strings.ReplaceAll(c, "`", "")), " ")
		}
		return cells
	}
	var roles []string
	var rows []PolicyRow
	state := 0 // 0: before the heading, 1: before the table, 2: in it
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case state == 0 && strings.TrimSpace(line) == heading:
			state = 1
		case state == 1 && strings.HasPrefix(line, "|"):
			roles, state = split(line)[1+extra:], 2
		case state == 2 && strings.HasPrefix(line, "|---"):
		case state == 2 && strings.HasPrefix(line, "|"):
			cells := split(line)
			if len(cells) != 1+extra+len(roles) {
				t.Fatalf("policy row %q has %d cells, want %d", cells[0], len(cells), 1+extra+len(roles))
			}
			r := PolicyRow{Key: cells[0], Extra: cells[1 : 1+extra], Cells: map[string]string{}}
			for i, role := range roles {
				r.Cells[role] = cells[1+extra+i]
			}
			rows = append(rows, r)
		case state == 2:
			return roles, rows
		}
	}
	if len(rows) == 0 {
		t.Fatalf("no policy table after %q in docs/protocol.md", heading)
	}
	return roles, rows
}
