package metatest

import (
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/cofferstore/coffer/internal/meta"
)

func pending(t *testing.T, s meta.Store, target string) []meta.Event {
	t.Helper()
	evs, err := s.PendingEvents(context.Background(), target, 1000)
	if err != nil {
		t.Fatalf("PendingEvents(%q): %v", target, err)
	}
	return evs
}

// testOutbox: events exist exactly when the change they describe does, one
// per destination, in Seq order, until acknowledged.
func (h *harness) testOutbox(t *testing.T) {
	s := h.freshWithBucket(t, "b")
	ctx := context.Background()
	notice := func(name string) *meta.Notice {
		return &meta.Notice{Name: name, Principal: "alice", SourceIP: "127.0.0.1", RequestID: "req-1",
			Destinations: []meta.Destination{{Target: "t1", ConfigID: "c1"}, {Target: "t2", ConfigID: "c2"}}}
	}
	o := segmentObject("b", "k", "blob-1", 1)
	res, err := s.PutObject(ctx, o, meta.PutOptions{Notice: notice("s3:ObjectCreated:Put")})
	if err != nil {
		t.Fatal(err)
	}
	// A write that fails records nothing.
	if _, err := s.PutObject(ctx, segmentObject("b", "k", "blob-2", 2), meta.PutOptions{
		Cond: &meta.Condition{IfNoneMatch: true}, Notice: notice("s3:ObjectCreated:Put")}); !errors.Is(err, meta.ErrPreconditionFailed) {
		t.Fatalf("conditional put err = %v", err)
	}
	if _, err := s.UpdateObject(ctx, "b", "k", "", meta.UpdateOptions{Notice: notice("s3:ObjectTagging:Put")}, func(o *meta.Object) error {
		o.Tags = map[string]string{"a": "b"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteObject(ctx, "b", "k", meta.DeleteOptions{Notice: notice("s3:ObjectRemoved:Delete")}); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"t1", "t2"} {
		evs := pending(t, s, target)
		if len(evs) != 3 {
			t.Fatalf("target %s: %d events, want 3: %+v", target, len(evs), evs)
		}
		for i, name := range []string{"s3:ObjectCreated:Put", "s3:ObjectTagging:Put", "s3:ObjectRemoved:Delete"} {
			e := evs[i]
			if e.Name != name || e.Target != target || e.Bucket != "b" || e.Key != "k" || e.VersionID != res.VersionID ||
				e.ETag != o.ETag || e.Size != o.Size || e.Principal != "alice" || e.SourceIP != "127.0.0.1" ||
				e.RequestID != "req-1" || e.Time.IsZero() || e.ConfigID != "c"+target[1:] {
				t.Errorf("target %s event %d = %+v", target, i, e)
			}
			if i > 0 && e.Seq <= evs[i-1].Seq {
				t.Errorf("target %s: Seq %d after %d", target, e.Seq, evs[i-1].Seq)
			}
		}
	}
	depths, err := s.OutboxDepths(ctx)
	if err != nil || !maps.Equal(depths, map[string]int{"t1": 3, "t2": 3}) {
		t.Errorf("OutboxDepths = %v, %v", depths, err)
	}
	evs := pending(t, s, "t1")
	if err := s.AckEvents(ctx, "t1", []uint64{evs[0].Seq, evs[2].Seq, 12345}); err != nil {
		t.Fatal(err)
	}
	if left := pending(t, s, "t1"); len(left) != 1 || left[0].Seq != evs[1].Seq {
		t.Errorf("after ack, t1 holds %+v, want only the tagging event", left)
	}
	if got := pending(t, s, "t2"); len(got) != 3 {
		t.Errorf("acking t1 changed t2: %d events", len(got))
	}
	// The delete marker's own id goes into its event.
	setVersioning(t, s, "b", meta.VersioningEnabled)
	del, err := s.DeleteObject(ctx, "b", "gone", meta.DeleteOptions{Notice: &meta.Notice{Name: "s3:ObjectRemoved:DeleteMarkerCreated",
		Destinations: []meta.Destination{{Target: "t3"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := pending(t, s, "t3"); len(got) != 1 || got[0].VersionID != del.VersionID {
		t.Errorf("marker event = %+v, want version %q", got, del.VersionID)
	}
	if err := s.AppendEvents(ctx, []meta.Event{{Target: "t4", Name: "s3:TestEvent", Bucket: "b"}, {Target: "t4", Name: "s3:TestEvent", Bucket: "b"}}); err != nil {
		t.Fatal(err)
	}
	if got := pending(t, s, "t4"); len(got) != 2 || got[0].Seq == got[1].Seq || got[0].Time.IsZero() {
		t.Errorf("appended events = %+v", got)
	}
	if got, err := s.PendingEvents(ctx, "t4", 1); err != nil || len(got) != 1 {
		t.Errorf("PendingEvents(limit 1) = %d events, %v", len(got), err)
	}
	if got := pending(t, s, "nobody"); len(got) != 0 {
		t.Errorf("unknown target has %d events", len(got))
	}
}
