// Package ui is kamflow's web UI: static HTML, CSS, JavaScript modules and translation files,
// embedded in the binary and served at /. It is built from plain files (no Node toolchain, no CDN:
// plants are often offline) and talks to the JSON API only.
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// contentTypes are set explicitly rather than read from the system's MIME tables, which differ
// between machines: a module script served with the wrong type does not run.
var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".json":  "application/json; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".woff2": "font/woff2",
	".txt":   "text/plain; charset=utf-8",
}

type asset struct {
	body  []byte
	ctype string
	etag  string
}

type handler struct {
	assets map[string]*asset // by URL path, "/index.html"
	index  *asset
}

// Handler serves the UI: the files under static at their paths, and index.html for every other
// path without a file extension (the UI's own routes, such as /deals/{id}), so that a reload or a
// shared link opens the right view. A missing file with an extension is a 404, never index.html:
// a script or stylesheet answered with HTML would fail in confusing ways.
func Handler() http.Handler {
	h := &handler{assets: map[string]*asset{}}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			ct = "application/octet-stream"
		}
		sum := sha256.Sum256(b)
		h.assets[strings.TrimPrefix(p, "static")] = &asset{body: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("ui: reading the embedded files: " + err.Error()) // the files are compiled in
	}
	h.index = h.assets["/index.html"]
	if h.index == nil {
		panic("ui: static/index.html is missing")
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := path.Clean("/" + r.URL.Path)
	if p == "/api" || strings.HasPrefix(p, "/api/") {
		http.NotFound(w, r)
		return
	}
	a := h.assets[p]
	if a == nil {
		if strings.Contains(path.Base(p), ".") {
			http.NotFound(w, r)
			return
		}
		a = h.index
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	// Revalidate every time: the files have no hashed names, and a 304 costs next to nothing.
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
