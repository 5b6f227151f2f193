package iam

import (
	"context"
	"errors"
	"testing"
)

func TestRootOnly(t *testing.T) {
	ctx := context.Background()
	m, err := New("admin", "secret-value")
	if err != nil {
		t.Fatal(err)
	}
	if s, err := m.SecretKey(ctx, "admin"); err != nil || s != "secret-value" {
		t.Fatalf("SecretKey(admin) = %q, %v", s, err)
	}
	for _, k := range []string{"", "admi", "admin2", "ADMIN"} {
		if _, err := m.SecretKey(ctx, k); !errors.Is(err, ErrUnknownAccessKey) {
			t.Errorf("SecretKey(%q) err = %v, want ErrUnknownAccessKey", k, err)
		}
		if _, err := m.PrincipalFor(ctx, k); !errors.Is(err, ErrUnknownAccessKey) {
			t.Errorf("PrincipalFor(%q) err = %v", k, err)
		}
	}
	root, err := m.PrincipalFor(ctx, "admin")
	if err != nil || !root.Root || root.Anonymous() {
		t.Fatalf("root principal = %+v, %v", root, err)
	}
	req := Request{Action: "s3:PutObject", Bucket: "b", Key: "k"}
	if err := m.Authorize(ctx, root, req); err != nil {
		t.Errorf("root denied: %v", err)
	}
	if err := m.Authorize(ctx, Principal{}, req); !errors.Is(err, ErrAccessDenied) {
		t.Errorf("anonymous allowed: %v", err)
	}
	if _, err := New("", "x"); err == nil {
		t.Error("empty root user accepted")
	}
	if len(root.CanonicalID()) != 64 || root.CanonicalID() == CanonicalID("other") {
		t.Error("canonical ids not 64-hex or not distinct")
	}
}
