package mgmtapi_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/mgmtapi"
	"github.com/cofferstore/coffer/internal/object"
	"github.com/cofferstore/coffer/internal/session"
)

// objectsTicket gets an SSE ticket for an upload's progress from POST
// /api/auth/sse-ticket as S4 documents it, or, while that route is not
// there, from the session manager directly.
func objectsTicket(e *env, c *client, s session.Subject, encodedKey string) string {
	e.t.Helper()
	r := c.do("POST", "/api/auth/sse-ticket", map[string]string{"resource": encodedKey, "resourceType": "upload"})
	if r.Status == http.StatusOK || r.Status == http.StatusCreated {
		var out struct{ Ticket string }
		r.json(&out)
		if out.Ticket == "" {
			e.t.Fatalf("sse-ticket answered %s", r.Body)
		}
		return out.Ticket
	}
	if r.Status != http.StatusNotFound {
		e.t.Fatalf("sse-ticket: %d %s", r.Status, r.Body)
	}
	tk, err := e.sessions.NewTicket(context.Background(), s, "upload:"+encodedKey)
	if err != nil {
		e.t.Fatal(err)
	}
	return tk.ID
}

type objectsEvent struct {
	Loaded int64  `json:"loaded"`
	Total  int64  `json:"total"`
	Status string `json:"status"`
}

// objectsSSE reads a progress stream event by event.
type objectsSSE struct {
	res *http.Response
	sc  *bufio.Scanner
}

func objectsOpenSSE(t testing.TB, url string, header http.Header) (*objectsSSE, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, res
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	return &objectsSSE{res: res, sc: bufio.NewScanner(res.Body)}, res
}

func (s *objectsSSE) next(t testing.TB) (objectsEvent, bool) {
	for s.sc.Scan() {
		line := s.sc.Text()
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var ev objectsEvent
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		return ev, true
	}
	return objectsEvent{}, false
}

func (s *objectsSSE) close() { s.res.Body.Close() }

