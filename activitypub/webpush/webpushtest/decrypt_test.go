package webpushtest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
)

// RFC 8291, Appendix A: published test data, not credentials.
const (
	rfcPlaintext = "When I grow up, I want to be a watermelon"
	rfcUAPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
	rfcAuth      = "BTBZMqHH6r4Tts7J_aSIgg"
	rfcBody      = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml" +
		"mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT" +
		"pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
)

func b64d(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecrypt_rfc8291(t *testing.T) {
	priv, err := ecdh.P256().NewPrivateKey(b64d(t, rfcUAPrivate))
	if err != nil {
		t.Fatal(err)
	}
	got, err := decrypt(b64d(t, rfcBody), priv, b64d(t, rfcAuth))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != rfcPlaintext {
		t.Errorf("decrypt = %q, want %q", got, rfcPlaintext)
	}
}

// seal encrypts records (each already padded and delimited) for the client
// key ua with auth, the way a sender does, with record size rs.
func seal(t *testing.T, ua *ecdh.PublicKey, auth []byte, rs uint32, records ...[]byte) []byte {
	t.Helper()
	as, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := as.ECDH(ua)
	if err != nil {
		t.Fatal(err)
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	ikm, _ := hkdf.Key(sha256.New, secret, auth, "WebPush: info\x00"+string(ua.Bytes())+string(as.PublicKey().Bytes()), 32)
	prk, _ := hkdf.Extract(sha256.New, ikm, salt)
	cek, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	nonce, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	block, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(block)

	out := append(salt, binary.BigEndian.AppendUint32(nil, rs)...)
	out = append(out, 65)
	out = append(out, as.PublicKey().Bytes()...)
	for i, r := range records {
		if i < len(records)-1 && len(r)+16 != int(rs) {
			t.Fatalf("record %d is %d bytes, a non-final record must fill rs-16 = %d", i, len(r), rs-16)
		}
		out = gcm.Seal(out, recordNonce(nonce, uint64(i)), r, nil)
	}
	return out
}

func TestDecrypt(t *testing.T) {
	ua, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := bytes.Repeat([]byte{7}, 16)
	pub := ua.PublicKey()
	const rs = 16 + 8 // 8 bytes of plaintext per record

	tests := []struct {
		name    string
		body    func() []byte
		want    string
		wantErr string
	}{
		{"one record", func() []byte { return seal(t, pub, auth, 4096, []byte("hi\x02\x00\x00")) }, "hi", ""},
		{"no padding", func() []byte { return seal(t, pub, auth, 4096, []byte("hi\x02")) }, "hi", ""},
		{"empty", func() []byte { return seal(t, pub, auth, 4096, []byte("\x02")) }, "", ""},
		{"three records", func() []byte {
			return seal(t, pub, auth, rs, []byte("abcdefg\x01"), []byte("hij\x01\x00\x00\x00\x00"), []byte("kl\x02"))
		}, "abcdefghijkl", ""},
		{"zero byte in plaintext", func() []byte { return seal(t, pub, auth, 4096, []byte("a\x00b\x02\x00")) }, "a\x00b", ""},
		{"last record delimiter 1", func() []byte { return seal(t, pub, auth, 4096, []byte("hi\x01")) }, "", "delimiter 1, want 2"},
		{"early delimiter 2", func() []byte {
			return seal(t, pub, auth, rs, []byte("abcdefg\x02"), []byte("x\x02"))
		}, "", "delimiter 2, want 1"},
		{"only zeros", func() []byte { return seal(t, pub, auth, 4096, []byte{0, 0, 0}) }, "", "no padding delimiter"},
		{"wrong auth", func() []byte { return seal(t, pub, bytes.Repeat([]byte{8}, 16), 4096, []byte("hi\x02")) }, "", "message authentication failed"},
		{"truncated record", func() []byte {
			b := seal(t, pub, auth, rs, []byte("abcdefg\x01"), []byte("x\x02"))
			return b[:len(b)-1]
		}, "", "record 1"},
		{"tampered", func() []byte {
			b := seal(t, pub, auth, 4096, []byte("hi\x02"))
			b[len(b)-1] ^= 1
			return b
		}, "", "authentication failed"},
		{"short header", func() []byte { return make([]byte, 20) }, "", "shorter than"},
		{"small rs", func() []byte {
			b := seal(t, pub, auth, 4096, []byte("hi\x02"))
			binary.BigEndian.PutUint32(b[16:], 17)
			return b
		}, "", "record size 17"},
		{"key ID length", func() []byte {
			b := seal(t, pub, auth, 4096, []byte("hi\x02"))
			b[20] = 64
			return b
		}, "", "key ID is 64 bytes"},
		{"key ID not a point", func() []byte {
			b := seal(t, pub, auth, 4096, []byte("hi\x02"))
			b[22] ^= 1
			return b
		}, "", "not a P-256 public key"},
		{"no records", func() []byte { return seal(t, pub, auth, 4096)[:headerLen+65] }, "", "no records"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decrypt(tt.body(), ua, auth)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("decrypt = %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("decrypt = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
