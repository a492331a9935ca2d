package webpushtest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// headerLen is the aes128gcm header before the key ID: salt(16) rs(4) idlen(1).
const headerLen = 16 + 4 + 1

// decrypt opens an aes128gcm body (RFC 8188) encrypted for the client key
// priv and authentication secret auth as RFC 8291 describes, and returns
// the plaintext without padding.
func decrypt(body []byte, priv *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	if len(body) < headerLen {
		return nil, fmt.Errorf("body of %d bytes is shorter than the aes128gcm header", len(body))
	}
	salt := body[:16]
	rs := binary.BigEndian.Uint32(body[16:20])
	idlen := int(body[20])
	if rs < 18 {
		return nil, fmt.Errorf("record size %d is under 18", rs)
	}
	if idlen != 65 {
		return nil, fmt.Errorf("key ID is %d bytes, want the 65-byte sender public key", idlen)
	}
	if len(body) < headerLen+idlen {
		return nil, errors.New("body ends inside the key ID")
	}
	senderPub, err := ecdh.P256().NewPublicKey(body[headerLen : headerLen+idlen])
	if err != nil {
		return nil, fmt.Errorf("key ID is not a P-256 public key: %w", err)
	}
	secret, err := priv.ECDH(senderPub)
	if err != nil {
		return nil, fmt.Errorf("ECDH: %w", err)
	}

	// RFC 8291, section 3.4.
	keyInfo := "WebPush: info\x00" + string(priv.PublicKey().Bytes()) + string(senderPub.Bytes())
	ikm, err := hkdf.Key(sha256.New, secret, auth, keyInfo, 32)
	if err != nil {
		return nil, err
	}
	// RFC 8188, section 2.2 and 2.3.
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	baseNonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}

	records := body[headerLen+idlen:]
	if len(records) == 0 {
		return nil, errors.New("no records after the header")
	}
	var out []byte
	for seq := uint64(0); len(records) > 0; seq++ {
		n := min(int(rs), len(records))
		record := records[:n]
		records = records[n:]
		plain, err := gcm.Open(nil, recordNonce(baseNonce, seq), record, nil)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", seq, err)
		}
		// Padding is zeros after a delimiter: 2 ends the last record, 1 any other.
		end := len(plain) - 1
		for end >= 0 && plain[end] == 0 {
			end--
		}
		if end < 0 {
			return nil, fmt.Errorf("record %d has no padding delimiter", seq)
		}
		want := byte(1)
		if len(records) == 0 {
			want = 2
		}
		if plain[end] != want {
			return nil, fmt.Errorf("record %d ends with delimiter %d, want %d", seq, plain[end], want)
		}
		out = append(out, plain[:end]...)
	}
	return out, nil
}

// recordNonce is the base nonce XORed with the record's sequence number.
func recordNonce(base []byte, seq uint64) []byte {
	nonce := make([]byte, len(base))
	copy(nonce, base)
	tail := binary.BigEndian.Uint64(nonce[4:]) ^ seq
	binary.BigEndian.PutUint64(nonce[4:], tail)
	return nonce
}
