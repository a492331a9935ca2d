package activitypub

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// keyPair is an RSA key pair in the PEM forms stored and published.
type keyPair struct {
	privatePEM string // PKCS#8 "PRIVATE KEY"
	publicPEM  string // PKIX "PUBLIC KEY", what Mastodon publishes
}

// keyBits is the RSA size every fediverse server accepts.
const keyBits = 2048

func newKeyPair() (keyPair, error) {
	key, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return keyPair{}, fmt.Errorf("generate RSA key: %w", err)
	}
	private, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return keyPair{}, fmt.Errorf("encode private key: %w", err)
	}
	public, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return keyPair{}, fmt.Errorf("encode public key: %w", err)
	}
	return keyPair{
		privatePEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: private})),
		publicPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: public})),
	}, nil
}
