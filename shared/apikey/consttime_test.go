package apikey

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestHashesCompareInConstantTime checks the source rather than timing: a
// timing test would be flaky, and the property is that every comparison of a
// hash goes through subtle.ConstantTimeCompare.
func TestHashesCompareInConstantTime(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	hashesEqualUsesSubtle, hashesEqualCalls := false, 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				if n.Name.Name == "hashesEqual" {
					ast.Inspect(n.Body, func(m ast.Node) bool {
						if sel, ok := m.(*ast.SelectorExpr); ok && selectorName(sel) == "subtle.ConstantTimeCompare" {
							hashesEqualUsesSubtle = true
						}
						return true
					})
				}
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "hashesEqual" {
					hashesEqualCalls++
				}
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
					switch selectorName(sel) {
					case "bytes.Equal", "strings.EqualFold", "strings.Compare", "cmp.Compare":
						for _, arg := range n.Args {
							if mentionsHash(arg) {
								t.Errorf("%s: %s compares a hash in variable time", fset.Position(n.Pos()), selectorName(sel))
							}
						}
					}
				}
			case *ast.BinaryExpr:
				if n.Op != token.EQL && n.Op != token.NEQ {
					return true
				}
				if isEmptyString(n.X) || isEmptyString(n.Y) {
					return true // "is it configured?" leaks nothing
				}
				if mentionsHash(n.X) || mentionsHash(n.Y) {
					t.Errorf("%s: a hash is compared with %s", fset.Position(n.Pos()), n.Op)
				}
			}
			return true
		})
	}
	if !hashesEqualUsesSubtle {
		t.Error("hashesEqual does not call subtle.ConstantTimeCompare")
	}
	if hashesEqualCalls < 2 { // the admin key and the stored key
		t.Errorf("hashesEqual is called %d times; Authenticate compares two hashes", hashesEqualCalls)
	}
}

func selectorName(sel *ast.SelectorExpr) string {
	if x, ok := sel.X.(*ast.Ident); ok {
		return x.Name + "." + sel.Sel.Name
	}
	return ""
}

func isEmptyString(e ast.Expr) bool {
	lit, ok := e.(*ast.BasicLit)
	return ok && lit.Kind == token.STRING && (lit.Value == `""` || lit.Value == "``")
}

// mentionsHash reports whether an expression names something called *hash*
// (a.AdminKeyHash, k.Hash, hash, …).
func mentionsHash(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && strings.Contains(strings.ToLower(id.Name), "hash") {
			found = true
		}
		return !found
	})
	return found
}