func objectsRandom(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// TestObjectsUploadProgress streams a 20 MiB upload whose body the test
// paces, and watches its progress through the SSE route with a ticket.
func TestObjectsUploadProgress(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	rootSubject := session.Subject{User: rootUser, Root: true}
	objectsBucket(e, "upb", rootUser)
	const size = 20 << 20
	data := objectsRandom(size)
	key := "big/файл 1.bin"
	enc := b64(key)

	ticket := objectsTicket(e, root, rootSubject, enc)
	sse, res := objectsOpenSSE(t, e.URL+"/api/objects/upload-progress/"+enc+"?ticket="+ticket, nil)
	if sse == nil {
		t.Fatalf("progress stream: %d", res.StatusCode)
	}
	defer sse.close()
	if ev, ok := sse.next(t); !ok || ev.Status != "idle" {
		t.Fatalf("first event %+v", ev)
	}

	// The body: 4 MiB, then the rest once progress has been seen.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	progressed := make(chan struct{})
	go func() {
		fw, err := mw.CreateFormFile("file", "f.bin")
		if err == nil {
			_, err = fw.Write(data[:4<<20])
		}
		if err == nil {
			<-progressed
			_, err = fw.Write(data[4<<20:])
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	type result struct {
		status int
		body   []byte
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("POST", e.URL+"/api/objects/upload/upb/"+enc+fmt.Sprintf("?size=%d", size), pr)
		req.Header.Set("Authorization", "Bearer "+root.bearer)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{status: -1, body: []byte(err.Error())}
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		done <- result{res.StatusCode, b}
	}()

	var last objectsEvent
	midway := false
	for {
		ev, ok := sse.next(t)
		if !ok {
			break
		}
		if ev.Loaded < last.Loaded {
			t.Fatalf("progress went back: %+v after %+v", ev, last)
		}
		if ev.Status == "uploading" && ev.Loaded >= 1<<20 && !midway {
			if ev.Total != size || ev.Loaded >= size {
				t.Fatalf("midway event %+v", ev)
			}
			midway = true
			close(progressed)
		}
		last = ev
	}
	if !midway {
		close(progressed)
		t.Fatal("no progress seen before the upload finished")
	}
	if last.Status != "completed" || last.Loaded != size || last.Total != size {
		t.Fatalf("last event %+v", last)
	}
	r := <-done
	if r.status != http.StatusOK {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	var up struct {
		Message, Key, Bucket, ETag string
		Size                       int64
	}
	json.Unmarshal(r.body, &up)
	if up.Key != key || up.Bucket != "upb" || up.Size != size || up.Message != "Upload successful" {
		t.Fatalf("upload answer %s", r.body)
	}

	// Download: byte for byte, with S4's headers.
	dl := root.do("GET", "/api/objects/download/upb/"+enc, nil).want(http.StatusOK)
	if !bytes.Equal(dl.Body, data) {
		t.Fatal("downloaded bytes differ")
	}
	if dl.Header.Get("Content-Length") != fmt.Sprint(size) || dl.Header.Get("ETag") != `"`+up.ETag+`"` ||
		!strings.Contains(dl.Header.Get("Content-Disposition"), "filename*=UTF-8''%D1%84%D0%B0%D0%B9%D0%BB%201.bin") {
		t.Fatalf("download headers %v", dl.Header)
	}

	// The ticket was consumed.
	if _, res := objectsOpenSSE(t, e.URL+"/api/objects/upload-progress/"+enc+"?ticket="+ticket, nil); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("second use of a ticket: %d", res.StatusCode)
	}
	// A session may watch too; the finished upload's record answers, once
	// the stream has waited for a retry that does not come (idle meanwhile).
	var evs []objectsEvent
	body := root.do("GET", "/api/objects/upload-progress/"+enc, nil).want(http.StatusOK).Body
	for _, line := range strings.Split(string(body), "\n") {
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			var ev objectsEvent
			json.Unmarshal([]byte(d), &ev)
			evs = append(evs, ev)
		}
	}
	if n := len(evs); n == 0 || evs[n-1].Status != "completed" || evs[n-1].Loaded != size || n > 2 || (n == 2 && evs[0].Status != "idle") {
		t.Fatalf("events for a session: %+v", evs)
	}
	// Another user sees no upload of that id: it is scoped to its uploader.
	otherSubject := session.Subject{User: "watcher"}
	watcher := e.user("watcher")
	tk := objectsTicket(e, watcher, otherSubject, enc)
	s2, res2 := objectsOpenSSE(t, e.URL+"/api/objects/upload-progress/"+enc+"?ticket="+tk, nil)
	if s2 == nil {
		t.Fatalf("watcher's stream: %d", res2.StatusCode)
	}
	if ev, ok := s2.next(t); !ok || ev.Status != "idle" {
		t.Fatalf("watcher sees %+v", ev)
	}
	s2.close()
}

// TestObjectsProgressTickets: tickets are resource-scoped, single-use and
// expire.
func TestObjectsProgressTickets(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var mgr *session.Manager
	e := newEnv(t, func(c *mgmtapi.Config) {
		m, err := session.New(session.Config{Store: c.Store, Key: bytes.Repeat([]byte{7}, session.MinKeyLen), Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		mgr, c.Sessions = m, m
	})
	ctx := context.Background()
	root := session.Subject{User: rootUser, Root: true}
	enc, other := b64("a.bin"), b64("b.bin")
	url := func(id, ticket string) string {
		return e.URL + "/api/objects/upload-progress/" + id + "?ticket=" + ticket
	}

	// Another resource's ticket is refused (and not consumed).
	tk, err := mgr.NewTicket(ctx, root, "upload:"+other)
	if err != nil {
		t.Fatal(err)
	}
	if _, res := objectsOpenSSE(t, url(enc, tk.ID), nil); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("ticket of another key: %d", res.StatusCode)
	}
	s, res := objectsOpenSSE(t, url(other, tk.ID), nil)
	if s == nil {
		t.Fatalf("ticket for its own key: %d", res.StatusCode)
	}
	s.close()
	if _, res := objectsOpenSSE(t, url(other, tk.ID), nil); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("reused ticket: %d", res.StatusCode)
	}
	// A transfer ticket is not an upload ticket.
	tk, _ = mgr.NewTicket(ctx, root, "transfer:"+enc)
	if _, res := objectsOpenSSE(t, url(enc, tk.ID), nil); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("transfer ticket: %d", res.StatusCode)
	}
	// Expiry.
	tk, _ = mgr.NewTicket(ctx, root, "upload:"+enc)
	mu.Lock()
	now = now.Add(session.DefaultTicketTTL + time.Second)
	mu.Unlock()
	if _, res := objectsOpenSSE(t, url(enc, tk.ID), nil); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("expired ticket: %d", res.StatusCode)
	}
	if _, res := objectsOpenSSE(t, e.URL+"/api/objects/upload-progress/"+enc, nil); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no credentials: %d", res.StatusCode)
	}
}

