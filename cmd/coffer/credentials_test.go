package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRootCredentialsGeneratedOncePrivately(t *testing.T) {
	dir := t.TempDir()
	rc, created, err := loadOrCreateRoot(dir)
	if err != nil || !created {
		t.Fatalf("first start: %v created=%v", err, created)
	}
	if len(rc.AccessKey) != 20 || len(rc.SecretKey) != 40 {
		t.Errorf("weak pair: %d/%d characters", len(rc.AccessKey), len(rc.SecretKey))
	}
	st, err := os.Stat(filepath.Join(dir, rootCredentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		t.Errorf("credentials file mode %v is readable by others", st.Mode().Perm())
	}
	again, created, err := loadOrCreateRoot(dir)
	if err != nil || created || again != rc {
		t.Errorf("second start: %+v created=%v err=%v", again, created, err)
	}
	other, _, err := loadOrCreateRoot(t.TempDir())
	if err != nil || other.SecretKey == rc.SecretKey {
		t.Error("two data dirs got the same secret")
	}
	if err := os.WriteFile(filepath.Join(dir, rootCredentialsFile), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadOrCreateRoot(dir); err == nil {
		t.Error("corrupt credentials file accepted")
	}
}
