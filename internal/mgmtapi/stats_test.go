package mgmtapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/cofferstore/coffer/internal/iam"
	"github.com/cofferstore/coffer/internal/object"
)

type statsFigures struct {
	Scope                  string `json:"scope"`
	Credentials            int    `json:"credentials"`
	Buckets                int    `json:"buckets"`
	Objects                int64  `json:"objects"`
	TotalStorage           int64  `json:"total_storage"`
	TotalStorageHuman      string `json:"total_storage_human"`
	CurrentStorage         int64  `json:"current_storage"`
	Versions               int64  `json:"versions"`
	ActiveMultipartUploads int64  `json:"active_multipart_uploads"`
	ActivePresignedURLs    int    `json:"active_presigned_urls"`
}

func statsGet(c *client) statsFigures {
	var s statsFigures
	c.do("GET", "/api/stats", nil).want(http.StatusOK).json(&s)
	return s
}

func TestStats(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	root := e.root()
	if got := statsGet(root); got != (statsFigures{Scope: "system", TotalStorageHuman: "0 B"}) {
		t.Fatalf("empty system: %+v", got)
	}
	e.anon().do("GET", "/api/stats", nil).wantError(http.StatusUnauthorized, "Unauthorized")

	// A known set of writes: two buckets, one of them a user's and
	// versioned; five PUTs of which one overwrites, one delete making a
	// marker; an upload in progress; two keys; a share link.
	user := e.user("statuser", "readwrite")
	tasksBucket(t, e, "sys", rootUser)
	tasksBucket(t, e, "mine", "statuser")
	if err := e.objects.SetVersioning(ctx, "mine", "Enabled"); err != nil {
		t.Fatal(err)
	}
	tasksPut(t, e, "sys", "a", "", make([]byte, 1000))
	tasksPut(t, e, "sys", "b", "", make([]byte, 2000))
	tasksPut(t, e, "mine", "c", "", make([]byte, 100))
	tasksPut(t, e, "mine", "c", "", make([]byte, 300)) // a second version
	tasksPut(t, e, "mine", "d", "", make([]byte, 50))
	if _, err := e.objects.DeleteObject(ctx, object.DeleteInput{Bucket: "mine", Key: "d"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.objects.CreateUpload(ctx, object.CreateUploadInput{Bucket: "mine", Key: "big"}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"statuser", "statuser"} {
		if _, err := e.iam.CreateAccessKey(ctx, iam.AccessKeyInput{User: u}); err != nil {
			t.Fatal(err)
		}
	}
	e.user("someoneelse", "readonly")
	if _, err := e.iam.CreateAccessKey(ctx, iam.AccessKeyInput{User: "someoneelse"}); err != nil {
		t.Fatal(err)
	}
	user.do("POST", "/api/presigned-urls", map[string]any{"bucket_name": "mine", "object_key": "c"}).want(http.StatusCreated)
	root.do("POST", "/api/presigned-urls", map[string]any{"bucket_name": "sys", "object_key": "a"}).want(http.StatusCreated)

	// Current: a 1000, b 2000, c 300 (d is a delete marker). Stored
	// versions: those, c's 100 and d's 50, and the marker.
	want := statsFigures{Scope: "system", Credentials: 3, Buckets: 2, Objects: 3, TotalStorage: 3450,
		TotalStorageHuman: "3.4 KB", CurrentStorage: 3300, Versions: 6, ActiveMultipartUploads: 1, ActivePresignedURLs: 2}
	if got := statsGet(root); got != want {
		t.Fatalf("system stats\n got %+v\nwant %+v", got, want)
	}
	if got := statsGet(e.user("statadmin", "admin")); got != want {
		t.Fatalf("admin's stats\n got %+v\nwant %+v", got, want)
	}
	// A plain user sees what it owns: its bucket, keys and link.
	want = statsFigures{Scope: "owned", Credentials: 2, Buckets: 1, Objects: 1, TotalStorage: 450,
		TotalStorageHuman: "450 B", CurrentStorage: 300, Versions: 4, ActiveMultipartUploads: 1, ActivePresignedURLs: 1}
	if got := statsGet(user); got != want {
		t.Fatalf("owned stats\n got %+v\nwant %+v", got, want)
	}
	if got := statsGet(e.user("nothing")); got != (statsFigures{Scope: "owned", TotalStorageHuman: "0 B"}) {
		t.Fatalf("a user owning nothing: %+v", got)
	}
}

func TestStatsHumanStorage(t *testing.T) {
	e := newEnv(t)
	tasksBucket(t, e, "human", rootUser)
	tasksPut(t, e, "human", "a", "", make([]byte, 1<<20))
	if got := statsGet(e.root()); got.TotalStorage != 1<<20 || got.TotalStorageHuman != "1.0 MB" {
		t.Fatalf("1 MiB: %+v", got)
	}
}
