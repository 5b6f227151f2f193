package metatest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/cofferstore/coffer/internal/meta"
)

// withTags returns o with its tags replaced.
func withTags(o meta.Object, tags map[string]string) meta.Object {
	o.Tags = tags
	return o
}

// testTagsRoundTrip: Object.Tags survive every path that stores or returns
// a record: PutObject, GetObject, ListObjects, the records PutObject and
// DeleteObject return, an upload's template, and CompleteUpload, which
// stores obj.Tags as given whatever the template held.
func (h *harness) testTagsRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	inline := fullObject("b", "inline", 1)
	seg := withTags(segmentObject("b", "seg", "blob-seg", 1), map[string]string{"a": "1", "b": ""})
	untagged := segmentObject("b", "untagged", "blob-untagged", 1)
	for _, o := range []meta.Object{inline, seg, untagged} {
		mustPut(t, s, o, nil)
		checkObject(t, "GetObject", o, mustGet(t, s, "b", o.Key), true)
	}
	if got := mustGet(t, s, "b", "untagged"); len(got.Tags) != 0 {
		t.Errorf("untagged object has tags %q", got.Tags)
	}
	page, err := s.ListObjects(ctx, "b", meta.ListOptions{})
	if err != nil || len(page.Objects) != 3 {
		t.Fatalf("ListObjects = %q, %v", pageKeys(page), err)
	}
	for i, o := range []meta.Object{inline, seg, untagged} {
		checkObject(t, "listed", o, page.Objects[i], false)
	}
	next := withTags(fullObject("b", "inline", 2), map[string]string{"gen": "2"})
	rep := mustPut(t, s, next, nil)
	if rep == nil {
		t.Fatal("PutObject(overwrite) replaced nothing")
	}
	checkObject(t, "replaced", inline, *rep, false)
	del, err := DelObj(s, ctx, "b", "seg", nil)
	if err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	checkObject(t, "deleted", seg, del, false)

	u := newUpload("b", "mp", "up", 1)
	if len(u.Object.Tags) == 0 {
		t.Fatal("the upload template carries no tags to test with")
	}
	mustCreateUpload(t, s, u)
	got, err := s.GetUpload(ctx, "b", "mp", "up")
	if err != nil {
		t.Fatalf("GetUpload: %v", err)
	}
	checkUpload(t, "GetUpload", u, got)
	ups, err := s.ListUploads(ctx, "b", meta.UploadListOptions{})
	if err != nil || len(ups.Uploads) != 1 {
		t.Fatalf("ListUploads = %+v, %v", ups, err)
	}
	checkUpload(t, "listed upload", u, ups.Uploads[0])
	olds, err := s.UploadsInitiatedBefore(ctx, farFuture, 0)
	if err != nil || len(olds) != 1 {
		t.Fatalf("UploadsInitiatedBefore = %+v, %v", olds, err)
	}
	checkUpload(t, "upload initiated before", u, olds[0])
	mustPutPart(t, s, u, newPart(1, "mp-1"))
	obj := withTags(completed("b", "mp", "up", []meta.Part{newPart(1, "mp-1")}), map[string]string{"final": "yes"})
	if _, _, err := CompleteUpload(s, ctx, "b", "mp", "up", obj, nil); err != nil {
		t.Fatalf("CompleteUpload: %v", err)
	}
	checkObject(t, "completed", obj, mustGet(t, s, "b", "mp"), true)

	// Completing with no tags stores none, even though the template had some.
	u2 := newUpload("b", "mp2", "up2", 2)
	mustCreateUpload(t, s, u2)
	mustPutPart(t, s, u2, newPart(1, "mp2-1"))
	obj2 := withTags(completed("b", "mp2", "up2", []meta.Part{newPart(1, "mp2-1")}), nil)
	if _, _, err := CompleteUpload(s, ctx, "b", "mp2", "up2", obj2, nil); err != nil {
		t.Fatalf("CompleteUpload: %v", err)
	}
	checkObject(t, "completed without tags", obj2, mustGet(t, s, "b", "mp2"), true)
}

