package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// rootCredentialsFile holds the generated root pair, readable by the
// owner only.
const rootCredentialsFile = "root-credentials.json"

type rootCredentials struct {
	AccessKey string `json:"accessKey"`
	SecretKey string `json:"secretKey"`
}

// loadOrCreateRoot returns the root pair from dataDir, generating and
// persisting a strong one on first start. created reports a new pair, which
// the caller prints once.
func loadOrCreateRoot(dataDir string) (rootCredentials, bool, error) {
	path := filepath.Join(dataDir, rootCredentialsFile)
	data, err := os.ReadFile(path)
	if err == nil {
		var rc rootCredentials
		if err := json.Unmarshal(data, &rc); err != nil || rc.AccessKey == "" || rc.SecretKey == "" {
			return rc, false, fmt.Errorf("reading %s: not a valid credentials file (delete it to generate a new pair)", path)
		}
		return rc, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return rootCredentials{}, false, fmt.Errorf("reading root credentials: %w", err)
	}
	rc := rootCredentials{
		AccessKey: randomString(20, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
		SecretKey: randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
	}
	data, err = json.MarshalIndent(rc, "", "  ")
	if err != nil {
		return rc, false, fmt.Errorf("encoding root credentials: %w", err)
	}
	if err := writeFileDurable(path, append(data, '\n'), 0o600); err != nil {
		return rc, false, fmt.Errorf("saving root credentials: %w", err)
	}
	return rc, true, nil
}

// randomString draws n characters uniformly from alphabet (whose length
// rejecting bytes that would bias the modulo).
func randomString(n int, alphabet string) string {
	out := make([]byte, 0, n)
	var buf [64]byte
	limit := 256 - 256%len(alphabet)
	for len(out) < n {
		rand.Read(buf[:])
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}

// writeFileDurable writes a new file by temp + fsync + rename + dir fsync,
// so a crash leaves either no file or the whole file.
func writeFileDurable(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
