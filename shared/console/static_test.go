package console

import (
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"
)

// staticFiles is every embedded file by its path under static/.
func staticFiles(t *testing.T) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		files[strings.TrimPrefix(p, "static/")] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// svgNamespace is the one absolute URL the console may contain: the SVG
// namespace name, an identifier that createElementNS and standalone SVG files
// need and that no browser ever fetches.
const svgNamespace = "http://www.w3.org/2000/svg"

var (
	scriptTag   = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script\s*>`)
	styleAttr   = regexp.MustCompile(`(?i)\sstyle\s*=`)
	styleTag    = regexp.MustCompile(`(?i)<style\b`)
	handlerAttr = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	absoluteURL = regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s"'<>)]*`)
	jsURLScheme = regexp.MustCompile(`(?i)javascript:`)
	// sinks are the DOM and JS APIs that turn a string into markup or
	// code. The console builds every node with createElement and
	// textContent, so stream names, error messages and event bodies (user
	// data) can never become markup.
	sinks = regexp.MustCompile(`\b(innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\s*\(|new\s+Function\b|setTimeout\s*\(\s*["'\x60]|setInterval\s*\(\s*["'\x60]|createContextualFragment|DOMParser|srcdoc)`)
	// storage other than sessionStorage would outlive the tab (issue 17:
	// the key lives in the tab's session storage only).
	persistentStorage = regexp.MustCompile(`\b(localStorage|document\.cookie|indexedDB)\b`)
	jsImport          = regexp.MustCompile(`(?m)(?:^|[;\s])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]`)
	htmlRef           = regexp.MustCompile(`(?i)\s(?:src|href)\s*=\s*"([^"]*)"`)
	cssURL            = regexp.MustCompile(`(?i)url\(\s*['"]?([^'")]+)`)
)

func TestStaticHasNoInlineCodeOrStyle(t *testing.T) {
	for name, text := range staticFiles(t) {
		if path.Ext(name) != ".html" {
			continue
		}
		for _, m := range scriptTag.FindAllStringSubmatch(text, -1) {
			if !strings.Contains(strings.ToLower(m[1]), "src=") || strings.TrimSpace(m[2]) != "" {
				t.Errorf("%s: inline script %.60q (CSP script-src 'self' refuses it)", name, m[0])
			}
		}
		if loc := styleAttr.FindStringIndex(text); loc != nil {
			t.Errorf("%s: style attribute at byte %d (CSP style-src 'self' refuses it)", name, loc[0])
		}
		if styleTag.MatchString(text) {
			t.Errorf("%s: <style> element (CSP style-src 'self' refuses it)", name)
		}
		if m := handlerAttr.FindString(text); m != "" {
			t.Errorf("%s: inline event handler %q", name, m)
		}
	}
	for name, text := range staticFiles(t) {
		if path.Ext(name) != ".js" {
			continue
		}
		// Scripts may not write styles into markup either: style="" set
		// through setAttribute is refused by the same CSP.
		if strings.Contains(text, `setAttribute('style'`) || strings.Contains(text, `setAttribute("style"`) || strings.Contains(text, ".style.") || strings.Contains(text, ".style =") {
			t.Errorf("%s: writes an inline style (CSP style-src 'self' refuses it)", name)
		}
	}
}

func TestStaticLoadsNothingFromAnotherOrigin(t *testing.T) {
	for name, text := range staticFiles(t) {
		cleaned := strings.ReplaceAll(text, svgNamespace, "")
		for _, m := range absoluteURL.FindAllString(cleaned, -1) {
			t.Errorf("%s: absolute URL %q (the console loads nothing from another origin)", name, m)
		}
		if jsURLScheme.MatchString(text) {
			t.Errorf("%s: javascript: URL", name)
		}
	}
}

func TestStaticBuildsNoMarkupFromStrings(t *testing.T) {
	for name, text := range staticFiles(t) {
		if path.Ext(name) != ".js" {
			continue
		}
		for _, m := range sinks.FindAllString(text, -1) {
			t.Errorf("%s: uses %q; build nodes with createElement/textContent instead", name, m)
		}
		for _, m := range persistentStorage.FindAllString(text, -1) {
			t.Errorf("%s: uses %q; the key is kept in sessionStorage only", name, m)
		}
	}
}