func TestObjectsUpload(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	objectsBucket(e, "upl", rootUser)

	r := objectsUpload(root, "upl", "notes/readme.md", "", []byte("# hi")).want(http.StatusOK)
	if r.obj()["size"].(float64) != 4 {
		t.Fatalf("answer %s", r.Body)
	}
	var d struct {
		ContentType string `json:"content_type"`
	}
	root.do("GET", "/api/objects/detail/upl/"+b64("notes/readme.md"), nil).want(http.StatusOK).json(&d)
	if !strings.HasPrefix(d.ContentType, "text/markdown") {
		t.Fatalf("type from the extension: %q", d.ContentType)
	}
	objectsUpload(root, "upl", "empty", "", nil).want(http.StatusOK)
	if got := objectsRead(e, "upl", "empty"); len(got) != 0 {
		t.Fatalf("empty upload stored %q", got)
	}

	objectsUpload(root, "nobucket", "k", "", []byte("x")).wantError(http.StatusNotFound, "NoSuchBucket")
	objectsUpload(e.user("reader", "readonly"), "upl", "k", "", []byte("x")).wantError(http.StatusForbidden, "AccessDenied")
	objectsUpload(e.anon(), "upl", "k", "", []byte("x")).wantError(http.StatusUnauthorized, "Unauthorized")
	root.do("POST", "/api/objects/upload/upl/"+b64("k"), "plain body").wantError(http.StatusUnsupportedMediaType, "UnsupportedMediaType")
	root.do("POST", "/api/objects/upload/upl/%25%25", "x").wantError(http.StatusBadRequest, "InvalidKey")
	// A form without a file part.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("size", "3")
	mw.Close()
	root.header.Set("Content-Type", mw.FormDataContentType())
	root.do("POST", "/api/objects/upload/upl/"+b64("k"), buf.Bytes()).wantError(http.StatusBadRequest, "InvalidRequest")
	root.header.Del("Content-Type")

	// A declared length past the largest object is refused before a byte
	// of the body is read.
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/objects/upload/upl/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: multipart/form-data; boundary=zz\r\nContent-Length: %d\r\n\r\n", b64("huge"), root.bearer, int64(1)<<50)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "PayloadTooLarge") {
		t.Fatalf("huge upload: %d %s", res.StatusCode, body)
	}
}

// TestObjectsUploadLimit: uploads are rate-limited per client.
func TestObjectsUploadLimit(t *testing.T) {
	e := newEnv(t, func(c *mgmtapi.Config) { c.Limits.Uploads = 2 })
	root := e.root()
	objectsBucket(e, "lim", rootUser)
	objectsUpload(root, "lim", "1", "", []byte("1")).want(http.StatusOK)
	objectsUpload(root, "lim", "2", "", []byte("2")).want(http.StatusOK)
	objectsUpload(root, "lim", "3", "", []byte("3")).wantError(http.StatusTooManyRequests, "RateLimitExceeded")
	if objectsExists(e, "lim", "3") {
		t.Fatal("a refused upload was stored")
	}
}