// testPutObjectTags: PutObjectTags changes the tags and nothing else, for
// inline, single-blob and multipart objects; blob references stay as they
// were, so a later overwrite or delete still returns the blobs for release.
func (h *harness) testPutObjectTags(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	u := newUpload("b", "mp", "up", 1)
	mustCreateUpload(t, s, u)
	parts := []meta.Part{newPart(1, "mp-1"), newPart(2, "mp-2")}
	for _, p := range parts {
		mustPutPart(t, s, u, p)
	}
	mp := completed("b", "mp", "up", parts)
	if _, _, err := CompleteUpload(s, ctx, "b", "mp", "up", mp, nil); err != nil {
		t.Fatalf("CompleteUpload: %v", err)
	}
	objs := []meta.Object{fullObject("b", "inline", 1), segmentObject("b", "seg", "blob-seg", 2), mp}
	for _, o := range objs[:2] {
		mustPut(t, s, o, nil)
	}
	for i, o := range objs {
		tags := map[string]string{"key": o.Key, "n": fmt.Sprint(i), "": "empty name"}
		if err := PutTags(s, ctx, "b", o.Key, tags, nil); err != nil {
			t.Fatalf("PutObjectTags(%q): %v", o.Key, err)
		}
		objs[i] = withTags(o, tags)
	}
	for _, o := range objs {
		got := mustGet(t, s, "b", o.Key)
		checkObject(t, "after PutObjectTags", o, got, true)
	}
	page, err := s.ListObjects(ctx, "b", meta.ListOptions{})
	if err != nil || len(page.Objects) != len(objs) {
		t.Fatalf("ListObjects = %q, %v", pageKeys(page), err)
	}
	for i, k := range []int{0, 2, 1} { // inline, mp, seg
		checkObject(t, "listed after PutObjectTags", objs[k], page.Objects[i], false)
	}
	for _, blob := range []string{"blob-seg", "mp-1", "mp-2"} {
		checkBlobInUse(t, s, blob, true)
	}

	// Nil and empty maps both remove the tags.
	for i, tags := range []map[string]string{nil, {}} {
		if err := PutTags(s, ctx, "b", objs[i].Key, tags, nil); err != nil {
			t.Fatalf("PutObjectTags(%q, no tags): %v", objs[i].Key, err)
		}
		objs[i] = withTags(objs[i], nil)
		checkObject(t, "tags removed", objs[i], mustGet(t, s, "b", objs[i].Key), true)
	}

	// Conditions are checked as for PutObject; a failed one changes nothing.
	seg := objs[1]
	for _, cond := range []*meta.Condition{{IfMatch: "not-the-etag"}, {IfNoneMatch: true}} {
		err := PutTags(s, ctx, "b", "seg", map[string]string{"lost": "update"}, cond)
		wantErr(t, fmt.Sprintf("PutObjectTags(%+v)", *cond), err, meta.ErrPreconditionFailed)
	}
	checkObject(t, "after failed conditions", seg, mustGet(t, s, "b", "seg"), true)
	seg = withTags(seg, map[string]string{"cas": "ok"})
	if err := PutTags(s, ctx, "b", "seg", seg.Tags, &meta.Condition{IfMatch: seg.ETag}); err != nil {
		t.Fatalf("PutObjectTags(IfMatch current ETag): %v", err)
	}
	checkObject(t, "after matching condition", seg, mustGet(t, s, "b", "seg"), true)

	// The records later replaced or deleted carry the new tags and their
	// blobs, which are then free.
	rep := mustPut(t, s, segmentObject("b", "seg", "blob-seg-2", 3), nil)
	if rep == nil {
		t.Fatal("PutObject over a tagged object replaced nothing")
	}
	checkObject(t, "replaced after PutObjectTags", seg, *rep, false)
	checkBlobInUse(t, s, "blob-seg", false)
	del, err := DelObj(s, ctx, "b", "mp", nil)
	if err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	checkObject(t, "deleted after PutObjectTags", objs[2], del, false)
	checkBlobInUse(t, s, "mp-1", false)

	// Missing objects and buckets. A condition does not turn a missing
	// object into a failed precondition: the suite pins ErrObjectNotFound,
	// as DeleteObject's contract says for deletes.
	for _, cond := range []*meta.Condition{nil, {IfMatch: "x"}, {IfNoneMatch: true}} {
		err := PutTags(s, ctx, "b", "missing", map[string]string{"a": "b"}, cond)
		wantErr(t, fmt.Sprintf("PutObjectTags(missing key, %+v)", cond), err, meta.ErrObjectNotFound)
		err = PutTags(s, ctx, "b", "mp", map[string]string{"a": "b"}, cond)
		wantErr(t, fmt.Sprintf("PutObjectTags(deleted key, %+v)", cond), err, meta.ErrObjectNotFound)
	}
	for _, k := range []string{"missing", "mp"} {
		if _, err := GetObj(s, ctx, "b", k); !errors.Is(err, meta.ErrObjectNotFound) {
			t.Errorf("PutObjectTags created %q: GetObject err = %v", k, err)
		}
	}
	err = PutTags(s, ctx, "nobucket", "k", map[string]string{"a": "b"}, nil)
	wantErr(t, "PutObjectTags(missing bucket)", err, meta.ErrBucketNotFound)
}

