package protocol

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"
)

// Every error code declared in errors.go has its own human sentence: a new
// code without one would reach people as a generic line.
func TestEveryCodeHasASentence(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		vs, ok := node.(*ast.ValueSpec)
		if !ok {
			return true
		}
		if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
			return true
		}
		for _, name := range vs.Names {
			n++
			lit := vs.Values[0].(*ast.BasicLit).Value
			code := Code(lit[1 : len(lit)-1])
			if _, ok := messages[code]; !ok {
				t.Errorf("code %s (%s) has no sentence in messages", name.Name, code)
			}
		}
		return true
	})
	if n < 30 {
		t.Fatalf("found only %d codes; the test is not reading errors.go as expected", n)
	}
}