// TestObjectsUploadMultipart: past the single-PUT size, an upload is
// stored as a multipart object, streamed part by part.
func TestObjectsUploadMultipart(t *testing.T) {
	t.Cleanup(mgmtapi.SetUploadThresholds(1<<20, object.MinPartSize))
	e := newEnv(t)
	root := e.root()
	objectsBucket(e, "mpu", rootUser)
	data := objectsRandom(12 << 20)
	objectsUpload(root, "mpu", "m.bin", "application/x-thing", data).want(http.StatusOK)
	var d struct {
		IsMultipart bool   `json:"is_multipart"`
		PartCount   int    `json:"part_count"`
		Size        int64  `json:"size"`
		ContentType string `json:"content_type"`
	}
	root.do("GET", "/api/objects/detail/mpu/"+b64("m.bin"), nil).want(http.StatusOK).json(&d)
	if !d.IsMultipart || d.PartCount != 3 || d.Size != int64(len(data)) || d.ContentType != "application/x-thing" {
		t.Fatalf("detail %+v", d)
	}
	if !bytes.Equal(objectsRead(e, "mpu", "m.bin"), data) {
		t.Fatal("stored bytes differ")
	}
	// No upload is left in progress.
	page, err := e.objects.ListUploads(context.Background(), "mpu", meta.UploadListOptions{})
	if err != nil || len(page.Uploads) != 0 {
		t.Fatalf("uploads left: %+v %v", page.Uploads, err)
	}
}