// TestStaticReferencesResolve catches a broken import or link without a
// browser: every module a script imports and every file the page or the
// stylesheet names is embedded.
func TestStaticReferencesResolve(t *testing.T) {
	files := staticFiles(t)
	resolve := func(from, ref string) (string, bool) {
		switch {
		case strings.HasPrefix(ref, "/console/"):
			return strings.TrimPrefix(ref, "/console/"), true
		case strings.HasPrefix(ref, "./"), strings.HasPrefix(ref, "../"):
			return path.Join(path.Dir(from), ref), true
		}
		return "", false
	}
	refs := 0
	for name, text := range files {
		var found []string
		switch path.Ext(name) {
		case ".js":
			for _, m := range jsImport.FindAllStringSubmatch(text, -1) {
				found = append(found, m[1]+m[2]+m[3])
			}
		case ".html":
			for _, m := range htmlRef.FindAllStringSubmatch(text, -1) {
				if !strings.HasPrefix(m[1], "#") && !strings.HasPrefix(m[1], "data:") {
					found = append(found, m[1])
				}
			}
		case ".css":
			for _, m := range cssURL.FindAllStringSubmatch(text, -1) {
				if !strings.HasPrefix(m[1], "data:") {
					found = append(found, m[1])
				}
			}
		}
		for _, ref := range found {
			refs++
			target, ok := resolve(name, ref)
			if !ok {
				t.Errorf("%s: reference %q is neither /console/… nor relative", name, ref)
				continue
			}
			if _, ok := files[target]; !ok {
				t.Errorf("%s: reference %q → %s is not embedded", name, ref, target)
			}
		}
	}
	if refs == 0 {
		t.Fatal("found no references at all; the patterns are broken")
	}
}

var (
	namedImport = regexp.MustCompile(`(?s)import\s*\{([^}]*)\}\s*from\s*['"]([^'"]+)['"]`)
	exportDecl  = regexp.MustCompile(`(?m)^export\s+(?:async\s+)?(?:function\*?|const|let|var|class)\s+([A-Za-z_$][\w$]*)`)
	exportList  = regexp.MustCompile(`(?m)^export\s*\{([^}]*)\}`)
)

// TestStaticImportsExist catches what a browser would refuse to link: a
// module importing a name the other module does not export.
func TestStaticImportsExist(t *testing.T) {
	files := staticFiles(t)
	exports := map[string]map[string]bool{}
	for name, text := range files {
		if path.Ext(name) != ".js" {
			continue
		}
		ex := map[string]bool{}
		for _, m := range exportDecl.FindAllStringSubmatch(text, -1) {
			ex[m[1]] = true
		}
		for _, m := range exportList.FindAllStringSubmatch(text, -1) {
			for _, n := range strings.Split(m[1], ",") {
				n = strings.TrimSpace(n)
				if _, as, ok := strings.Cut(n, " as "); ok {
					n = strings.TrimSpace(as)
				}
				if n != "" {
					ex[n] = true
				}
			}
		}
		exports[name] = ex
	}
	checked := 0
	for name, text := range files {
		if path.Ext(name) != ".js" {
			continue
		}
		for _, m := range namedImport.FindAllStringSubmatch(text, -1) {
			target := path.Join(path.Dir(name), m[2])
			ex, ok := exports[target]
			if !ok {
				t.Errorf("%s imports from %s, which is not embedded", name, m[2])
				continue
			}
			for _, n := range strings.Split(m[1], ",") {
				n = strings.TrimSpace(n)
				if orig, _, ok := strings.Cut(n, " as "); ok {
					n = strings.TrimSpace(orig)
				}
				if n == "" {
					continue
				}
				checked++
				if !ex[n] {
					t.Errorf("%s imports %q from %s, which does not export it", name, n, m[2])
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no named imports found; the patterns are broken")
	}
}

// TestStaticPatternsCatch keeps the checks above honest: each pattern finds
// the thing it is meant to refuse.
func TestStaticPatternsCatch(t *testing.T) {
	cases := []struct {
		name string
		re   *regexp.Regexp
		text string
	}{
		{"inline script", scriptTag, `<script>alert(1)</script>`},
		{"style attribute", styleAttr, `<div style="color:red">`},
		{"style element", styleTag, `<STYLE>p{}</STYLE>`},
		{"event handler", handlerAttr, `<img onerror="x()">`},
		{"absolute url", absoluteURL, `import x from "https://cdn.example.com/x.js"`},
		{"protocol-relative url", absoluteURL, `<script src="//cdn.example.com/x.js">`},
		{"innerHTML", sinks, `el.innerHTML = name`},
		{"eval", sinks, `eval (s)`},
		{"new Function", sinks, `new Function('return 1')`},
		{"localStorage", persistentStorage, `localStorage.setItem('k', v)`},
		{"import", jsImport, `import { a } from './api.js';`},
	}
	for _, tc := range cases {
		if !tc.re.MatchString(tc.text) {
			t.Errorf("%s: pattern %s misses %q", tc.name, tc.re, tc.text)
		}
	}
	if m := scriptTag.FindStringSubmatch(`<script type="module" src="/console/app.js"></script>`); m == nil || !strings.Contains(m[1], "src=") {
		t.Error("scriptTag does not read a script's src")
	}
}
