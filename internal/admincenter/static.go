package admincenter

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"mime"
	"net/http"
	"path"
)

//go:embed static
var staticFS embed.FS

// assets serves the admin center's static files (one stylesheet, one
// script, the icon). Their URLs carry a hash of the content, so that they
// can be cached for long and a new release is fetched at once.
type assets struct {
	files   map[string][]byte
	version map[string]string
}

func newAssets() *assets {
	a := &assets{files: map[string][]byte{}, version: map[string]string{}}
	entries, err := staticFS.ReadDir("static")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		h := sha256.Sum256(b)
		a.files[e.Name()] = b
		a.version[e.Name()] = hex.EncodeToString(h[:6])
	}
	return a
}

// url is the versioned URL of a static file.
func (a *assets) url(name string) string {
	v, ok := a.version[name]
	if !ok {
		panic("admincenter: no static file " + name)
	}
	return Base + "/static/" + name + "?v=" + v
}

func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, ok := a.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	if r.URL.Query().Get("v") == a.version[name] {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Write(b)
}