func TestObjectsDownload(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	root := e.root()
	objectsBucket(e, "dlb", rootUser)
	if err := e.objects.SetVersioning(ctx, "dlb", meta.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	objectsPut(e, "dlb", "d/ten.txt", []byte("old"), object.Attrs{})
	objectsPut(e, "dlb", "d/ten.txt", []byte("0123456789"), object.Attrs{ContentType: "text/plain"})
	path := "/api/objects/download/dlb/" + b64("d/ten.txt")

	r := root.do("GET", path, nil).want(http.StatusOK)
	if string(r.Body) != "0123456789" || r.Header.Get("Content-Type") != "text/plain" ||
		r.Header.Get("Content-Disposition") != `attachment; filename="ten.txt"` {
		t.Fatalf("download %q %v", r.Body, r.Header)
	}
	for rg, want := range map[string]string{"bytes=2-5": "2345", "bytes=-3": "789", "bytes=8-": "89", "bytes=1-2,4-5": "0123456789"} {
		root.header.Set("Range", rg)
		r := root.do("GET", path, nil)
		if string(r.Body) != want {
			t.Errorf("%s: %q", rg, r.Body)
		}
		if want != "0123456789" && (r.Status != http.StatusPartialContent || !strings.HasSuffix(r.Header.Get("Content-Range"), "/10")) {
			t.Errorf("%s: %d %v", rg, r.Status, r.Header)
		}
	}
	root.header.Set("Range", "bytes=10-")
	root.do("GET", path, nil).wantError(http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
	root.header.Del("Range")
	root.header.Set("If-None-Match", r.Header.Get("ETag"))
	root.do("GET", path, nil).want(http.StatusNotModified)
	root.header.Del("If-None-Match")

	var det struct {
		Versions []struct {
			VersionID string `json:"version_id"`
		} `json:"versions"`
	}
	root.do("GET", "/api/objects/detail/dlb/"+b64("d/ten.txt"), nil).want(http.StatusOK).json(&det)
	if len(det.Versions) != 2 {
		t.Fatalf("versions %+v", det)
	}
	r = root.do("GET", path+"?versionId="+det.Versions[1].VersionID, nil).want(http.StatusOK)
	if string(r.Body) != "old" {
		t.Fatalf("old version %q", r.Body)
	}
	root.do("GET", "/api/objects/download/dlb/"+b64("nope"), nil).wantError(http.StatusNotFound, "NoSuchKey")
	root.do("GET", "/api/objects/download/nob/"+b64("nope"), nil).wantError(http.StatusNotFound, "NoSuchBucket")
	e.user("nodl").do("GET", path, nil).wantError(http.StatusForbidden, "AccessDenied")
	e.anon().do("GET", path, nil).wantError(http.StatusUnauthorized, "Unauthorized")
}

func TestObjectsView(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	objectsBucket(e, "vwb", rootUser)
	var pngBuf bytes.Buffer
	png.Encode(&pngBuf, image.NewRGBA(image.Rect(0, 0, 4, 4)))
	objectsPut(e, "vwb", "t.txt", []byte("hello\nworld"), object.Attrs{ContentType: "text/plain"})
	objectsPut(e, "vwb", "c.json", []byte(`{"a":1,"b":[true]}`), object.Attrs{ContentType: "application/json"})
	objectsPut(e, "vwb", "noext", []byte("plain text without a type"), object.Attrs{})
	objectsPut(e, "vwb", "img/p.png", pngBuf.Bytes(), object.Attrs{ContentType: "image/png"})
	objectsPut(e, "vwb", "page.html", []byte("<script>alert(1)</script>"), object.Attrs{ContentType: "text/html"})
	objectsPut(e, "vwb", "pic.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), object.Attrs{ContentType: "image/svg+xml"})
	objectsPut(e, "vwb", "blob.bin", []byte{0, 1, 2, 0xff, 0xfe}, object.Attrs{})
	// A character straddles the 1 MiB mark: the preview stops before it.
	big := append([]byte("a"), bytes.Repeat([]byte("é"), (1<<20)/2+10)...)
	objectsPut(e, "vwb", "big.txt", big, object.Attrs{ContentType: "text/plain"})

	type view struct {
		Metadata struct {
			Key, ContentType, ETag, LastModified string
			Size                                 int64
		}
		Preview struct {
			Available bool
			Type      string
			Content   string
			Truncated bool
			URL       string
		}
	}
	get := func(key string) view {
		t.Helper()
		var v view
		root.do("GET", "/api/objects/view/vwb/"+b64(key), nil).want(http.StatusOK).json(&v)
		return v
	}
	if v := get("t.txt"); v.Preview.Type != "text" || v.Preview.Content != "hello\nworld" || v.Metadata.Size != 11 ||
		v.Metadata.ContentType != "text/plain" || !strings.HasPrefix(v.Metadata.ETag, `"`) {
		t.Fatalf("text view %+v", v)
	}
	if v := get("c.json"); v.Preview.Type != "json" || v.Preview.Content != "{\n  \"a\": 1,\n  \"b\": [\n    true\n  ]\n}" {
		t.Fatalf("json view %+v", v)
	}
	if v := get("noext"); !v.Preview.Available || v.Preview.Content != "plain text without a type" {
		t.Fatalf("sniffed text %+v", v)
	}
	v := get("img/p.png")
	if v.Preview.Type != "image" || v.Preview.URL != "/api/objects/preview/vwb/"+b64("img/p.png") ||
		!strings.HasPrefix(v.Preview.Content, "data:image/png;base64,") {
		t.Fatalf("image view %+v", v)
	}
	r := root.do("GET", v.Preview.URL, nil).want(http.StatusOK)
	if r.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "inline") ||
		!bytes.Equal(r.Body, pngBuf.Bytes()) {
		t.Fatalf("image preview %v", r.Header)
	}
	// HTML and SVG are shown as their source, never served inline.
	for _, k := range []string{"page.html", "pic.svg"} {
		v := get(k)
		if v.Preview.Type != "text" || !strings.Contains(v.Preview.Content, "alert(1)") {
			t.Fatalf("%s view %+v", k, v)
		}
		r := root.do("GET", "/api/objects/preview/vwb/"+b64(k), nil).want(http.StatusOK)
		if r.Header.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("%s preview headers %v", k, r.Header)
		}
		r = root.do("GET", "/api/objects/download/vwb/"+b64(k), nil).want(http.StatusOK)
		if !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(r.Header.Get("Content-Security-Policy"), "sandbox") {
			t.Fatalf("%s download headers %v", k, r.Header)
		}
	}
	if v := get("blob.bin"); v.Preview.Available || v.Preview.Content != "" {
		t.Fatalf("binary view %+v", v)
	}
	if v := get("big.txt"); !v.Preview.Truncated || len(v.Preview.Content) != 1<<20-1 || v.Metadata.Size != int64(len(big)) {
		t.Fatalf("big view: truncated %v, %d bytes", v.Preview.Truncated, len(v.Preview.Content))
	}
	root.do("GET", "/api/objects/view/vwb/"+b64("none"), nil).wantError(http.StatusNotFound, "NoSuchKey")
	e.user("noview").do("GET", "/api/objects/view/vwb/"+b64("t.txt"), nil).wantError(http.StatusForbidden, "AccessDenied")
	e.user("noview2").do("GET", "/api/objects/preview/vwb/"+b64("img/p.png"), nil).wantError(http.StatusForbidden, "AccessDenied")
	e.anon().do("GET", "/api/objects/view/vwb/"+b64("t.txt"), nil).wantError(http.StatusUnauthorized, "Unauthorized")
}