// testRacePutObjectTags races PutObjectTags with PutObject of a new version
// on one key. Serialized, the outcomes are: tags first (the overwrite then
// replaces the old data carrying the new tags), or overwrite first (the
// tags then land on the new version, or fail its IfMatch on the old ETag).
// Any other mix, such as the old data written back over the new version
// with the tags, is a lost update.
func (h *harness) testRacePutObjectTags(t *testing.T) {
	ctx := context.Background()
	s := h.freshWithBucket(t, "b")
	const rounds = 40
	began := time.Now()
	for i := range 4 {
		mustPut(t, s, segmentObject("b", "timing", fmt.Sprint("timing-", i), i), nil)
	}
	putTime := time.Since(began) / 4
	oldTags := map[string]string{"v": "old"}
	tagTags := map[string]string{"v": "tagged"}
	newTags := map[string]string{"v": "new"}
	var tagsFirst, putFirst int
	for r := range rounds {
		key := fmt.Sprintf("k%d", r)
		old := withTags(segmentObject("b", key, "old-"+key, 2*r), oldTags)
		next := withTags(segmentObject("b", key, "new-"+key, 2*r+1), newTags)
		mustPut(t, s, old, nil)
		// Odd rounds guard the tags with the old ETag.
		var cond *meta.Condition
		if r%2 == 1 {
			cond = &meta.Condition{IfMatch: old.ETag}
		}
		var (
			tagErr, putErr error
			rep            *meta.Object
			wg             sync.WaitGroup
		)
		// Either side starts up to about two write times late, so that
		// both orders occur whatever the store's latency.
		delay := putTime * time.Duration(r%6) / 3
		tagDelay, putDelay := delay, time.Duration(0)
		if r/2%2 == 0 {
			tagDelay, putDelay = putDelay, tagDelay
		}
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			time.Sleep(tagDelay)
			tagErr = PutTags(s, ctx, "b", key, tagTags, cond)
		})
		wg.Go(func() {
			<-start
			time.Sleep(putDelay)
			rep, putErr = PutObj(s, ctx, next, nil)
		})
		close(start)
		wg.Wait()
		if putErr != nil || rep == nil {
			t.Fatalf("round %d: PutObject = %+v, %v; want the old record replaced", r, rep, putErr)
		}
		if tagErr != nil && (cond == nil || !errors.Is(tagErr, meta.ErrPreconditionFailed)) {
			t.Fatalf("round %d: PutObjectTags(cond %+v): %v", r, cond, tagErr)
		}
		final := mustGet(t, s, "b", key)
		switch {
		case maps.Equal(rep.Tags, tagTags):
			// Tags first: they went onto the old data, which the put replaced.
			tagsFirst++
			if tagErr != nil {
				t.Fatalf("round %d: replaced record has the tags of a failed PutObjectTags: %v", r, tagErr)
			}
			checkObject(t, fmt.Sprintf("round %d: replaced, tagged", r), withTags(old, tagTags), *rep, false)
			checkObject(t, fmt.Sprintf("round %d: final", r), next, final, true)
		case maps.Equal(rep.Tags, oldTags):
			// Put first: the tags land on the new version, or fail its IfMatch.
			putFirst++
			checkObject(t, fmt.Sprintf("round %d: replaced, untagged", r), old, *rep, false)
			want := withTags(next, tagTags)
			if cond != nil {
				if !errors.Is(tagErr, meta.ErrPreconditionFailed) {
					t.Fatalf("round %d: PutObjectTags(IfMatch old ETag) after the overwrite: err = %v", r, tagErr)
				}
				want = next
			}
			checkObject(t, fmt.Sprintf("round %d: final", r), want, final, true)
		default:
			t.Fatalf("round %d: replaced record has tags %q, want %q or %q", r, rep.Tags, tagTags, oldTags)
		}
		checkBlobInUse(t, s, "old-"+key, false)
		checkBlobInUse(t, s, "new-"+key, true)
	}
	t.Logf("tags first %d rounds, put first %d", tagsFirst, putFirst)
}
