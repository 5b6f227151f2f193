package mgmtapi_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cofferstore/coffer/internal/mgmtapi"
)

// localFixture is a location and, next to it, a directory it must never
// reach, with links from the one to the other.
type localFixture struct {
	e       *env
	loc     string // the location's directory ("local-0")
	outside string // a sibling directory holding secret.txt
}

const localSecret = "outside the location: never served"

func localSetup(t testing.TB) *localFixture {
	t.Helper()
	base := t.TempDir()
	loc, outside := filepath.Join(base, "loc"), filepath.Join(base, "outside")
	for _, d := range []string{loc, outside, filepath.Join(loc, "datasets", "models")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		filepath.Join(outside, "secret.txt"):              localSecret,
		filepath.Join(loc, "datasets", "data.csv"):        "a,b\n1,2\n",
		filepath.Join(loc, "datasets", "config.json"):     `{"a":1,"b":[1,2]}`,
		filepath.Join(loc, "datasets", "models", "m.bin"): "\x00\x01\x02binary",
		filepath.Join(loc, "readme.txt"):                  "hello",
	}
	for p, data := range files {
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"escape":      "../outside",                        // relative, out
		"escape.txt":  "../outside/secret.txt",             // relative, out, to a file
		"absolute":    outside,                             // absolute, out
		"inside-link": "datasets",                          // stays inside: allowed
		"dangling":    "no-such-target",                    // nowhere
		"deep-escape": "datasets/../../outside/secret.txt", // out through a detour
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(loc, name)); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t, func(c *mgmtapi.Config) {
		c.LocalLocations = []mgmtapi.LocalLocation{
			{ID: "local-0", Name: "Data", Path: loc},
			{ID: "local-1", Name: "Gone", Path: filepath.Join(base, "missing")},
		}
	})
	return &localFixture{e: e, loc: loc, outside: outside}
}

