package object_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/cofferstore/coffer/internal/meta"
	"github.com/cofferstore/coffer/internal/object"
)

// objectACLOf reads the stored ACL of a version ("" for the latest).
func objectACLOf(t *testing.T, f *fixture, key, vid string) []byte {
	t.Helper()
	acl, _, err := f.svc.ObjectACL(context.Background(), "bkt", key, vid)
	if err != nil {
		t.Fatalf("ObjectACL(%s, %q): %v", key, vid, err)
	}
	return acl
}

// TestObjectACLWrites: the writes that create a version store the ACL
// they are given (a copy never takes its source's), and PutObjectACL
// replaces one version's, atomically with what fn saw.
func TestObjectACLWrites(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1000)
	aclA, aclB := []byte(`{"grants":["a"]}`), []byte(`{"grants":["b"]}`)
	small, big := []byte("small"), bytes.Repeat([]byte("x"), 2000)
	for key, data := range map[string][]byte{"small": small, "big": big} {
		if _, err := f.svc.PutObject(ctx, object.PutInput{Bucket: "bkt", Key: key, Body: bytes.NewReader(data), Size: int64(len(data)),
			Attrs: object.Attrs{ACL: aclA}}); err != nil {
			t.Fatal(err)
		}
		if got := objectACLOf(t, f, key, ""); !bytes.Equal(got, aclA) {
			t.Errorf("PutObject(%s) stored ACL %q, want %q", key, got, aclA)
		}
	}
	if _, err := f.put(t, "plain", small, int64(len(small))); err != nil {
		t.Fatal(err)
	}
	if got := objectACLOf(t, f, "plain", ""); got != nil {
		t.Errorf("PutObject without an ACL stored %q", got)
	}

	for _, c := range []struct {
		key     string
		acl     []byte
		replace bool
	}{{"copy-default", nil, false}, {"copy-acl", aclB, false}, {"copy-replace", aclB, true}} {
		if _, err := f.svc.CopyObject(ctx, object.CopyInput{Source: object.CopySource{Bucket: "bkt", Key: "small"}, Bucket: "bkt", Key: c.key,
			Replace: c.replace, Attrs: object.Attrs{ACL: c.acl}}); err != nil {
			t.Fatal(err)
		}
		if got := objectACLOf(t, f, c.key, ""); !bytes.Equal(got, c.acl) {
			t.Errorf("CopyObject(%s) stored ACL %q, want %q (never the source's)", c.key, got, c.acl)
		}
	}

	u, err := f.svc.CreateUpload(ctx, object.CreateUploadInput{Bucket: "bkt", Key: "mp", Attrs: object.Attrs{ACL: aclB}})
	if err != nil {
		t.Fatal(err)
	}
	part, err := f.svc.UploadPart(ctx, object.PartInput{Bucket: "bkt", Key: "mp", UploadID: u.ID, Number: 1, Body: bytes.NewReader(big), Size: int64(len(big))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CompleteUpload(ctx, object.CompleteInput{Bucket: "bkt", Key: "mp", UploadID: u.ID,
		Parts: []object.CompletePart{{Number: 1, ETag: part.ETag}}}); err != nil {
		t.Fatal(err)
	}
	if got := objectACLOf(t, f, "mp", ""); !bytes.Equal(got, aclB) {
		t.Errorf("multipart object has ACL %q, want the upload's %q", got, aclB)
	}

	// PutObjectACL per version.
	if err := f.svc.SetVersioning(ctx, "bkt", meta.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	v1, err := f.put(t, "v", small, int64(len(small)))
	if err != nil {
		t.Fatal(err)
	}
	v2, err := f.put(t, "v", big, int64(len(big)))
	if err != nil {
		t.Fatal(err)
	}
	id, err := f.svc.PutObjectACL(ctx, "bkt", "v", v1.VersionID, func(cur []byte) ([]byte, error) {
		if cur != nil {
			t.Errorf("fn saw ACL %q, want none", cur)
		}
		return aclA, nil
	})
	if err != nil || id != v1.VersionID {
		t.Fatalf("PutObjectACL(v1) = %q, %v", id, err)
	}
	if got := objectACLOf(t, f, "v", v1.VersionID); !bytes.Equal(got, aclA) {
		t.Errorf("v1 ACL %q, want %q", got, aclA)
	}
	if got := objectACLOf(t, f, "v", ""); got != nil {
		t.Errorf("the latest version's ACL changed too: %q", got)
	}
	id, err = f.svc.PutObjectACL(ctx, "bkt", "v", "", func([]byte) ([]byte, error) { return aclB, nil })
	if err != nil || id != v2.VersionID {
		t.Fatalf("PutObjectACL(latest) = %q, %v; want %q", id, err, v2.VersionID)
	}
	boom := errors.New("refused")
	if _, err := f.svc.PutObjectACL(ctx, "bkt", "v", "", func([]byte) ([]byte, error) { return nil, boom }); err != boom {
		t.Errorf("PutObjectACL with a failing fn = %v, want its error as is", err)
	}
	if got := objectACLOf(t, f, "v", ""); !bytes.Equal(got, aclB) {
		t.Errorf("a refused PutObjectACL changed the ACL to %q", got)
	}
	never := func([]byte) ([]byte, error) { t.Error("fn called for a missing version"); return nil, nil }
	if _, err := f.svc.PutObjectACL(ctx, "bkt", "v", "0000000000000001", never); !errors.Is(err, object.ErrNoSuchVersion) {
		t.Errorf("PutObjectACL(unknown version) = %v, want ErrNoSuchVersion", err)
	}
	if _, err := f.svc.PutObjectACL(ctx, "bkt", "missing", "", never); !errors.Is(err, object.ErrNoSuchKey) {
		t.Errorf("PutObjectACL(missing key) = %v, want ErrNoSuchKey", err)
	}
	if _, err := f.svc.DeleteObject(ctx, object.DeleteInput{Bucket: "bkt", Key: "v"}); err != nil {
		t.Fatal(err)
	}
	var dm *object.DeleteMarkerError
	if _, err := f.svc.PutObjectACL(ctx, "bkt", "v", "", never); !errors.As(err, &dm) {
		t.Errorf("PutObjectACL on a delete marker = %v, want a DeleteMarkerError", err)
	}
	if _, _, err := f.svc.ObjectACL(ctx, "bkt", "v", ""); !errors.As(err, &dm) {
		t.Errorf("ObjectACL on a delete marker = %v, want a DeleteMarkerError", err)
	}
}
