package mgmtapi_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sort"
	"testing"

	"github.com/cofferstore/coffer/internal/object"
)

type objectsDeleteAnswer struct {
	Message string
	Deleted []struct {
		Key     string
		Success bool
	}
	Errors []struct {
		Key   string `json:"key"`
		Error string `json:"error"`
	}
}

func objectsPolicy(e *env, name, doc string) {
	e.t.Helper()
	if _, err := e.iam.CreatePolicy(context.Background(), name, []byte(doc)); err != nil {
		e.t.Fatal(err)
	}
}

func TestObjectsDeleteFolder(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	objectsBucket(e, "fold", rootUser)
	var keys []string
	for i := range 30 {
		keys = append(keys, fmt.Sprintf("dir/sub%d/f%02d", i%3, i))
	}
	keys = append(keys, "dir/", "dir/keep-me", "dirt.txt")
	objectsPutMany(e, "fold", keys)
	// A user who may delete everything under dir/ except dir/keep*.
	objectsPolicy(e, "del-but-keep", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:ListBucket","s3:DeleteObject"],"Resource":["arn:aws:s3:::fold","arn:aws:s3:::fold/*"]},
		{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::fold/dir/keep*"}]}`)
	u := e.user("deleter", "del-but-keep")

	var a objectsDeleteAnswer
	u.do("DELETE", "/api/objects/fold/"+b64("dir/"), nil).want(http.StatusOK).json(&a)
	if len(a.Deleted) != 31 || len(a.Errors) != 1 || a.Errors[0].Key != "dir/keep-me" || a.Errors[0].Error != "AccessDenied" {
		t.Fatalf("folder delete: %d deleted, errors %+v", len(a.Deleted), a.Errors)
	}
	for _, d := range a.Deleted {
		if !d.Success || objectsExists(e, "fold", d.Key) {
			t.Fatalf("%q reported deleted: %+v", d.Key, d)
		}
	}
	if !objectsExists(e, "fold", "dir/keep-me") || !objectsExists(e, "fold", "dirt.txt") {
		t.Fatal("deleted beyond the folder or past a deny")
	}
	// A single key; a missing key succeeds, as in S3.
	root.do("DELETE", "/api/objects/fold/"+b64("dirt.txt"), nil).want(http.StatusOK)
	root.do("DELETE", "/api/objects/fold/"+b64("never-there"), nil).want(http.StatusOK)
	if objectsExists(e, "fold", "dirt.txt") {
		t.Fatal("dirt.txt survived")
	}
	// The seed's route, with a plain key.
	objectsPut(e, "fold", "seed/x.txt", []byte("x"), object.Attrs{})
	r := root.do("DELETE", "/api/buckets/fold/objects/seed/x.txt", nil).want(http.StatusOK)
	if r.obj()["message"] != "Operation completed successfully" || objectsExists(e, "fold", "seed/x.txt") {
		t.Fatalf("seed delete %s", r.Body)
	}

	e.user("ro", "readonly").do("DELETE", "/api/objects/fold/"+b64("dir/keep-me"), nil).wantError(http.StatusForbidden, "AccessDenied")
	e.user("nolist").do("DELETE", "/api/objects/fold/"+b64("dir/"), nil).wantError(http.StatusForbidden, "AccessDenied")
	root.do("DELETE", "/api/objects/nofold/"+b64("a"), nil).wantError(http.StatusNotFound, "NoSuchBucket")
	root.do("DELETE", "/api/objects/fold/"+b64("a")+"%3D", nil).wantError(http.StatusBadRequest, "InvalidKey")
	e.anon().do("DELETE", "/api/objects/fold/"+b64("a"), nil).wantError(http.StatusUnauthorized, "Unauthorized")
}

func TestObjectsBulkDelete(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	objectsBucket(e, "bulk", rootUser)
	objectsPutMany(e, "bulk", []string{"a", "b", "c", "f/1", "f/2", "keep"})
	var a struct {
		Deleted []string
		Errors  []struct {
			Key   string `json:"key"`
			Error string `json:"error"`
		}
	}
	root.do("POST", "/api/objects/bulk/delete", map[string]any{"keys": []string{"a", "b", "missing", "f/", ""}}).want(http.StatusOK).json(&a)
	sort.Strings(a.Deleted)
	if fmt.Sprint(a.Deleted) != "[a b f/1 f/2 missing]" || len(a.Errors) != 1 || a.Errors[0].Error != "InvalidKey" {
		t.Fatalf("bulk delete %+v", a)
	}
	for _, k := range []string{"a", "b", "f/1", "f/2"} {
		if objectsExists(e, "bulk", k) {
			t.Fatalf("%s survived", k)
		}
	}
	// The seed's alias, and a user who may delete nothing.
	root.do("POST", "/api/buckets/bulk/objects/delete", map[string]any{"keys": []string{"c"}}).want(http.StatusOK)
	if objectsExists(e, "bulk", "c") {
		t.Fatal("c survived")
	}
	e.user("ro", "readonly").do("POST", "/api/objects/bulk/delete", map[string]any{"keys": []string{"keep"}}).want(http.StatusOK).json(&a)
	if len(a.Deleted) != 0 || len(a.Errors) != 1 || a.Errors[0].Error != "AccessDenied" || !objectsExists(e, "bulk", "keep") {
		t.Fatalf("readonly bulk delete %+v", a)
	}
	root.do("POST", "/api/objects/bulk/delete", map[string]any{"keys": []string{}}).wantError(http.StatusBadRequest, "InvalidArgument")
	root.do("POST", "/api/objects/bulk/delete", map[string]any{"keys": make([]string, 1001)}).wantError(http.StatusBadRequest, "InvalidArgument")
	root.do("POST", "/api/objects/nobulk/delete", map[string]any{"keys": []string{"a"}}).wantError(http.StatusNotFound, "NoSuchBucket")
	e.anon().do("POST", "/api/objects/bulk/delete", map[string]any{"keys": []string{"a"}}).wantError(http.StatusUnauthorized, "Unauthorized")
}

func TestObjectsCreateFolder(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	objectsBucket(e, "mkd", rootUser)
	r := root.do("POST", "/api/objects/mkd/folder", map[string]string{"path": "photos/2024"}).want(http.StatusCreated)
	if r.obj()["key"] != "photos/2024/" || !objectsExists(e, "mkd", "photos/2024/") {
		t.Fatalf("created %s", r.Body)
	}
	root.do("POST", "/api/objects/mkd/folder", map[string]string{"path": "photos/2024/"}).wantError(http.StatusConflict, "FolderAlreadyExists")
	// ra-hcp's field name.
	root.do("POST", "/api/buckets/mkd/objects/folder", map[string]string{"folder_name": "docs"}).want(http.StatusCreated)
	if !objectsExists(e, "mkd", "docs/") {
		t.Fatal("ra-hcp's folder route made no folder")
	}
	root.do("POST", "/api/objects/mkd/folder", map[string]string{"path": "//"}).wantError(http.StatusBadRequest, "InvalidArgument")
	root.do("POST", "/api/objects/mkd/folder", map[string]string{}).wantError(http.StatusBadRequest, "InvalidArgument")
	root.do("POST", "/api/objects/nomkd/folder", map[string]string{"path": "x"}).wantError(http.StatusNotFound, "NoSuchBucket")
	e.user("ro", "readonly").do("POST", "/api/objects/mkd/folder", map[string]string{"path": "x"}).wantError(http.StatusForbidden, "AccessDenied")
	e.anon().do("POST", "/api/objects/mkd/folder", map[string]string{"path": "x"}).wantError(http.StatusUnauthorized, "Unauthorized")
}

type objectsTransferAnswer struct {
	Operation string
	Results   []struct{ SourceKey, DestinationKey string }
	Errors    []struct {
		Key   string `json:"key"`
		Error string `json:"error"`
	}
}

func TestObjectsCopyMoveRename(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	objectsBucket(e, "cmr", rootUser)
	objectsBucket(e, "cmr-other", rootUser)
	var keys []string
	for i := range 50 {
		keys = append(keys, fmt.Sprintf("src/%02d/item %d.txt", i%5, i))
	}
	objectsPutMany(e, "cmr", keys)
	check := func(bucket, prefix string, want bool) {
		t.Helper()
		for _, k := range keys {
			dk := prefix + k[len("src/"):]
			if objectsExists(e, bucket, dk) != want {
				t.Fatalf("%s/%s exists=%v", bucket, dk, !want)
			}
			if want && !bytes.Equal(objectsRead(e, bucket, dk), []byte("v:"+k)) {
				t.Fatalf("%s/%s has other bytes", bucket, dk)
			}
		}
	}
	var a objectsTransferAnswer
	root.do("POST", "/api/objects/cmr/copy", map[string]string{"sourceKey": "src/", "destinationKey": "copy"}).want(http.StatusOK).json(&a)
	if len(a.Results) != 50 || len(a.Errors) != 0 || a.Operation != "copy" {
		t.Fatalf("copy %d results, errors %+v", len(a.Results), a.Errors)
	}
	check("cmr", "copy/", true)
	check("cmr", "src/", true)

	root.do("POST", "/api/objects/cmr/move", map[string]string{"sourceKey": "copy/", "destinationKey": "moved/", "destinationBucket": "cmr-other"}).
		want(http.StatusOK).json(&a)
	if len(a.Results) != 50 || len(a.Errors) != 0 {
		t.Fatalf("move %d results, errors %+v", len(a.Results), a.Errors)
	}
	check("cmr-other", "moved/", true)
	check("cmr", "copy/", false)

	root.do("POST", "/api/objects/cmr/rename", map[string]string{"sourceKey": "src/", "destinationKey": "renamed/"}).want(http.StatusOK).json(&a)
	if len(a.Results) != 50 {
		t.Fatalf("rename %d results", len(a.Results))
	}
	check("cmr", "renamed/", true)
	check("cmr", "src/", false)

	// One key, into a folder.
	root.do("POST", "/api/objects/cmr/copy", map[string]string{"sourceKey": "renamed/00/item 0.txt", "destinationKey": "one/"}).want(http.StatusOK).json(&a)
	if a.Results[0].DestinationKey != "one/item 0.txt" || !objectsExists(e, "cmr", "one/item 0.txt") {
		t.Fatalf("copy into a folder %+v", a)
	}

	// A user who may read and write but delete only some sources: the
	// others stay where they are and are not copied.
	objectsPolicy(e, "mover", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:ListBucket","s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::cmr","arn:aws:s3:::cmr/*"]},
		{"Effect":"Allow","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::cmr/renamed/00/*"}]}`)
	mover := e.user("mover", "mover")
	mover.do("POST", "/api/objects/cmr/move", map[string]string{"sourceKey": "renamed/", "destinationKey": "m2/"}).want(http.StatusOK).json(&a)
	if len(a.Results) != 10 || len(a.Errors) != 40 || a.Errors[0].Error != "AccessDenied" {
		t.Fatalf("partial move: %d results, %d errors", len(a.Results), len(a.Errors))
	}
	if objectsExists(e, "cmr", "m2/01/item 1.txt") || !objectsExists(e, "cmr", "renamed/01/item 1.txt") ||
		!objectsExists(e, "cmr", "m2/00/item 0.txt") || objectsExists(e, "cmr", "renamed/00/item 0.txt") {
		t.Fatal("a refused move copied, or an allowed one did not delete")
	}

	root.do("POST", "/api/objects/cmr/copy", map[string]string{"sourceKey": "renamed/", "destinationKey": "renamed/inner/"}).
		wantError(http.StatusBadRequest, "InvalidArgument")
	root.do("POST", "/api/objects/cmr/copy", map[string]string{"sourceKey": "one/item 0.txt", "destinationKey": "one/item 0.txt"}).
		wantError(http.StatusBadRequest, "InvalidArgument")
	root.do("POST", "/api/objects/cmr/rename", map[string]string{"sourceKey": "one/", "destinationKey": "x/", "destinationBucket": "cmr-other"}).
		wantError(http.StatusBadRequest, "InvalidArgument")
	root.do("POST", "/api/objects/cmr/copy", map[string]string{"sourceKey": "nothing/", "destinationKey": "x/"}).wantError(http.StatusNotFound, "NoSuchKey")
	root.do("POST", "/api/objects/cmr/copy", map[string]string{"sourceKey": "nothing", "destinationKey": "x"}).wantError(http.StatusNotFound, "NoSuchKey")
	root.do("POST", "/api/objects/cmr/copy", map[string]string{"sourceKey": "one/", "destinationKey": "x/", "destinationBucket": "nope-bucket"}).
		wantError(http.StatusNotFound, "NoSuchBucket")
	root.do("POST", "/api/objects/cmr/copy", map[string]string{"sourceKey": "one/"}).wantError(http.StatusBadRequest, "InvalidArgument")
	e.user("ro", "readonly").do("POST", "/api/objects/cmr/copy", map[string]string{"sourceKey": "one/item 0.txt", "destinationKey": "y"}).
		wantError(http.StatusForbidden, "AccessDenied")
	e.user("stranger").do("POST", "/api/objects/cmr/move", map[string]string{"sourceKey": "one/", "destinationKey": "y/"}).
		wantError(http.StatusForbidden, "AccessDenied")
	e.anon().do("POST", "/api/objects/cmr/copy", map[string]string{"sourceKey": "a", "destinationKey": "b"}).wantError(http.StatusUnauthorized, "Unauthorized")
}
