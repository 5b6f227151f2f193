package iam

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// MasterKeySize is the length of the master key: AES-256.
const MasterKeySize = 32

// MasterKeyFile is where LoadMasterKey keeps a generated key in the data
// directory.
const MasterKeyFile = "master.key"

// LoadMasterKey returns the master key that seals secrets at rest, from the
// first of: value (base64, as COFFER_MASTER_KEY gives it), the file named
// by file (base64 text, as COFFER_MASTER_KEY_FILE names it), or
// dataDir/master.key, which is generated (mode 0600) when missing. created
// reports a generated key. Every instance sharing a store must use the same
// key; Open refuses another.
func LoadMasterKey(value, file, dataDir string) (key []byte, created bool, err error) {
	switch {
	case value != "":
		key, err = decodeMasterKey(value)
		if err != nil {
			return nil, false, fmt.Errorf("master key from the environment: %w", err)
		}
		return key, false, nil
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, false, fmt.Errorf("reading master key file: %w", err)
		}
		if key, err = decodeMasterKey(string(data)); err != nil {
			return nil, false, fmt.Errorf("master key file %s: %w", file, err)
		}
		return key, false, nil
	}
	path := filepath.Join(dataDir, MasterKeyFile)
	data, err := os.ReadFile(path)
	if err == nil {
		if key, err = decodeMasterKey(string(data)); err != nil {
			return nil, false, fmt.Errorf("master key file %s: %w", path, err)
		}
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("reading master key: %w", err)
	}
	key = make([]byte, MasterKeySize)
	rand.Read(key)
	won, err := createExclusive(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"))
	if err != nil {
		return nil, false, fmt.Errorf("saving master key: %w", err)
	}
	if !won {
		// Another process created it between our read and our write.
		return LoadMasterKey("", "", dataDir)
	}
	return key, true, nil
}

func decodeMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", ErrInvalidInput)
	}
	if len(key) != MasterKeySize {
		return nil, fmt.Errorf("decodes to %d bytes, want %d: %w", len(key), MasterKeySize, ErrInvalidInput)
	}
	return key, nil
}

// createExclusive writes a new file durably (temp, fsync, link, directory
// fsync) unless path exists; won is false when it did.
func createExclusive(path string, data []byte) (won bool, err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-master-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return false, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Close(); err != nil {
		return false, err
	}
	// A hard link fails when the name exists, where a rename would replace
	// a key another process just made.
	if err := os.Link(f.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, err
	}
	d, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer d.Close()
	return true, d.Sync()
}

// sealer encrypts secrets with AES-256-GCM. The additional data binds a
// ciphertext to the record it belongs to, so sealed secrets cannot be
// swapped between records by someone with write access to the store.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	if len(key) != MasterKeySize {
		return nil, fmt.Errorf("master key is %d bytes, want %d: %w", len(key), MasterKeySize, ErrInvalidInput)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// seal returns base64(nonce || ciphertext).
func (s *sealer) seal(plain, aad []byte) (string, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	rand.Read(nonce)
	return base64.StdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, aad)), nil
}

func (s *sealer) open(sealed string, aad []byte) ([]byte, error) {
	data, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(data) < s.aead.NonceSize() {
		return nil, errors.New("sealed secret is malformed")
	}
	plain, err := s.aead.Open(nil, data[:s.aead.NonceSize()], data[s.aead.NonceSize():], aad)
	if err != nil {
		return nil, errors.New("sealed secret does not open under the master key")
	}
	return plain, nil
}

// Argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1
// lane), so that a login costs tens of milliseconds and a stolen hash is
// expensive to attack.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// hashPassword returns a PHC-format argon2id hash.
func hashPassword(pw string) string {
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	sum := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum))
}

// dummyHash is compared against when a login names no user with a
// password, so that the answer takes as long as for a wrong password. It
// is made on first use: hashing costs tens of milliseconds.
var dummyHash = sync.OnceValue(func() string { return hashPassword("coffer-dummy-password") })

// checkPassword reports whether pw matches hash: argon2id (what Coffer
// writes) or bcrypt (accepted so that hashes can be imported).
func checkPassword(hash, pw string) bool {
	if strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2b$") || strings.HasPrefix(hash, "$2y$") {
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false
	}
	var mem, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &p); err != nil {
		return false
	}
	// Bounds keep a corrupted record from costing unbounded memory or time.
	if mem < 8 || mem > 1<<20 || t < 1 || t > 16 || p < 1 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) < 16 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, mem, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// hashToken returns the stored form of an API token secret. The secret has
// 256 random bits, so a plain SHA-256 suffices (no stretching needed).
func hashToken(secret string) string {
	h := sha256.Sum256([]byte("coffer-token:" + secret))
	return base64.RawStdEncoding.EncodeToString(h[:])
}

const (
	upperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	hexChars    = "0123456789abcdef"
)

// randomString draws n characters uniformly from alphabet (at most 256
// characters), rejecting bytes that would bias the modulo.
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

// SealSecret encrypts a secret that belongs to no access key (a stored
// setting's token, say) under the master key, bound to purpose so it
// cannot be replayed as another secret. ErrNoStore for a root-only IAM.
func (m *IAM) SealSecret(purpose string, plain []byte) (string, error) {
	if m.seal == nil {
		return "", ErrNoStore
	}
	return m.seal.seal(plain, []byte("coffer-secret:"+purpose))
}

// OpenSecret decrypts what SealSecret sealed for the same purpose.
func (m *IAM) OpenSecret(purpose, sealed string) ([]byte, error) {
	if m.seal == nil {
		return nil, ErrNoStore
	}
	return m.seal.open(sealed, []byte("coffer-secret:"+purpose))
}
