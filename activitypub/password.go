package activitypub

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's minimum recommendation (19 MiB, 2 passes,
// one lane). Stored hashes carry their own parameters, so raising these
// later keeps old hashes verifiable.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// Password length limits, in characters.
const (
	minPasswordLen = 8
	maxPasswordLen = 256
)

// commonPasswords are refused outright; a length rule alone lets them in.
var commonPasswords = map[string]bool{
	"password": true, "password1": true, "12345678": true, "123456789": true,
	"1234567890": true, "qwertyuiop": true, "qwerty123": true, "11111111": true,
	"iloveyou": true, "letmein1": true, "abc12345": true, "00000000": true,
	"passw0rd": true, "baseball": true, "football": true, "sunshine": true,
	"princess": true, "whatever": true, "trustno1": true, "welcome1": true,
}

// checkPassword returns an InvalidError for a password too weak to accept.
func checkPassword(password, username string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		return &InvalidError{"password", "is not valid UTF-8"}
	case n < minPasswordLen:
		return &InvalidError{"password", fmt.Sprintf("is too short (at least %d characters)", minPasswordLen)}
	case n > maxPasswordLen:
		return &InvalidError{"password", fmt.Sprintf("is too long (at most %d characters)", maxPasswordLen)}
	case commonPasswords[strings.ToLower(password)]:
		return &InvalidError{"password", "is too common"}
	case strings.EqualFold(password, username):
		return &InvalidError{"password", "must differ from the username"}
	case strings.Count(password, password[:1]) == len(password):
		return &InvalidError{"password", "is one character repeated"}
	}
	return nil
}

// hashPassword returns an argon2id hash in the PHC string format.
func hashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	sum := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

var errBadHash = errors.New("activitypub: unrecognised password hash")

// verifyPassword reports whether password matches a hash from hashPassword.
func verifyPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	var memory, passes uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &passes, &threads); err != nil {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(password), salt, passes, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
