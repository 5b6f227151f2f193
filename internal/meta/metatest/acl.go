package metatest

import (
	"bytes"
	"context"
	"testing"

	"github.com/cofferstore/coffer/internal/meta"
)

// Object ACLs are opaque bytes to the store: these documents only need to
// differ from one another, and hold bytes a text column or a C string
// would mangle.
var (
	aclA = []byte(`{"owner":"writer","grants":[{"permission":"READ"}]}` + "\x00\xff")
	aclB = []byte(`{"grants":[]}`)
)

func withACL(o meta.Object, acl []byte) meta.Object {
	o.ACL = acl
	return o
}

// checkACL compares a version's ACL, nil and empty being the same.
func checkACL(t *testing.T, what string, want []byte, got meta.Object) {
	t.Helper()
	if !bytes.Equal(got.ACL, want) {
		t.Errorf("%s: object %q version %q: ACL = %q, want %q", what, got.Key, got.VersionID, got.ACL, want)
	}
}

// testObjectACL: Object.ACL survives every path that stores or returns a
// record (PutObject, GetObject, the listings, the records a write or delete
// returns, an upload's template through CompleteUpload, a copy made by
// reading one record and writing another), and UpdateObject changes it
// (and only it) per version, keeping it when it changes something else.
func (h *harness) testObjectACL(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	inline := withACL(fullObject("b", "inline", 1), aclA)
	seg := withACL(segmentObject("b", "seg", "blob-seg", 1), aclB)
	plain := segmentObject("b", "plain", "blob-plain", 1)
	for _, o := range []meta.Object{inline, seg, plain} {
		mustPut(t, s, o, nil)
		got := mustGet(t, s, "b", o.Key)
		checkObject(t, "GetObject", o, got, true)
		checkACL(t, "GetObject", o.ACL, got)
	}
	page, err := s.ListObjects(ctx, "b", meta.ListOptions{})
	if err != nil || len(page.Objects) != 3 {
		t.Fatalf("ListObjects = %q, %v", pageKeys(page), err)
	}
	for i, o := range []meta.Object{inline, plain, seg} {
		checkACL(t, "listed", o.ACL, page.Objects[i])
	}

	// Tags change, the ACL stays; the ACL changes, the rest stays.
	if err := PutTags(s, ctx, "b", "inline", map[string]string{"t": "1"}, nil); err != nil {
		t.Fatalf("PutObjectTags: %v", err)
	}
	checkACL(t, "after retagging", aclA, mustGet(t, s, "b", "inline"))
	got, err := s.UpdateObject(ctx, "b", "inline", "", meta.UpdateOptions{}, func(o *meta.Object) error {
		if !bytes.Equal(o.ACL, aclA) {
			t.Errorf("UpdateObject's fn sees ACL %q, want %q", o.ACL, aclA)
		}
		o.ACL = aclB
		o.ContentType = "ignored"
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateObject(ACL): %v", err)
	}
	checkACL(t, "UpdateObject result", aclB, got)
	want := withACL(withTags(inline, map[string]string{"t": "1"}), aclB)
	checkObject(t, "after UpdateObject(ACL)", want, mustGet(t, s, "b", "inline"), true)
	checkACL(t, "after UpdateObject(ACL)", aclB, mustGet(t, s, "b", "inline"))
	if _, err := s.UpdateObject(ctx, "b", "seg", "", meta.UpdateOptions{}, func(o *meta.Object) error {
		o.ACL = nil
		return nil
	}); err != nil {
		t.Fatalf("UpdateObject(no ACL): %v", err)
	}
	checkACL(t, "ACL removed", nil, mustGet(t, s, "b", "seg"))
	if _, err := s.UpdateObject(ctx, "b", "plain", "", meta.UpdateOptions{}, func(o *meta.Object) error {
		o.ACL = aclA
		return nil
	}); err != nil {
		t.Fatalf("UpdateObject(set ACL): %v", err)
	}
	checkACL(t, "ACL set on an object without one", aclA, mustGet(t, s, "b", "plain"))

	// The records a write and a delete return carry the ACL.
	rep := mustPut(t, s, segmentObject("b", "plain", "blob-plain-2", 2), nil)
	if rep == nil {
		t.Fatal("PutObject(overwrite) replaced nothing")
	}
	checkACL(t, "replaced", aclA, *rep)
	checkACL(t, "overwritten without an ACL", nil, mustGet(t, s, "b", "plain"))
	del, err := DelObj(s, ctx, "b", "inline", nil)
	if err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	checkACL(t, "deleted", aclB, del)

	// A copy is a read and a write: the caller chooses the copy's ACL.
	src := mustGet(t, s, "b", "seg")
	cp := src
	cp.Key, cp.ACL, cp.Segments = "copy", aclA, []meta.Segment{{BlobID: "blob-copy", Size: src.Size}}
	mustPut(t, s, cp, nil)
	checkACL(t, "copy", aclA, mustGet(t, s, "b", "copy"))
	checkACL(t, "copy's source", nil, mustGet(t, s, "b", "seg"))

	// An upload's template carries the ACL to the completed object.
	u := newUpload("b", "mp", "up", 1)
	u.Object.ACL = aclA
	mustCreateUpload(t, s, u)
	gu, err := s.GetUpload(ctx, "b", "mp", "up")
	if err != nil {
		t.Fatalf("GetUpload: %v", err)
	}
	checkACL(t, "upload template", aclA, gu.Object)
	mustPutPart(t, s, u, newPart(1, "mp-1"))
	obj := completed("b", "mp", "up", []meta.Part{newPart(1, "mp-1")})
	obj.ACL = gu.Object.ACL
	if _, _, err := CompleteUpload(s, ctx, "b", "mp", "up", obj, nil); err != nil {
		t.Fatalf("CompleteUpload: %v", err)
	}
	checkACL(t, "completed", aclA, mustGet(t, s, "b", "mp"))
}

// testVersionsACL: every version has its own ACL; UpdateObject by version
// id changes that version's only, current or not, and ListObjectVersions
// returns each version's.
func (h *harness) testVersionsACL(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	setVersioning(t, s, "b", meta.VersioningEnabled)
	v1 := putVersion(t, s, withACL(fullObject("b", "k", 1), aclA)).VersionID
	v2 := putVersion(t, s, fullObject("b", "k", 2)).VersionID
	checkACL(t, "v1", aclA, getVersion(t, s, "b", "k", v1))
	checkACL(t, "v2", nil, getVersion(t, s, "b", "k", v2))
	if _, err := s.UpdateObject(ctx, "b", "k", v1, meta.UpdateOptions{}, func(o *meta.Object) error {
		o.ACL = aclB
		return nil
	}); err != nil {
		t.Fatalf("UpdateObject(v1): %v", err)
	}
	if _, err := s.UpdateObject(ctx, "b", "k", v2, meta.UpdateOptions{}, func(o *meta.Object) error {
		o.ACL = aclA
		return nil
	}); err != nil {
		t.Fatalf("UpdateObject(v2): %v", err)
	}
	want := map[string][]byte{v1: aclB, v2: aclA}
	for id, acl := range want {
		got := getVersion(t, s, "b", "k", id)
		checkACL(t, "updated version", acl, got)
		checkObject(t, "updated version", withACL(fullObject("b", "k", map[string]int{v1: 1, v2: 2}[id]), acl), got, true)
	}
	vs := allVersions(t, s, "b")
	if len(vs) != 2 {
		t.Fatalf("ListObjectVersions = %d versions, want 2", len(vs))
	}
	for _, v := range vs {
		checkACL(t, "listed version", want[v.VersionID], v)
	}

	imp, ok := s.(meta.Importer)
	if !ok {
		return
	}
	cur := withACL(sizedObject("b", "imported", 10), aclA)
	cur.VersionID = "0000000000000002"
	old := withACL(sizedObject("b", "imported", 100), aclB)
	old.VersionID = "0000000000000001"
	if err := imp.ImportVersions(ctx, []meta.Object{cur, old}); err != nil {
		t.Fatalf("ImportVersions: %v", err)
	}
	checkACL(t, "imported current", aclA, getVersion(t, s, "b", "imported", cur.VersionID))
	checkACL(t, "imported noncurrent", aclB, getVersion(t, s, "b", "imported", old.VersionID))
}

// writeACLForReopen leaves versions with ACLs (current and noncurrent, one
// updated in place) for RunReopen and returns the check to run after.
func writeACLForReopen(t *testing.T, s meta.Store) func(*testing.T, meta.Store) {
	t.Helper()
	ctx := context.Background()
	mustCreateBucket(t, s, meta.Bucket{Name: "acls", Owner: "alice", Region: "eu-1", Created: fixedTime(3)})
	setVersioning(t, s, "acls", meta.VersioningEnabled)
	v1 := putVersion(t, s, withACL(fullObject("acls", "k", 1), aclA)).VersionID
	v2 := putVersion(t, s, segmentObject("acls", "k", "blob-acl", 2)).VersionID
	if _, err := s.UpdateObject(ctx, "acls", "k", v2, meta.UpdateOptions{}, func(o *meta.Object) error {
		o.ACL = aclB
		return nil
	}); err != nil {
		t.Fatalf("UpdateObject: %v", err)
	}
	return func(t *testing.T, s meta.Store) {
		t.Helper()
		checkACL(t, "noncurrent after reopen", aclA, getVersion(t, s, "acls", "k", v1))
		checkACL(t, "current after reopen", aclB, getVersion(t, s, "acls", "k", v2))
	}
}