// localSnapshot lists every name and content under dir, to show that
// nothing there changed.
func localSnapshot(t testing.TB, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b.WriteString(rel + " " + d.Type().String() + "\n")
		if d.Type().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b.Write(data)
			b.WriteString("\n")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// localForm builds a multipart/form-data body with content as "file".
func localForm(t testing.TB, content []byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", "upload.bin")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(content)
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

func localUpload(t testing.TB, c *client, loc, rel string, content []byte, query string) *resp {
	t.Helper()
	body, ct := localForm(t, content)
	c.header.Set("Content-Type", ct)
	defer c.header.Del("Content-Type")
	return c.do("POST", "/api/local/upload/"+loc+"/"+b64(rel)+query, body)
}

type localListing struct {
	Files []struct {
		Name, Path, Type, LastModified string
		Size                           int64
	}
	CurrentPath string
	ParentPath  *string
	TotalCount  int
}

func (l localListing) names() []string {
	var out []string
	for _, f := range l.Files {
		out = append(out, f.Name+":"+f.Type)
	}
	return out
}

func TestLocalLocations(t *testing.T) {
	f := localSetup(t)
	var got struct {
		Locations []struct {
			ID, Name, Path, Type string
			Available            bool
		}
	}
	f.e.root().do("GET", "/api/local/locations", nil).want(http.StatusOK).json(&got)
	if len(got.Locations) != 2 || got.Locations[0].ID != "local-0" || got.Locations[0].Name != "Data" ||
		got.Locations[0].Path != f.loc || got.Locations[0].Type != "local" || !got.Locations[0].Available ||
		got.Locations[1].Available {
		t.Fatalf("locations: %+v", got)
	}
	f.e.anon().do("GET", "/api/local/locations", nil).wantError(http.StatusUnauthorized, "Unauthorized")
	f.e.user("rina", "readonly").do("GET", "/api/local/locations", nil).wantError(http.StatusForbidden, "AccessDenied")
	f.e.user("adam", "admin").do("GET", "/api/local/locations", nil).want(http.StatusOK)

	// None configured: an empty list, not an error.
	var none struct{ Locations []any }
	newEnv(t).root().do("GET", "/api/local/locations", nil).want(http.StatusOK).json(&none)
	if none.Locations == nil || len(none.Locations) != 0 {
		t.Fatalf("no locations: %+v", none)
	}
}

func TestLocalListFiles(t *testing.T) {
	f := localSetup(t)
	root := f.e.root()
	var l localListing
	root.do("GET", "/api/local/files/local-0", nil).want(http.StatusOK).json(&l)
	// The escaping and dangling links are left out; the inside one is a
	// directory.
	want := []string{"datasets:directory", "inside-link:directory", "readme.txt:file"}
	if strings.Join(l.names(), ",") != strings.Join(want, ",") || l.TotalCount != 8 || l.ParentPath != nil || l.CurrentPath != "" {
		t.Fatalf("root listing: %+v (names %v)", l, l.names())
	}
	// S4's form, with a trailing slash (an empty encoded path), lists the
	// same. (Sent directly: the document cannot describe an empty path
	// parameter.)
	req, _ := http.NewRequest("GET", f.e.URL+"/api/local/files/local-0/", nil)
	req.Header.Set("Authorization", "Bearer "+root.bearer)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var slash localListing
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if err := json.Unmarshal(body, &slash); err != nil || res.StatusCode != http.StatusOK ||
		strings.Join(slash.names(), ",") != strings.Join(want, ",") || slash.TotalCount != 8 {
		t.Fatalf("S4's root listing: %d %s", res.StatusCode, body)
	}
	l = localListing{}
	root.do("GET", "/api/local/files/local-0/"+b64("datasets"), nil).want(http.StatusOK).json(&l)
	if strings.Join(l.names(), ",") != "config.json:file,data.csv:file,models:directory" || l.ParentPath == nil || *l.ParentPath != "." ||
		l.Files[1].Path != "datasets/data.csv" || l.Files[1].Size != 8 || l.CurrentPath != "datasets" {
		t.Fatalf("datasets listing: %+v", l)
	}
	// Pagination.
	l = localListing{}
	root.do("GET", "/api/local/files/local-0/"+b64("datasets/")+"?limit=1&offset=1", nil).want(http.StatusOK).json(&l)
	if strings.Join(l.names(), ",") != "data.csv:file" || l.TotalCount != 3 {
		t.Fatalf("page: %+v", l)
	}
	l = localListing{}
	root.do("GET", "/api/local/files/local-0/"+b64("datasets")+"?offset=10", nil).want(http.StatusOK).json(&l)
	if len(l.Files) != 0 || l.TotalCount != 3 {
		t.Fatalf("past the end: %+v", l)
	}
	// Through a link that stays inside.
	root.do("GET", "/api/local/files/local-0/"+b64("inside-link/models"), nil).want(http.StatusOK)

	root.do("GET", "/api/local/files/local-0/"+b64("datasets")+"?limit=0", nil).wantError(http.StatusBadRequest, "InvalidArgument")
	root.do("GET", "/api/local/files/local-0/"+b64("datasets")+"?offset=-1", nil).wantError(http.StatusBadRequest, "InvalidArgument")
	root.do("GET", "/api/local/files/local-0/"+b64("readme.txt"), nil).wantError(http.StatusBadRequest, "NotADirectory")
	root.do("GET", "/api/local/files/local-0/"+b64("nope"), nil).wantError(http.StatusNotFound, "FileNotFound")
	root.do("GET", "/api/local/files/local-9/", nil).wantError(http.StatusNotFound, "LocationNotFound")
	root.do("GET", "/api/local/files/local-0/%21%21", nil).wantError(http.StatusBadRequest, "InvalidPath")
	root.do("GET", "/api/local/files/local-1/", nil).wantError(http.StatusServiceUnavailable, "LocationUnavailable")
	f.e.anon().do("GET", "/api/local/files/local-0/", nil).wantError(http.StatusUnauthorized, "Unauthorized")
	ro := f.e.user("rina", "readonly")
	ro.do("GET", "/api/local/files/local-0/", nil).wantError(http.StatusForbidden, "AccessDenied")
	// Permission is checked before the location: no probing for ids.
	ro.do("GET", "/api/local/files/local-9/", nil).wantError(http.StatusForbidden, "AccessDenied")
}

func TestLocalUploadDownload(t *testing.T) {
	f := localSetup(t)
	root := f.e.root()
	content := make([]byte, 3<<20+17)
	rand.Read(content)
	var up struct {
		Uploaded bool
		Path     string
		Size     int64
	}
	localUpload(t, root, "local-0", "new/deep/file.bin", content, "").want(http.StatusOK).json(&up)
	if !up.Uploaded || up.Path != "new/deep/file.bin" || up.Size != int64(len(content)) {
		t.Fatalf("upload: %+v", up)
	}
	onDisk, err := os.ReadFile(filepath.Join(f.loc, "new", "deep", "file.bin"))
	if err != nil || !bytes.Equal(onDisk, content) {
		t.Fatalf("on disk: %d bytes, %v", len(onDisk), err)
	}
	r := root.do("GET", "/api/local/download/local-0/"+b64("new/deep/file.bin"), nil).want(http.StatusOK)
	if !bytes.Equal(r.Body, content) {
		t.Fatalf("downloaded %d bytes, not what was uploaded", len(r.Body))
	}
	if r.Header.Get("Content-Type") != "application/octet-stream" || r.Header.Get("Content-Disposition") != `attachment; filename="file.bin"` {
		t.Fatalf("headers: %v", r.Header)
	}
	// No temporary file is left behind.
	ents, _ := os.ReadDir(filepath.Join(f.loc, "new", "deep"))
	if len(ents) != 1 {
		t.Fatalf("directory holds %d entries", len(ents))
	}

	// An existing file is refused unless overwrite=true.
	localUpload(t, root, "local-0", "readme.txt", []byte("replaced"), "").wantError(http.StatusConflict, "FileExists")
	if data, _ := os.ReadFile(filepath.Join(f.loc, "readme.txt")); string(data) != "hello" {
		t.Fatalf("refused upload changed the file: %q", data)
	}
	localUpload(t, root, "local-0", "readme.txt", []byte("replaced"), "?overwrite=true").want(http.StatusOK)
	if data := root.do("GET", "/api/local/download/local-0/"+b64("readme.txt"), nil).want(http.StatusOK).Body; string(data) != "replaced" {
		t.Fatalf("after overwrite: %q", data)
	}
	localUpload(t, root, "local-0", "datasets", []byte("x"), "?overwrite=true").wantError(http.StatusConflict, "FileExists")
	localUpload(t, root, "local-0", "readme.txt/under", []byte("x"), "").wantError(http.StatusConflict, "FileExists")
	localUpload(t, root, "local-0", "empty.txt", nil, "").want(http.StatusOK)
	if fi, err := os.Stat(filepath.Join(f.loc, "empty.txt")); err != nil || fi.Size() != 0 {
		t.Fatalf("empty upload: %v %v", fi, err)
	}

	// Bad requests.
	root.header.Set("Content-Type", "text/plain")
	root.do("POST", "/api/local/upload/local-0/"+b64("x.txt"), "plain").wantError(http.StatusUnsupportedMediaType, "UnsupportedMediaType")
	root.header.Del("Content-Type")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("other", "v")
	mw.Close()
	root.header.Set("Content-Type", mw.FormDataContentType())
	root.do("POST", "/api/local/upload/local-0/"+b64("x.txt"), buf.Bytes()).wantError(http.StatusBadRequest, "InvalidRequest")
	root.header.Del("Content-Type")
	localUpload(t, root, "local-0", "", []byte("x"), "").wantError(http.StatusBadRequest, "InvalidPath")
	localUpload(t, root, "local-9", "x.txt", []byte("x"), "").wantError(http.StatusNotFound, "LocationNotFound")
	localUpload(t, f.e.anon(), "local-0", "x.txt", []byte("x"), "").wantError(http.StatusUnauthorized, "Unauthorized")
	localUpload(t, f.e.user("rina", "readonly"), "local-0", "x.txt", []byte("x"), "").wantError(http.StatusForbidden, "AccessDenied")
	if _, err := os.Stat(filepath.Join(f.loc, "x.txt")); !os.IsNotExist(err) {
		t.Fatalf("a refused upload left x.txt: %v", err)
	}

	// Download failures.
	root.do("GET", "/api/local/download/local-0/"+b64("datasets"), nil).wantError(http.StatusBadRequest, "NotAFile")
	root.do("GET", "/api/local/download/local-0/", nil).wantError(http.StatusBadRequest, "NotAFile")
	root.do("GET", "/api/local/download/local-0/"+b64("nope.txt"), nil).wantError(http.StatusNotFound, "FileNotFound")
	root.do("GET", "/api/local/download/local-9/"+b64("readme.txt"), nil).wantError(http.StatusNotFound, "LocationNotFound")
	f.e.anon().do("GET", "/api/local/download/local-0/"+b64("readme.txt"), nil).wantError(http.StatusUnauthorized, "Unauthorized")
	f.e.user("walt", "writeonly").do("GET", "/api/local/download/local-0/"+b64("readme.txt"), nil).wantError(http.StatusForbidden, "AccessDenied")
}

func TestLocalUploadRateLimited(t *testing.T) {
	base := t.TempDir()
	e := newEnv(t, func(c *mgmtapi.Config) {
		c.LocalLocations = []mgmtapi.LocalLocation{{ID: "local-0", Name: "Data", Path: base}}
		c.Limits.Uploads = 2
	})
	root := e.root()
	localUpload(t, root, "local-0", "a", []byte("a"), "").want(http.StatusOK)
	localUpload(t, root, "local-0", "b", []byte("b"), "").want(http.StatusOK)
	localUpload(t, root, "local-0", "c", []byte("c"), "").wantError(http.StatusTooManyRequests, "RateLimitExceeded")
	if _, err := os.Stat(filepath.Join(base, "c")); !os.IsNotExist(err) {
		t.Fatalf("rate-limited upload wrote c: %v", err)
	}
}

func TestLocalView(t *testing.T) {
	f := localSetup(t)
	root := f.e.root()
	var v struct {
		Metadata struct {
			Name, Path, Type, ContentType, LastModified string
			Size                                        int64
		}
		Preview struct {
			Available, Truncated bool
			Type, Content        string
			Reason               string
		}
	}
	root.do("GET", "/api/local/view/local-0/"+b64("datasets/config.json"), nil).want(http.StatusOK).json(&v)
	if v.Metadata.Name != "config.json" || v.Metadata.Path != "datasets/config.json" || v.Metadata.Type != "file" || v.Metadata.Size != 17 ||
		!v.Preview.Available || v.Preview.Type != "json" || !strings.Contains(v.Preview.Content, "\n  \"a\": 1") {
		t.Fatalf("json view: %+v", v)
	}
	v.Preview.Content = ""
	root.do("GET", "/api/local/view/local-0/"+b64("datasets/data.csv"), nil).want(http.StatusOK).json(&v)
	if v.Preview.Type != "text" || v.Preview.Content != "a,b\n1,2\n" || v.Preview.Truncated {
		t.Fatalf("csv view: %+v", v)
	}
	root.do("GET", "/api/local/view/local-0/"+b64("datasets/models/m.bin"), nil).want(http.StatusOK).json(&v)
	if v.Preview.Available || v.Preview.Reason == "" {
		t.Fatalf("binary view: %+v", v)
	}
	root.do("GET", "/api/local/view/local-0/"+b64("datasets"), nil).want(http.StatusOK).json(&v)
	if v.Metadata.Type != "directory" || v.Preview.Available {
		t.Fatalf("directory view: %+v", v)
	}
	// Over 1 MiB: the first MiB, truncated.
	big := strings.Repeat("0123456789abcdef", (1<<20)/16+10)
	os.WriteFile(filepath.Join(f.loc, "big.txt"), []byte(big), 0o644)
	v.Preview.Content = ""
	root.do("GET", "/api/local/view/local-0/"+b64("big.txt"), nil).want(http.StatusOK).json(&v)
	if !v.Preview.Truncated || len(v.Preview.Content) != 1<<20 {
		t.Fatalf("big view: truncated %v, %d bytes", v.Preview.Truncated, len(v.Preview.Content))
	}
	root.do("GET", "/api/local/view/local-0/"+b64("nope"), nil).wantError(http.StatusNotFound, "FileNotFound")
	root.do("GET", "/api/local/view/local-9/"+b64("readme.txt"), nil).wantError(http.StatusNotFound, "LocationNotFound")
	root.do("GET", "/api/local/view/local-0/"+b64("a/../../x"), nil).wantError(http.StatusBadRequest, "InvalidPath")
	f.e.anon().do("GET", "/api/local/view/local-0/"+b64("readme.txt"), nil).wantError(http.StatusUnauthorized, "Unauthorized")
	f.e.user("rina", "readonly").do("GET", "/api/local/view/local-0/"+b64("readme.txt"), nil).wantError(http.StatusForbidden, "AccessDenied")
}

func TestLocalCreateDirectoryAndDelete(t *testing.T) {
	f := localSetup(t)
	root := f.e.root()
	var cr struct {
		Created bool
		Path    string
	}
	root.do("POST", "/api/local/create-directory/local-0/"+b64("a/b/c/"), nil).want(http.StatusOK).json(&cr)
	if !cr.Created || cr.Path != "a/b/c" {
		t.Fatalf("create: %+v", cr)
	}
	if fi, err := os.Stat(filepath.Join(f.loc, "a", "b", "c")); err != nil || !fi.IsDir() {
		t.Fatalf("not created: %v", err)
	}
	root.do("POST", "/api/local/create-directory/local-0/"+b64("a/b"), nil).want(http.StatusOK) // mkdir -p
	root.do("POST", "/api/local/create-directory/local-0/"+b64("readme.txt"), nil).wantError(http.StatusConflict, "FileExists")
	root.do("POST", "/api/local/create-directory/local-0/"+b64("readme.txt/sub"), nil).wantError(http.StatusConflict, "NotADirectory")
	root.do("POST", "/api/local/create-directory/local-0/", nil).wantError(http.StatusBadRequest, "InvalidPath")
	root.do("POST", "/api/local/create-directory/local-9/"+b64("x"), nil).wantError(http.StatusNotFound, "LocationNotFound")
	f.e.anon().do("POST", "/api/local/create-directory/local-0/"+b64("x"), nil).wantError(http.StatusUnauthorized, "Unauthorized")
	ro := f.e.user("rina", "readonly")
	ro.do("POST", "/api/local/create-directory/local-0/"+b64("x"), nil).wantError(http.StatusForbidden, "AccessDenied")

	var del struct {
		Deleted   bool
		ItemCount int
	}
	// A directory with contents needs recursive=true.
	root.do("DELETE", "/api/local/local-0/"+b64("a"), nil).wantError(http.StatusConflict, "DirectoryNotEmpty")
	root.do("DELETE", "/api/local/local-0/"+b64("a/b/c"), nil).want(http.StatusOK).json(&del)
	if !del.Deleted || del.ItemCount != 1 {
		t.Fatalf("empty directory: %+v", del)
	}
	os.WriteFile(filepath.Join(f.loc, "a", "b", "f.txt"), []byte("x"), 0o644)
	root.do("DELETE", "/api/local/local-0/"+b64("a")+"?recursive=true", nil).want(http.StatusOK).json(&del)
	if del.ItemCount != 3 { // a, a/b, a/b/f.txt
		t.Fatalf("recursive: %+v", del)
	}
	if _, err := os.Stat(filepath.Join(f.loc, "a")); !os.IsNotExist(err) {
		t.Fatalf("a still there: %v", err)
	}
	root.do("DELETE", "/api/local/local-0/"+b64("readme.txt"), nil).want(http.StatusOK).json(&del)
	if del.ItemCount != 1 {
		t.Fatalf("file: %+v", del)
	}
	root.do("DELETE", "/api/local/local-0/"+b64("readme.txt"), nil).wantError(http.StatusNotFound, "FileNotFound")
	root.do("DELETE", "/api/local/local-0/", nil).wantError(http.StatusBadRequest, "InvalidPath")
	root.do("DELETE", "/api/local/local-0/"+b64("./"), nil).wantError(http.StatusBadRequest, "InvalidPath")
	root.do("DELETE", "/api/local/local-9/"+b64("x"), nil).wantError(http.StatusNotFound, "LocationNotFound")
	f.e.anon().do("DELETE", "/api/local/local-0/"+b64("datasets"), nil).wantError(http.StatusUnauthorized, "Unauthorized")
	ro.do("DELETE", "/api/local/local-0/"+b64("datasets")+"?recursive=true", nil).wantError(http.StatusForbidden, "AccessDenied")
	if _, err := os.Stat(filepath.Join(f.loc, "datasets", "data.csv")); err != nil {
		t.Fatalf("refused delete removed files: %v", err)
	}

	// A cookie session needs the CSRF header for writes.
	ck := f.e.cookie(sessionSubject(rootUser))
	ck.csrf = ""
	ck.do("POST", "/api/local/create-directory/local-0/"+b64("csrf"), nil).wantError(http.StatusForbidden, "CSRFTokenInvalid")
}

// TestLocalEscapes tries every way out of the location on every route:
// all are refused and nothing outside is read or changed.
func TestLocalEscapes(t *testing.T) {
	f := localSetup(t)
	root := f.e.root()
	before := localSnapshot(t, f.outside)

	lexical := []string{"../outside/secret.txt", "..", "datasets/../../outside/secret.txt", f.outside + "/secret.txt",
		"/etc/passwd", "a\x00b", "./../outside"}
	for _, p := range lexical {
		enc := b64(p)
		root.do("GET", "/api/local/files/local-0/"+enc, nil).wantError(http.StatusBadRequest, "InvalidPath")
		root.do("GET", "/api/local/download/local-0/"+enc, nil).wantError(http.StatusBadRequest, "InvalidPath")
		root.do("GET", "/api/local/view/local-0/"+enc, nil).wantError(http.StatusBadRequest, "InvalidPath")
		root.do("DELETE", "/api/local/local-0/"+enc+"?recursive=true", nil).wantError(http.StatusBadRequest, "InvalidPath")
		root.do("POST", "/api/local/create-directory/local-0/"+enc, nil).wantError(http.StatusBadRequest, "InvalidPath")
		localUpload(t, root, "local-0", p, []byte("pwned"), "?overwrite=true").wantError(http.StatusBadRequest, "InvalidPath")
	}
	// Encoded "..", and "../outside/secret.txt" in padded standard base64.
	for _, raw := range []string{"Li4", "Li4vb3V0c2lkZS9zZWNyZXQudHh0", "Li4vb3V0c2lkZS9zZWNyZXQudHh0==="} {
		r := root.do("GET", "/api/local/download/local-0/"+raw, nil).want(http.StatusBadRequest)
		if bytes.Contains(r.Body, []byte(localSecret)) {
			t.Fatalf("%s served the secret", raw)
		}
	}

	// Symbolic links out of the location: refused by the root.
	for _, p := range []string{"escape/secret.txt", "escape.txt", "absolute/secret.txt", "deep-escape"} {
		enc := b64(p)
		for _, r := range []*resp{
			root.do("GET", "/api/local/download/local-0/"+enc, nil),
			root.do("GET", "/api/local/view/local-0/"+enc, nil),
		} {
			r.wantError(http.StatusForbidden, "PathOutsideLocation")
		}
	}
	for _, p := range []string{"escape/new.txt", "absolute/new.txt", "escape/secret.txt", "deep-escape/x"} {
		localUpload(t, root, "local-0", p, []byte("pwned"), "").wantError(http.StatusForbidden, "PathOutsideLocation")
		localUpload(t, root, "local-0", p, []byte("pwned"), "?overwrite=true").wantError(http.StatusForbidden, "PathOutsideLocation")
	}
	for _, p := range []string{"escape", "absolute", "escape/sub"} {
		root.do("GET", "/api/local/files/local-0/"+b64(p), nil).wantError(http.StatusForbidden, "PathOutsideLocation")
		root.do("POST", "/api/local/create-directory/local-0/"+b64(p+"/made"), nil).wantError(http.StatusForbidden, "PathOutsideLocation")
	}
	root.do("DELETE", "/api/local/local-0/"+b64("escape/secret.txt"), nil).wantError(http.StatusForbidden, "PathOutsideLocation")
	root.do("DELETE", "/api/local/local-0/"+b64("absolute/secret.txt"), nil).wantError(http.StatusForbidden, "PathOutsideLocation")
	// Overwriting a link replaces the link, not its target.
	localUpload(t, root, "local-0", "escape.txt", []byte("replaced link"), "?overwrite=true").want(http.StatusOK)
	if data, _ := os.ReadFile(filepath.Join(f.loc, "escape.txt")); string(data) != "replaced link" {
		t.Fatalf("escape.txt: %q", data)
	}
	// Deleting a link removes the link only, recursively or not.
	root.do("DELETE", "/api/local/local-0/"+b64("escape"), nil).want(http.StatusOK)
	root.do("DELETE", "/api/local/local-0/"+b64("absolute")+"?recursive=true", nil).want(http.StatusOK)
	if _, err := os.Lstat(filepath.Join(f.loc, "escape")); !os.IsNotExist(err) {
		t.Fatalf("link not deleted: %v", err)
	}
	if after := localSnapshot(t, f.outside); after != before {
		t.Fatalf("outside changed:\nbefore %s\nafter %s", before, after)
	}
	// A recursive delete of a tree holding a link out does not follow it.
	os.MkdirAll(filepath.Join(f.loc, "tree"), 0o755)
	os.Symlink(f.outside, filepath.Join(f.loc, "tree", "out"))
	root.do("DELETE", "/api/local/local-0/"+b64("tree")+"?recursive=true", nil).want(http.StatusOK)
	if after := localSnapshot(t, f.outside); after != before {
		t.Fatalf("recursive delete reached outside:\nbefore %s\nafter %s", before, after)
	}
}

// TestLocalEncodings accepts S4's btoa() output with padding and the
// standard alphabet as well as Base64url.
func TestLocalEncodings(t *testing.T) {
	f := localSetup(t)
	root := f.e.root()
	for _, enc := range []string{
		base64.RawURLEncoding.EncodeToString([]byte("datasets/data.csv")),
		base64.URLEncoding.EncodeToString([]byte("datasets/data.csv")),
		base64.StdEncoding.EncodeToString([]byte("datasets/data.csv")),
	} {
		if got := root.do("GET", "/api/local/download/local-0/"+enc, nil).want(http.StatusOK).Body; string(got) != "a,b\n1,2\n" {
			t.Fatalf("%s: %q", enc, got)
		}
	}
}

// FuzzLocalPath sends arbitrary paths, encoded and raw, to every read
// route and the directory route: none answers 5xx, none serves what lies
// outside, and nothing outside changes.
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"", "readme.txt", "..", "../outside/secret.txt", "escape/secret.txt", "/etc/passwd", "a\x00b",
		"datasets/./models", "escape.txt", "deep-escape", "datasets//config.json", "%2e%2e", "Li4vb3V0c2lkZQ", `..\..\outside`} {
		f.Add(s)
	}
	fx := localSetup(f)
	before := localSnapshot(f, fx.outside)
	root := fx.e.root()
	hc := &http.Client{}
	f.Fuzz(func(t *testing.T, p string) {
		for _, seg := range []string{b64(p), p} {
			for _, rt := range []struct{ method, prefix string }{
				{"GET", "/api/local/files/local-0/"}, {"GET", "/api/local/download/local-0/"},
				{"GET", "/api/local/view/local-0/"}, {"POST", "/api/local/create-directory/local-0/"},
			} {
				req, err := http.NewRequest(rt.method, fx.e.URL+rt.prefix+seg, nil)
				if err != nil {
					continue // not a URL at all
				}
				req.Header.Set("Authorization", "Bearer "+root.bearer)
				res, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode >= 500 {
					t.Fatalf("%s %s%q: %d %s", rt.method, rt.prefix, seg, res.StatusCode, body)
				}
				if bytes.Contains(body, []byte(localSecret)) {
					t.Fatalf("%s %s%q served the secret", rt.method, rt.prefix, seg)
				}
			}
		}
		if after := localSnapshot(t, fx.outside); after != before {
			t.Fatalf("%q changed what is outside", p)
		}
	})
}

// TestLocalListingHidesUploadsInProgress: a temporary upload file is
// neither listed nor addressable.
func TestLocalListingHidesUploadsInProgress(t *testing.T) {
	f := localSetup(t)
	os.WriteFile(filepath.Join(f.loc, ".coffer-upload-0123"), []byte("partial"), 0o644)
	var l localListing
	f.e.root().do("GET", "/api/local/files/local-0", nil).want(http.StatusOK).json(&l)
	names := l.names()
	sort.Strings(names)
	for _, n := range names {
		if strings.HasPrefix(n, ".coffer-upload-") {
			t.Fatalf("listed %s", n)
		}
	}
	f.e.root().do("GET", "/api/local/download/local-0/"+b64(".coffer-upload-0123"), nil).wantError(http.StatusBadRequest, "InvalidPath")
}
